"""Several models combined into one Forecaster: ``model=ensemble``.

The members are model configs under ``model.members`` (label -> config), trained on the same data
and split as any model of the run, each with its own seed (run seed + its index, so two members of
the same config make a seed ensemble) and its own run dir, ``members/<label>/`` (RunDir.member).
A member given as ``{run: <dir of a respicast-train run>}`` is loaded, not trained
(models.ensemble_loaded): it is neither fitted nor refit here.

Combination (``model.combine``, models.ensemble_combine): ``linear_pool``, the mixture of the
members' count distributions, or ``quantile_average``, the weighted mean of their quantile
functions (Vincentization); either is reported as the negative binomial of its mean and variance,
which is what the quantiles, WIS, CRPS and coverage of the evaluation are computed from (what is
exact and what approximated: that module's docstring). Weights per horizon (``model.weights``):
equal, proportional to 1 / WIS of each member, or the combination's lowest WIS (min_wis), fitted
on the validation part (never on test). A member without a count distribution of its own (a
classifier's mean) gets an NB k per horizon fitted on its validation residuals, as the evaluation
does for a single model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from omegaconf import DictConfig, open_dict

from respicast.dataset.windows import WindowSet
from respicast.models.ensemble_combine import (
    COMBINES,
    linear_pool,
    min_wis_weights,
    quantile_average,
    simplex_grid,
)
from respicast.models.ensemble_loaded import LoadedMember, is_loaded
from respicast.models.forecaster import Prediction, forecaster_class

if TYPE_CHECKING:
    from respicast.dataset.datamodule import WindowDataModule
    from respicast.run_dir import RunDir

log = logging.getLogger(__name__)

__all__ = ["Ensemble", "linear_pool", "member_config", "min_wis_weights", "simplex_grid"]

WEIGHTS = ("equal", "inverse_wis", "min_wis")
MAX_STACKED = 6  # members min_wis searches weights for (a simplex grid grows fast)
FITTED_KEY = "ensemble"  # the combination's entry in the run's fitted state


class Ensemble:
    """Member Forecasters combined by a linear pool or a quantile average (module docstring)."""

    def __init__(
        self,
        members: dict,
        combine: str = "linear_pool",
        weights: str = "equal",
        member_cfgs: dict[str, DictConfig] | None = None,
    ):
        if combine not in COMBINES:
            raise ValueError(f"model.combine={combine!r}: choose one of {COMBINES}")
        if weights not in WEIGHTS:
            raise ValueError(f"model.weights={weights!r}: choose one of {WEIGHTS}")
        if not members:
            raise ValueError("model.members: an ensemble needs at least one member")
        if weights == "min_wis" and len(members) > MAX_STACKED:
            raise ValueError(
                f"model.weights=min_wis: at most {MAX_STACKED} members, got {len(members)}"
            )
        self.members = dict(members)
        self.combine, self.weights = combine, weights
        self.member_cfgs = member_cfgs or {}  # run configs of the members (build/load)
        self.name = "ensemble"
        self.weights_: np.ndarray | None = None  # [members, H], each column sums to 1
        self.val_k_: dict[str, np.ndarray] = {}  # NB k per horizon of members without one

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def instantiate(cls, model_cfg: DictConfig, dims=None) -> Ensemble:
        """The members' own model objects, unchecked (config tests)."""
        from respicast.models.forecaster import instantiate_model

        members = {
            str(k): instantiate_model(v, dims)
            for k, v in model_cfg.members.items()
            if not is_loaded(v)  # a trained run's model: nothing to instantiate
        }
        return cls._labelled(model_cfg, members)

    @classmethod
    def _labelled(cls, model_cfg: DictConfig, members: dict, member_cfgs=None) -> Ensemble:
        model = cls(
            members,
            combine=str(model_cfg.get("combine", "linear_pool")),
            weights=str(model_cfg.get("weights", "equal")),
            member_cfgs=member_cfgs,
        )
        model.name = str(model_cfg.get("name") or "ensemble")
        return model

    @classmethod
    def build(cls, cfg: DictConfig, dm: WindowDataModule, **fit_options) -> Ensemble:
        """Each member built from its own run config (``member_config``); members get no loggers
        or extra callbacks (one run's logger cannot hold several trainings)."""
        from lightning.pytorch import seed_everything

        from respicast.models.forecaster import build_forecaster

        if fit_options.get("ckpt_path"):
            raise ValueError(
                "ckpt_path: an ensemble cannot resume from one checkpoint; retrain it, or resume "
                "a member as a model of its own"
            )
        if fit_options.get("loggers"):
            log.info("ensemble: members train without the run's loggers (one log per training)")
        members, cfgs = {}, {}
        for i, label in enumerate(_labels(cfg)):
            given = cfg.model.members[label]
            if is_loaded(given):  # a trained run's model: loaded, not trained
                members[label] = LoadedMember.open(label, given.run, cfg, dm, first_fit=True)
                continue
            cfgs[label] = member_config(cfg, label, i)
            seed_everything(int(cfgs[label].seed), workers=True)
            members[label] = build_forecaster(cfgs[label], dm)
        return cls._labelled(cfg.model, members, cfgs)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, train: WindowSet, val: WindowSet | None) -> Ensemble:
        """Fit every member, then the weights (and missing dispersions) on val."""
        from lightning.pytorch import seed_everything

        for label, member in self.members.items():
            log.info("ensemble member %s: fitting", label)
            seed_everything(self._seed(label), workers=True)
            member.fit(train, val)
        self._fit_combination(val)
        return self

    def refit(self, train: WindowSet) -> Ensemble:
        """Every member refit on train + val; the weights chosen on val stay."""
        from lightning.pytorch import seed_everything

        new = {}
        for label, member in self.members.items():
            seed_everything(self._seed(label), workers=True)
            new[label] = member.refit(train)
        return self._with_members(new)

    def _with_members(self, members: dict) -> Ensemble:
        out = Ensemble(members, self.combine, self.weights, self.member_cfgs)
        out.name, out.weights_, out.val_k_ = self.name, self.weights_, self.val_k_
        return out

    def _seed(self, label: str) -> int:
        cfg = self.member_cfgs.get(label)
        return int(cfg.seed) if cfg is not None else 0

    def _fit_combination(self, val: WindowSet | None) -> None:
        from respicast.models.baselines.dispersion import fit_nb_dispersion

        labels = list(self.members)
        if val is None or len(val) == 0:
            if self.weights != "equal":
                raise ValueError(f"model.weights={self.weights!r} needs a validation part")
            val_preds = {}
        else:
            val_preds = {lb: self._checked(lb, self.members[lb].predict(val), val) for lb in labels}
        self.val_k_ = {}
        for lb, p in val_preds.items():
            if p.dispersion is None:
                y = val.y_count
                self.val_k_[lb] = np.array(
                    [fit_nb_dispersion(y[:, h], p.counts[:, h]) for h in range(y.shape[1])]
                )
        horizon = next(iter(val_preds.values())).counts.shape[1] if val_preds else None
        if self.weights == "equal" or horizon is None:
            self.weights_ = None  # equal: decided at predict time for any H
            return
        if self.weights == "inverse_wis":
            wis = np.stack([self._val_wis(lb, val_preds[lb], val) for lb in labels])  # [M, H]
            inv = 1.0 / np.clip(wis, 1e-12, None)
            self.weights_ = inv / inv.sum(axis=0, keepdims=True)
        else:
            mu = np.stack([val_preds[lb].counts for lb in labels])
            k = np.stack([self._dispersion(lb, val_preds[lb]) for lb in labels])
            self.weights_ = np.stack(
                [
                    min_wis_weights(mu[:, :, h], k[:, :, h], val.y_count[:, h], self.combine)
                    for h in range(horizon)
                ],
                axis=1,
            )
        log.info(
            "ensemble weights (%s on val) per horizon: %s",
            self.weights,
            {lb: np.round(self.weights_[i], 3).tolist() for i, lb in enumerate(labels)},
        )

    def _val_wis(self, label: str, p: Prediction, val: WindowSet) -> np.ndarray:
        """Mean WIS per horizon of one member on the validation rows with an observed count."""
        from respicast.evaluation.proper_scores import wis_parts
        from respicast.evaluation.quantiles import HUB_LEVELS, count_quantiles

        k = self._dispersion(label, p)
        out = []
        for h in range(p.counts.shape[1]):
            y = val.y_count[:, h]
            ok = np.isfinite(y) & np.isfinite(p.counts[:, h])
            q = count_quantiles(p.counts[ok, h], k[ok, h], HUB_LEVELS)
            out.append(float(np.mean(wis_parts(y[ok], q, HUB_LEVELS)["wis"])))
        return np.array(out)

    # -- prediction -----------------------------------------------------------------------------
    def _dispersion(self, label: str, p: Prediction) -> np.ndarray:
        if p.dispersion is not None:
            return p.dispersion
        k = self.val_k_.get(label)
        if k is None:
            raise RuntimeError(f"ensemble member {label}: no dispersion; call fit() first")
        return np.broadcast_to(k, p.counts.shape)

    @staticmethod
    def _checked(label: str, p: Prediction, ws: WindowSet) -> Prediction:
        if p.counts.shape != ws.y_count.shape:
            raise ValueError(
                f"ensemble member {label}: predicted {p.counts.shape} (origins, horizons) for "
                f"{ws.y_count.shape} windows"
            )
        return p

    def member_weights(self, horizon: int) -> np.ndarray:
        """[members, H] weights, columns summing to 1."""
        if self.weights_ is None:
            return np.full((len(self.members), horizon), 1.0 / len(self.members))
        if self.weights_.shape[1] != horizon:
            raise ValueError(
                f"ensemble: weights fitted for {self.weights_.shape[1]} horizons, asked {horizon}"
            )
        return self.weights_

    def predict(self, windows: WindowSet) -> Prediction:
        preds = {
            lb: self._checked(lb, m.predict(windows), windows) for lb, m in self.members.items()
        }
        w = self.member_weights(windows.y_count.shape[1])[:, None, :]  # [M, 1, H]
        mu = np.stack([p.counts for p in preds.values()])  # [M, N, H]
        k = np.stack([self._dispersion(lb, p) for lb, p in preds.items()])
        if self.combine == "quantile_average":
            return Prediction.of(*quantile_average(w, mu, k, windows.threshold))
        prob = np.stack([p.peak_prob for p in preds.values()])
        return Prediction.of(*linear_pool(w, mu, k, prob))

    # -- persistence ----------------------------------------------------------------------------
    def save(self, run_dir: RunDir) -> None:
        """Each member saves into its own dir; the weights and dispersions into the run's state."""
        for label, member in self.members.items():
            member.save(run_dir.member(label))
        state = run_dir.read_fitted() if run_dir.has_fitted() else {}
        state[FITTED_KEY] = {
            "labels": list(self.members),
            "weights": self.weights_,
            "val_k": self.val_k_,
            # members loaded from other runs stay there: where (absolute, as they were loaded)
            "loaded": {
                lb: str(m.path) for lb, m in self.members.items() if isinstance(m, LoadedMember)
            },
        }
        run_dir.write_fitted(state)

    @classmethod
    def checkpoint_file(cls, run_dir: RunDir, given: Path | None, which: str) -> None:
        if given is not None:
            raise ValueError(
                f"ckpt_path={given}: an ensemble has one checkpoint per member; give the run dir"
            )
        return None  # members are found in members/<label>/

    @classmethod
    def load(
        cls, run_dir: RunDir, *, cfg: DictConfig, dm: WindowDataModule, checkpoint: Path | None
    ) -> Ensemble:
        from respicast.run_dir import RunError

        state = run_dir.read_fitted().get(FITTED_KEY)
        if state is None:
            raise RunError(
                f"{run_dir.fitted_file}: holds no fitted ensemble; rerun respicast-train"
            )
        members, cfgs = {}, {}
        loaded = state.get("loaded") or {}
        for i, label in enumerate(state["labels"]):
            if label in loaded:  # the final model of the run it came from, checked again
                members[label] = LoadedMember.open(label, loaded[label], cfg, dm, first_fit=False)
                continue
            cfgs[label] = member_config(cfg, label, i)
            member_cls = forecaster_class(cfgs[label].model)
            rd = run_dir.member(label)
            ckpt = member_cls.checkpoint_file(rd, None, "best")
            members[label] = member_cls.load(rd, cfg=cfgs[label], dm=dm, checkpoint=ckpt)
        model = cls._labelled(cfg.model, members, cfgs)
        model.weights_, model.val_k_ = state["weights"], state["val_k"]
        return model


def _labels(cfg: DictConfig) -> list[str]:
    members = cfg.model.get("members") or {}
    if not members:
        raise ValueError("model.members: name at least one member, e.g. +model@model.members.x=tcn")
    return [str(k) for k in members]


def member_config(cfg: DictConfig, label: str, index: int) -> DictConfig:
    """The run config of one member: its model config, seed = run seed + index, and its Trainer's
    files in members/<label>/ of the run's (or the backtest fold's) dir."""
    from respicast.run_dir import RunDir

    members = cfg.model.get("members") or {}
    if label not in members:
        raise ValueError(f"model.members: no member {label!r} (members: {list(members)})")
    if is_loaded(members[label]):
        raise ValueError(f"model.members.{label}: loaded from a run, it has no model config")
    if "members" in members[label]:
        raise ValueError(f"model.members.{label}: an ensemble cannot be a member of an ensemble")
    run = RunDir(Path(str(cfg.trainer.default_root_dir)))
    out = run.member(label).owning_trainer_files(cfg)
    with open_dict(out):
        out.model = members[label].copy()
        out.seed = int(cfg.get("seed", 0)) + index
    return out
