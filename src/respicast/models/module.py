"""One LightningModule wraps any sequence encoder with a multi-horizon head.

Inputs are level-relative: the history is divided by its trailing level at the origin, and the
expected count is level × exp(head), so a series whose level drifts over the years does not push
the net out of its training range. Outputs per horizon: expected count (Poisson or negative-binomial
likelihood) and a peak logit; loss = count NLL + weight × BCE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torchmetrics.classification import BinaryAUROC
from torchmetrics.regression import MeanAbsoluteError

from respicast.models.dims import Dims
from respicast.models.nets.decoder import future_mode

LIKELIHOODS = ("poisson", "negbin")
# where the peak probability comes from: the separate logit head, the count distribution's tail
# P(Y > threshold) (coherent with the count forecast), or that tail's logit corrected by the head
PEAK_PROBS = ("head", "tail", "tail_head")
TAIL_SDS = 12  # standard deviations of the count distribution a tail sum spans
MAX_GRID = 2048  # pmf terms per element of a tail sum at most (see tail_logit)


def count_nll(y: torch.Tensor, mu: torch.Tensor, log_k: torch.Tensor | None) -> torch.Tensor:
    """Negative log-likelihood per element (constant terms kept so values are comparable)."""
    if log_k is None:
        return mu - y * torch.log(mu) + torch.lgamma(y + 1)
    k = torch.exp(log_k)
    return -(
        torch.lgamma(y + k)
        - torch.lgamma(k)
        - torch.lgamma(y + 1)
        + k * torch.log(k / (k + mu))
        + y * torch.log(mu / (k + mu))
    )


def tail_logit(
    mu: torch.Tensor, log_k: torch.Tensor | None, threshold: torch.Tensor
) -> torch.Tensor:
    """logit P(Y > threshold) for Y ~ Poisson(mu) or NB(mu, k); mu [B, H], threshold [B].

    Counts are integers, so P(Y > 4.3) = 1 - P(Y <= 4). The smaller of the two sides is summed
    from pmf terms in float64, so small tails keep their precision: P(Y > m) over m+1 .. m+W when
    m lies above the mean, P(Y <= m) over m-W+1 .. m below it, with W = TAIL_SDS standard
    deviations (the mass beyond is negligible). An element's grid is at most MAX_GRID points:
    exact (one point a count) up to an SD of ~170, blocks of counts beyond, so weekly counts in
    the thousands cost what daily ones do (a training step on the ILI regions: 3.2 s before, 0.2 s
    now). With blocks, P is within ~2e-3 (logit 0.05) for NB with k ≥ 2, ~1e-6 in logit for
    Poisson; a very skewed NB (k < 1, mean in the hundreds) is off by up to ~0.2 in logit.
    Undefined thresholds give nan.
    """
    thr = threshold[:, None].expand_as(mu).double()
    undefined = ~torch.isfinite(thr)
    m = torch.floor(torch.nan_to_num(thr, nan=-1.0)).clamp_min(-1.0)
    mu64 = mu.double().clamp_min(1e-9)
    var = mu64 if log_k is None else mu64 + mu64**2 / torch.exp(log_k.double()).expand_as(mu64)
    # per element: W = TAIL_SDS SDs; beyond MAX_GRID counts, blocks of `stride` counts weigh
    # their midpoint's pmf (a pmf of SD s changes little over s / 170 counts)
    width = torch.ceil(TAIL_SDS * torch.sqrt(var.detach())) + 8
    stride = torch.ceil(width / MAX_GRID)
    n = int(torch.ceil(width / stride).max().item())
    upper = m >= mu64  # sum the upper tail; else the lower side up to m
    start = torch.where(upper, m + 1, (m - width + 1).clamp_min(0))
    steps = torch.arange(n, device=mu.device, dtype=torch.float64)
    y = start[..., None] + stride[..., None] * steps + (stride[..., None] - 1) / 2
    inside = torch.where(upper[..., None], y > m[..., None], y <= m[..., None])
    lk = None if log_k is None else log_k.double().expand_as(mu)[..., None].expand_as(y)
    logpmf = -count_nll(y, mu64[..., None].expand_as(y), lk) + torch.log(stride)[..., None]
    logpmf = torch.where(inside, logpmf, torch.full_like(logpmf, -torch.inf))
    log_side = torch.logsumexp(logpmf, dim=-1).clamp(max=-1e-12)  # log P of the summed side
    log_other = torch.log(-torch.expm1(log_side))
    logit = torch.where(upper, log_side - log_other, log_other - log_side).float()
    return torch.where(undefined, torch.full_like(logit, torch.nan), logit)


def ewma_weights(alphas, lookback: int) -> torch.Tensor:
    """[L, A] weights alpha (1 - alpha)^j of the day j days before the origin (last row = t)."""
    j = torch.arange(lookback - 1, -1, -1, dtype=torch.float32)[:, None]
    a = torch.tensor([float(x) for x in alphas], dtype=torch.float32)[None, :]
    return a * (1 - a) ** j


def season_table(ws, min_count: int = 5) -> np.ndarray:
    """[12, 7] log mean of count / level per month x weekday of the target day, from the h=1
    targets of a (training) WindowSet; a cell with fewer than min_count days gets the overall mean."""
    y = ws.y_count[:, 0] / np.clip(ws.level, 1e-3, None)
    days = ws.target_dates()[:, 0]
    month = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7
    ok = np.isfinite(y)
    overall = float(np.mean(y[ok])) if ok.any() else 1.0
    total, n = np.zeros((12, 7)), np.zeros((12, 7))
    np.add.at(total, (month[ok], weekday[ok]), y[ok])
    np.add.at(n, (month[ok], weekday[ok]), 1)
    mean = np.where(n >= min_count, total / np.maximum(n, 1), overall)
    return np.log(np.clip(mean, 1e-3, None))


def check_choices(likelihood: str, peak_prob: str) -> None:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"model.likelihood={likelihood!r}: choose one of {LIKELIHOODS}")
    if peak_prob not in PEAK_PROBS:
        raise ValueError(f"model.peak_prob={peak_prob!r}: choose one of {PEAK_PROBS}")


class ForecastModule(pl.LightningModule):
    def __init__(
        self,
        net: Callable[..., nn.Module],
        dims: Dims,
        optimizer: Callable,
        scheduler: Callable | None = None,
        likelihood: str = "negbin",
        peak_loss_weight: float = 1.0,
        peak_pos_weight: float = 4.0,
        head_hidden: int = 64,
        name: str = "deep",
        peak_prob: str = "head",
        skip_lags: int = 0,
        past_dropout: float = 0.0,
        season_offset: bool = False,
        ewma_alphas: tuple[float, ...] = (),
    ):
        super().__init__()
        check_choices(likelihood, peak_prob)
        # Hydra hands dataclass kwargs over as DictConfig: normalise to Dims
        dims = dims if isinstance(dims, Dims) else Dims(**dims)
        # only plain values go into checkpoints, so they load with torch's weights_only=True
        self.save_hyperparameters(logger=False, ignore=["net", "dims", "optimizer", "scheduler"])
        self.hparams["dims"] = asdict(dims)  # checked when a checkpoint meets new data
        self.hparams["ewma_alphas"] = [float(a) for a in ewma_alphas]  # not a Hydra ListConfig
        self.name = name
        self.dims = dims
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        h = dims.horizon
        # channels: level-relative history, history-known mask, past covariates
        self.net = net(
            in_channels=2 + dims.n_past, lookback=dims.lookback, horizon=h, n_future=dims.n_future
        )
        # the net's declared way of taking the target days' covariates (nets/decoder.py)
        self.future_input = future_mode(self.net, self.net.future_input, dims.n_future)
        self.head = self._build_head(head_hidden)
        # linear path beside the net: the last `skip_lags` days of log(history / level), the
        # target days' calendar (unless a decoder read it) and log(threshold / level) straight
        # to the outputs (an AR term)
        self.skip_lags = min(int(skip_lags), dims.lookback)
        # exponentially weighted means of the relative history (one per alpha, over the known
        # days of the lookback): the recent level, which an ETS forecast reads from the counts
        self.ewma = nn.Buffer(ewma_weights(ewma_alphas, dims.lookback), persistent=False)
        self.skip = self._build_skip(len(ewma_alphas))
        self.log_k = nn.Parameter(torch.full((h,), 2.0)) if likelihood == "negbin" else None
        # month x weekday log ratio count / level of the training part (fitted in on_fit_start):
        # history is read relative to it and the count forecast is a correction of it
        self.log_season = nn.Buffer(torch.zeros(12, 7)) if season_offset else None
        self.val_auroc = nn.ModuleList([BinaryAUROC() for _ in range(h)])
        self.val_mae = MeanAbsoluteError()

    @property
    def _future_in_head(self) -> bool:
        """The target days' covariates go flattened into the head and the skip path, unless the
        net's decoder already read them per day."""
        return self.future_input != "decoder"

    def _build_head(self, head_hidden: int) -> nn.Sequential:
        """Summary [+ future covariates] -> 2 per horizon; in decoder mode one head shared by
        the target days, each day's decoder output -> its 2 outputs."""
        h, n_future = self.dims.horizon, self.dims.n_future
        n_in, n_out = self.net.out_dim + h * n_future, 2 * h
        if not self._future_in_head:
            n_in, n_out = self.net.out_dim, 2
        return nn.Sequential(nn.Linear(n_in, head_hidden), nn.ReLU(), nn.Linear(head_hidden, n_out))

    def _build_skip(self, n_ewma: int) -> nn.Linear | None:
        """The linear path (None without lags or EWMAs), started at 'tomorrow is at the recent
        level' when there are EWMAs."""
        if not (self.skip_lags or n_ewma):
            return None
        n_future = self.dims.horizon * self.dims.n_future if self._future_in_head else 0
        skip = nn.Linear(self.skip_lags + n_ewma + n_future + 1, 2 * self.dims.horizon)
        if n_ewma:
            # start from 'tomorrow is at the recent level' (the first alpha's mean), not noise
            with torch.no_grad():
                skip.weight.zero_()
                skip.bias.zero_()
                skip.weight[0::2, self.skip_lags] = 1.0
        return skip

    # -- forward --------------------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected counts (B, H) and peak logits (B, H)."""
        level = batch["level"].clamp_min(1e-3)
        hist = batch["history"] / level[:, None]
        season = torch.zeros_like(batch["y_count"])
        if self.log_season is not None:
            ci = batch["calendar_index"]
            cell = self.log_season[ci[..., 0], ci[..., 1]]  # [B, L + H]
            hist = hist / torch.exp(cell[:, : self.dims.lookback])
            season = cell[:, self.dims.lookback :]
        known = torch.isfinite(hist)
        past = batch["past"]
        if self.training and self.hparams.get("past_dropout", 0.0) > 0:
            # whole covariate channels dropped per sample: the net cannot lean on any single one
            keep = 1.0 - self.hparams.past_dropout
            past = past * torch.bernoulli(torch.full_like(past[:, :1, :], keep)) / keep
        x = torch.cat(
            [torch.nan_to_num(hist, 0.0)[..., None], known.float()[..., None], past], dim=-1
        )
        out = self._head_outputs(x, batch["future"])
        if self.skip is not None:
            out = out + self.skip(self._skip_inputs(hist, level, batch))
        out = out.view(-1, self.dims.horizon, 2)
        mu = level[:, None] * torch.exp(out[..., 0].clamp(-8, 8) + season)
        mode = self.hparams.get("peak_prob", "head")
        if mode == "head":
            return mu, out[..., 1]
        tail = tail_logit(mu, self.log_k, batch["threshold"]).clamp(-30, 30)
        return mu, tail if mode == "tail" else tail + out[..., 1]

    def _head_outputs(self, x: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        """[B, 2 H] from the net and the head (per horizon: log count ratio, peak logit)."""
        if self._future_in_head:
            return self.head(torch.cat([self.net(x), future.flatten(1)], dim=1))
        return self.head(self.net(x, future)).flatten(1)  # [B, H, 2] -> [B, 2 H]

    def on_fit_start(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        if self.log_season is not None and dm is not None:
            self.log_season.copy_(
                torch.as_tensor(season_table(dm.part("train")), dtype=torch.float32)
            )

    def _skip_inputs(
        self, hist: torch.Tensor, level: torch.Tensor, batch: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Inputs of the linear path; an unknown day or threshold counts as 'at the level'."""
        recent = hist[:, hist.shape[1] - self.skip_lags :]  # (-0: would take every day)
        lags = torch.log(torch.nan_to_num(recent, 1.0).clamp_min(0.05))
        known = torch.isfinite(hist).float()
        weight = known @ self.ewma
        ewma = (torch.nan_to_num(hist, 0.0) @ self.ewma) / weight.clamp_min(1e-6)
        ewma = torch.log(torch.where(weight > 0, ewma, torch.ones_like(ewma)).clamp_min(0.05))
        thr = torch.log(torch.nan_to_num(batch["threshold"] / level, 1.0).clamp_min(0.05))
        future = [batch["future"].flatten(1)] if self._future_in_head else []
        return torch.cat([lags, ewma, *future, thr[:, None]], dim=1)

    def _loss(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logit = self(batch)
        y, peak = batch["y_count"], batch["y_peak"]
        seen, labelled = torch.isfinite(y), torch.isfinite(peak)
        log_k = None if self.log_k is None else self.log_k.expand_as(mu)[seen]
        # NLL per unit of level keeps the loss scale independent of the series' size
        nll = count_nll(y[seen], mu[seen], log_k) / batch["level"].mean().clamp_min(1.0)
        bce = nn.functional.binary_cross_entropy_with_logits(
            logit[labelled],
            peak[labelled],
            pos_weight=torch.tensor(self.hparams.peak_pos_weight, device=logit.device),
        )
        loss = nll.mean() + self.hparams.peak_loss_weight * (bce if labelled.any() else 0.0)
        return loss, mu, logit

    # -- steps ----------------------------------------------------------------------------------
    def _log_loss(self, split: str, loss: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        self.log(
            f"{split}/loss",
            loss,
            on_epoch=True,
            on_step=False,
            prog_bar=True,
            batch_size=len(batch["level"]),
        )

    def on_train_epoch_start(self) -> None:
        # the learning rate this epoch trains with: the learning curve shows the scheduler's steps
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_epoch=True)

    def training_step(self, batch, batch_idx):
        loss, _, _ = self._loss(batch)
        self._log_loss("train", loss, batch)
        return loss

    def validation_step(self, batch, batch_idx):
        loss, mu, logit = self._loss(batch)
        self._log_loss("val", loss, batch)
        peak = batch["y_peak"]
        for h, metric in enumerate(self.val_auroc):
            ok = torch.isfinite(peak[:, h])
            metric.update(torch.sigmoid(logit[ok, h]), peak[ok, h].long())
        seen = torch.isfinite(batch["y_count"])
        self.val_mae.update(mu[seen], batch["y_count"][seen])

    def on_validation_epoch_end(self) -> None:
        for h, metric in enumerate(self.val_auroc, start=1):
            # AUROC is undefined while a horizon has seen only one class (sanity check, tiny splits)
            if metric.target and len(torch.unique(torch.cat(metric.target))) == 2:
                self.log(f"val/auroc_h{h}", metric.compute(), prog_bar=h == 1)
            metric.reset()
        self.log("val/mae", self.val_mae.compute())
        self.val_mae.reset()

    def predict_step(self, batch, batch_idx):
        mu, logit = self(batch)
        return {"predicted": mu, "peak_prob": torch.sigmoid(logit - self.prior_shift)}

    @property
    def prior_shift(self) -> float:
        """log(peak_pos_weight): a BCE that weighs peaks w times fits the log odds + log w, so the
        probabilities are shifted back (the same map for every origin: rankings are unchanged).
        Default world, pooled backtest, LSTM h1: mean probability .204 -> .073 against a peak rate
        of .091, ECE .114 -> .022."""
        w = float(self.hparams.get("peak_pos_weight", 1.0))
        return math.log(w) if self.hparams.get("peak_loss_weight", 0.0) > 0 and w > 0 else 0.0

    @property
    def dispersion(self) -> torch.Tensor | None:
        return None if self.log_k is None else torch.exp(self.log_k.detach())

    def configure_optimizers(self):
        opt = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return opt
        return {
            "optimizer": opt,
            "lr_scheduler": {
                "scheduler": self.scheduler_factory(optimizer=opt),
                "monitor": "val/loss",
            },
        }

    def lr_scheduler_step(self, scheduler, metric) -> None:
        if isinstance(scheduler, ReduceLROnPlateau):
            return  # stepped in on_validation_end instead
        super().lr_scheduler_step(scheduler, metric)

    def on_validation_end(self) -> None:
        """Step a plateau scheduler here, before the epoch-end checkpoints are written.

        Lightning steps it after them, so a checkpoint held the scheduler one step behind and a
        resumed run halved the learning rate at other epochs than an uninterrupted one.
        """
        trainer = self.trainer
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        for config in trainer.lr_scheduler_configs:
            if not isinstance(config.scheduler, ReduceLROnPlateau):
                continue
            if config.monitor not in trainer.callback_metrics:
                raise KeyError(
                    f"lr scheduler monitors {config.monitor!r}, not among the logged metrics "
                    f"{sorted(trainer.callback_metrics)}"
                )
            config.scheduler.step(trainer.callback_metrics[config.monitor])
