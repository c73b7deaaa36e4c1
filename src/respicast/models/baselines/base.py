"""What every non-deep baseline offers the train entry, plus the checks they share."""

from __future__ import annotations

import functools
from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from respicast.dataset.windows import WindowSet

INPUTS = frozenset({"history", "past", "future"})


@runtime_checkable
class Baseline(Protocol):
    name: str
    needs: frozenset[str]  # inputs it requires, a subset of INPUTS

    def fit(self, train: WindowSet, val: WindowSet | None = None) -> Baseline: ...

    def predict(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts [N, H] and peak probabilities [N, H] (NaN where the threshold is)."""
        ...


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
