"""The one contract every model meets (architecture doc §4): a ``Forecaster``.

Baselines are Forecasters themselves (``models.baselines.base.BaselineForecaster`` adds what
their own fit and predict lack); a deep net is one through ``models.deep.DeepForecaster``, the
single place that owns a Lightning Trainer. Which of the two a model config builds is decided
here, in ``forecaster_class``, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from respicast.dataset.windows import WindowSet

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from respicast.dataset.datamodule import WindowDataModule
    from respicast.models.dims import Dims
    from respicast.run_dir import RunDir


@dataclass(frozen=True)
class Prediction:
    """What a model says about N origins and H horizons.

    ``counts``: expected counts [N, H]; ``peak_prob``: P(count > peak threshold) [N, H] (NaN where
    the threshold is unknown); ``dispersion``: NB k [N, H] of the model's own count distribution
    (inf: Poisson), or None when it has none (classifiers that also give a mean): the evaluation
    then fits k on the validation residuals."""

    counts: np.ndarray
    peak_prob: np.ndarray
    dispersion: np.ndarray | None = None

    @classmethod
    def of(cls, counts, peak_prob, dispersion=None) -> Prediction:
        """Arrays as float [N, H]; a scalar or per-horizon dispersion broadcast to [N, H]."""
        counts = np.asarray(counts, float)
        k = None
        if dispersion is not None:
            k = np.broadcast_to(np.asarray(dispersion, float), counts.shape).copy()
        return cls(counts, np.asarray(peak_prob, float), k)


class Forecaster(Protocol):
    """fit on windows, predict windows, save to and load from a run dir."""

    name: str  # the run's label (the model config's name)

    @classmethod
    def build(cls, cfg: DictConfig, dm: WindowDataModule, **fit_options) -> Forecaster:
        """An unfitted model of the run config ``cfg`` for the data of ``dm`` (its current split).
        ``fit_options`` (loggers, callbacks, ckpt_path) concern a Trainer; baselines ignore them."""
        ...

    @classmethod
    def instantiate(cls, model_cfg: DictConfig, dims: Dims | None):
        """The configured model object, unchecked (see ``instantiate_model``)."""
        ...

    def fit(self, train: WindowSet, val: WindowSet | None) -> Forecaster: ...

    def refit(self, train: WindowSet) -> Forecaster:
        """A new model of the same config fitted on ``train`` (train + val) alone, with what the
        first fit chose on val (a deep net's number of epochs and learning rates)."""
        ...

    def predict(self, windows: WindowSet) -> Prediction: ...

    def save(self, run_dir: RunDir) -> None:
        """Whatever ``load`` needs beyond what fitting already wrote (a Trainer's checkpoints)."""
        ...

    @classmethod
    def checkpoint_file(cls, run_dir: RunDir, given: Path | None, which: str) -> Path | None:
        """The file ``load`` restores the model from: ``given``, else the run's ``which``
        checkpoint (RunDir.checkpoint); None for a model kept in the run's fitted state, which
        holds the final model (the refit one under refit=true)."""
        ...

    @classmethod
    def load(
        cls, run_dir: RunDir, *, cfg: DictConfig, dm: WindowDataModule, checkpoint: Path | None
    ) -> Forecaster:
        """The fitted model of a trained run (``checkpoint``: from ``checkpoint_file``), for the
        data of ``dm``."""
        ...


def forecaster_class(model_cfg: DictConfig) -> type[Forecaster]:
    """The Forecaster a model config builds: a LightningModule target goes through the deep
    adapter, any other target is a baseline and its own Forecaster."""
    import hydra
    import lightning.pytorch as pl_

    target = model_cfg.get("_target_")
    try:
        cls = hydra.utils.get_class(str(target))
    except Exception as err:  # Hydra wraps import errors in its own types
        raise ValueError(f"model._target_={target!r}: not an importable class ({err})") from err
    if issubclass(cls, pl_.LightningModule):
        from respicast.models.deep import DeepForecaster

        return DeepForecaster
    return cls


def build_forecaster(cfg: DictConfig, dm: WindowDataModule, **fit_options) -> Forecaster:
    """The unfitted Forecaster of the run config ``cfg`` for the data of ``dm``; on a panel a
    baseline is fitted per series (models.per_series), a deep net once over all series."""
    cls = forecaster_class(cfg.model)
    from respicast.dataset.panel_datamodule import PanelDataModule
    from respicast.models.deep import DeepForecaster

    if isinstance(dm, PanelDataModule) and cls is not DeepForecaster:
        from respicast.models.per_series import PerSeriesForecaster

        return PerSeriesForecaster.build(cls, cfg, dm, **fit_options)
    return cls.build(cfg, dm, **fit_options)


def instantiate_model(model_cfg: DictConfig, dims: Dims | None):
    """The configured model object itself (a LightningModule built for ``dims``, or a baseline
    labelled with the config's name), without data checks: config tests use it."""
    return forecaster_class(model_cfg).instantiate(model_cfg, dims)
