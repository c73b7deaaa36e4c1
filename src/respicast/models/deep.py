"""A deep net as a Forecaster: the one place that owns a Lightning Trainer.

``fit`` trains with the run config's callbacks and loggers, early-stopping on val, and restores
the best epoch's weights; ``refit`` trains a new net on train + val for the epochs chosen on val,
replaying the first fit's learning rates, and saves ``checkpoints/refit.ckpt``; ``predict`` runs
the module's ``predict_step``; ``load`` restores a checkpoint of a trained run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from respicast.dataset.datamodule import WindowDataModule, WindowDataset
from respicast.dataset.windows import WindowSet
from respicast.models.dims import Dims
from respicast.models.forecaster import Prediction
from respicast.run_dir import RunDir, RunError
from respicast.utils.callbacks import LearningRates, ReplayLearningRates, StepSeed
from respicast.utils.config import as_dict
from respicast.utils.instantiate import instantiate_named

log = logging.getLogger(__name__)
PREDICT_BATCH = 256  # windows per predict_step call


class DeepForecaster:
    """A ForecastModule with the run config that trains it and the data module that feeds it.

    The Trainer reads batches from ``dm`` (its loaders, epoch-seeded sampler and current split):
    ``fit(train, val)`` and ``refit(train)`` expect the module's current train and val parts."""

    def __init__(
        self,
        cfg: DictConfig,
        dm: WindowDataModule,
        module=None,
        *,
        loggers: list | None = None,
        callbacks: list | None = None,
        ckpt_path: str | None = None,
    ):
        self.cfg, self.dm = cfg, dm
        self.module = module if module is not None else self.instantiate(cfg.model, dm.dims)
        self.name = str(self.module.name)
        self.loggers, self.callbacks, self.ckpt_path = loggers, list(callbacks or []), ckpt_path
        self.schedule: dict | None = None  # what a refit replays (set by fit)

    @classmethod
    def instantiate(cls, model_cfg: DictConfig, dims: Dims | None):
        return hydra.utils.instantiate(model_cfg, dims=dims)

    @classmethod
    def build(cls, cfg: DictConfig, dm: WindowDataModule, **fit_options) -> DeepForecaster:
        return cls(cfg, dm, **fit_options)

    def fit(self, train: WindowSet, val: WindowSet | None) -> DeepForecaster:
        """Lightning fit with early stopping on val; restores the best epoch and keeps what a
        refit replays: the number of epochs up to the best one and the learning rate of each."""
        lrs = LearningRates()
        callbacks = instantiate_named(self.cfg.get("callbacks"), "callback") + [lrs]
        callbacks += self.callbacks
        trainer = hydra.utils.instantiate(
            self.cfg.trainer, callbacks=callbacks, logger=self.loggers or False
        )
        trainer.fit(self.module, datamodule=self.dm, ckpt_path=self.ckpt_path)
        for cb in self.callbacks:  # a pruned Optuna trial skips prediction and scoring
            if hasattr(cb, "raise_if_pruned"):
                cb.raise_if_pruned()
        best, epochs = _best_checkpoint(trainer), trainer.current_epoch
        if best and Path(best).exists():
            log.info("restoring the best checkpoint %s", best)
            state = torch.load(best, map_location="cpu", weights_only=True)
            self.module.load_state_dict(state["state_dict"])
            epochs = int(state["epoch"]) + 1
        epochs = max(epochs, 1)
        self.schedule = {"epochs": epochs, "lrs": lrs.schedule(epochs) if lrs.by_epoch else []}
        return self

    def refit(self, train: WindowSet) -> DeepForecaster:
        """A new net trained on train + val for the selected number of epochs, replaying the
        first fit's learning rates (no validation left to early-stop or to step a plateau
        scheduler on); saved as the run's refit checkpoint."""
        if self.schedule is None:
            raise RuntimeError(f"{self.name}: refit() needs a fit() first (the epochs it chose)")
        new = DeepForecaster(self.cfg, self.dm)
        new.module.scheduler_factory = None
        epochs = self.schedule["epochs"]
        trainer = hydra.utils.instantiate(
            self.cfg.trainer,
            callbacks=[ReplayLearningRates(self.schedule["lrs"]), StepSeed(self._seed)],
            logger=False,
            max_epochs=epochs,
            min_epochs=epochs,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            enable_checkpointing=False,
        )
        trainer.fit(new.module, datamodule=self.dm)
        # what forecasts and checkpoint evals load: beside the run's (or the fold's) checkpoints
        trainer.save_checkpoint(RunDir(Path(self.cfg.trainer.default_root_dir)).refit_checkpoint)
        new.schedule = self.schedule
        return new

    @property
    def _seed(self) -> int:
        return int(self.cfg.get("seed", 0))

    @torch.no_grad()
    def predict(self, windows: WindowSet) -> Prediction:
        self.module.eval()
        counts, probs = [], []
        for batch in DataLoader(WindowDataset(windows), batch_size=PREDICT_BATCH):
            out = self.module.predict_step(batch, 0)
            counts.append(out["predicted"].cpu().numpy())
            probs.append(out["peak_prob"].cpu().numpy())
        mean = np.concatenate(counts).astype(float)
        k = self.module.dispersion
        k = np.inf if k is None else k.cpu().numpy()  # a Poisson head: k = inf
        return Prediction.of(mean, np.concatenate(probs).astype(float), k)

    def save(self, run_dir: RunDir) -> None:
        """Nothing left to write: the Trainer's checkpoint callbacks and ``refit`` wrote the
        checkpoints into the run dir while fitting."""

    @classmethod
    def checkpoint_file(cls, run_dir: RunDir, given: Path | None, which: str) -> Path:
        return given or run_dir.checkpoint(which)

    @classmethod
    def load(
        cls, run_dir: RunDir, *, cfg: DictConfig, dm: WindowDataModule, checkpoint: Path | None
    ) -> DeepForecaster:
        """The module restored from ``checkpoint`` (else the run's best); an error when the data
        now give other input dims than the checkpoint was trained on."""
        path = checkpoint or cls.checkpoint_file(run_dir, None, "best")
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        saved = ckpt.get("hyper_parameters", {}).get("dims")
        if saved is not None:
            saved, now = _as_plain(saved), _as_plain(dm.dims)
            diff = {k: (saved[k], now.get(k)) for k in saved if saved[k] != now.get(k)}
            if diff:
                raise RunError(
                    f"checkpoint {path} was trained on inputs {saved}, but the data now give "
                    f"{now} (differences: {diff}); the sources changed their variables?"
                )
        module = cls.instantiate(cfg.model, dm.dims)
        module.load_state_dict(ckpt["state_dict"])
        module.eval()
        return cls(cfg, dm, module)


def _best_checkpoint(trainer) -> str:
    """The best file of the first ModelCheckpoint that monitors a metric ("" when there is none)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    for cb in trainer.checkpoint_callbacks:
        if isinstance(cb, ModelCheckpoint) and cb.monitor:
            return cb.best_model_path
    return ""


def _as_plain(dims) -> dict:
    """Dims saved in a checkpoint: a dataclass, a dict or an OmegaConf node (hparams)."""
    import dataclasses

    return dataclasses.asdict(dims) if dataclasses.is_dataclass(dims) else as_dict(dims)
