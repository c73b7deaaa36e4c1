"""What every non-deep baseline offers the train entry, plus the checks they share."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from respicast.dataset.windows import WindowSet
from respicast.models.forecaster import Prediction

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from respicast.dataset.datamodule import WindowDataModule
    from respicast.run_dir import RunDir

INPUTS = frozenset({"history", "past", "future"})
FITTED_KEY = "baseline"  # the fitted model's entry in the run's fitted state (RunDir.write_fitted)


class Baseline:
    """What every baseline shares to be a Forecaster (models.forecaster): a subclass gives
    ``fit(train, val)``, ``predict_arrays(ws)`` and, when it has a count distribution of its own,
    ``count_dispersion(counts)``; the rest is here."""

    name: str
    needs: frozenset[str] = frozenset()  # inputs it requires, a subset of INPUTS

    def fit(self, train: WindowSet, val: WindowSet | None = None) -> Baseline:
        raise NotImplementedError

    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts [N, H] and peak probabilities [N, H] (NaN where the threshold is)."""
        raise NotImplementedError

    def count_dispersion(self, counts: np.ndarray) -> np.ndarray | float | None:
        """NB k of the count distribution for these expected counts (inf: Poisson); None: the
        model has none of its own."""
        return None

    def predict(self, windows: WindowSet) -> Prediction:
        counts, probs = self.predict_arrays(windows)
        counts = np.asarray(counts, float)
        return Prediction.of(counts, probs, self.count_dispersion(counts))

    def refit(self, train: WindowSet) -> Baseline:
        # fit() sets every fitted attribute anew: a copy refits from the same settings
        return copy.deepcopy(self).fit(train, None)

    @classmethod
    def instantiate(cls, model_cfg: DictConfig, dims=None) -> Baseline:
        """The configured baseline, labelled with the config's name (not a constructor argument)."""
        import hydra
        from omegaconf import open_dict

        conf = model_cfg.copy()
        with open_dict(conf):
            conf.pop("name", None)
        model = hydra.utils.instantiate(conf)
        model.name = str(model_cfg.get("name") or getattr(model, "name", cls.__name__))
        return model

    @classmethod
    def build(cls, cfg: DictConfig, dm: WindowDataModule, **fit_options) -> Baseline:
        """The baseline for the data; refused when its input needs are not in the data."""
        model = cls.instantiate(cfg.model)
        ws = dm.windows
        have = {
            "history": dm.dims.has_history,
            "past": ws.past.shape[2] > 0,
            "future": ws.future.shape[2] > 0,
        }
        missing = sorted(n for n in model.needs if not have.get(n, False))
        if missing:
            raise ValueError(
                f"model {cfg.model.get('name', cfg.model._target_)} needs {missing} inputs, but "
                f"data.groups={dm.groups} provides none (history needs the 'history' group, "
                "future the 'calendar' group)"
            )
        return model

    def save(self, run_dir: RunDir) -> None:
        """Into the run's fitted state, beside its calibrators and thresholds."""
        state = run_dir.read_fitted() if run_dir.has_fitted() else {}
        state[FITTED_KEY] = self
        run_dir.write_fitted(state)

    @classmethod
    def checkpoint_file(cls, run_dir: RunDir, given: Path | None, which: str) -> None:
        return None  # kept in the fitted state, written after the refit

    @classmethod
    def load(
        cls, run_dir: RunDir, *, cfg: DictConfig, dm: WindowDataModule, checkpoint: Path | None
    ) -> Baseline:
        from respicast.models.per_series import PerSeriesForecaster
        from respicast.run_dir import RunError

        model = run_dir.read_fitted().get(FITTED_KEY)
        if isinstance(model, PerSeriesForecaster) and isinstance(model.template, cls):
            return model  # a panel run: one fitted copy per series
        if not isinstance(model, cls):
            raise RunError(
                f"{run_dir.fitted_file}: holds no fitted {cls.__name__} (model "
                f"{cfg.model.get('name')}); rerun respicast-train"
            )
        return model


def check_inputs(ws: WindowSet, needs: frozenset[str], model: str) -> None:
    """Raise a ValueError naming the missing input when ``ws`` lacks one the model needs."""
    if len(ws) == 0:
        raise ValueError(f"{model}: the WindowSet has no origins")
    if "history" in needs and np.all(np.isnan(ws.history)):
        raise ValueError(f"{model}: needs 'history' but every history value is NaN")
    if "past" in needs and (ws.past.ndim != 3 or ws.past.shape[-1] == 0):
        raise ValueError(f"{model}: needs 'past' covariates but past has no channels")
    if "future" in needs and (ws.future.ndim != 3 or ws.future.shape[-1] == 0):
        raise ValueError(f"{model}: needs 'future' calendar covariates but future has no channels")


def require_names(names: list[str], wanted: list[str], key: str, model: str) -> list[int]:
    """Indices of ``wanted`` in ``names``; a ValueError naming the key when one is absent."""
    missing = [w for w in wanted if w not in names]
    if missing:
        raise ValueError(f"{model}: {key} lacks {missing}; it has {names}")
    return [names.index(w) for w in wanted]


def check_fitted(fitted: bool, model: str) -> None:
    if not fitted:
        raise RuntimeError(f"{model}: call fit() before predict()")


def training_pairs(ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
    """Mask of (origin, horizon) cells with an observed count, and the counts as float."""
    y = np.asarray(ws.y_count, dtype=float)
    return ~np.isnan(y), y


def one_blas_thread(method):
    """Run ``method`` with a single BLAS thread.

    The baselines' matrices are small (thousands × tens): threaded BLAS costs more than it gains,
    and on a busy machine its spinning threads made one GLM fit 40× slower (18 s vs 0.4 s).
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper
