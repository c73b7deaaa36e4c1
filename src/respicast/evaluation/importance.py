"""Permutation importance by variable group, on evaluation windows only.

For each group, the inputs of that group are made uninformative in a *copy* of the evaluation
WindowSet and the already-fitted model predicts again; nothing is refitted. Two references:

- ``permute``: whole windows of the group are shuffled across origins (one permutation shared by
  all the group's channels), so each window keeps its own time structure and the channels their
  joint distribution, but the link to the origin's outcome is broken; averaged over ``n_repeats``;
- ``mean``: the group's channels become their training mean. Past and future covariates are
  scaled on the training part, so that mean is 0; the history becomes flat at each window's own
  level (its past trailing mean), so no value is estimated on the evaluation data.

Groups: each group of ``ws.past_groups``; ``history`` (the history and level arrays: both carry
the past target); ``calendar`` (the known-future channels, ``ws.future_groups``).

``delta`` is the skill lost: metric_full − metric_permuted for AUROC/AUPRC, the reverse for the
Brier score, so delta > 0 means the model relies on the group. CIs: bootstrap over whole ISO weeks
of the target date, full and permuted scored on the same resampled days.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import polars as pl

from respicast.dataset.windows import WindowSet
from respicast.evaluation import metrics as M
from respicast.evaluation.bootstrap import bootstrap_cis, iso_week_ids

METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], int]] = {
    # name -> (function, +1 when higher is better)
    "auroc": (M.auroc, 1),
    "auprc": (M.auprc, 1),
    "brier": (M.brier, -1),
}
REFERENCES = ("permute", "mean")


def groups_of(ws: WindowSet) -> list[str]:
    """Groups present in ``ws``, history first, then past groups, then future (calendar) groups."""
    out = ["history"] if not np.all(np.isnan(ws.history)) else []
    for g in [*ws.past_groups, *ws.future_groups]:
        if g not in out:
            out.append(g)
    return out


def blank_group(
    ws: WindowSet, group: str, reference: str, rng: np.random.Generator | None = None
) -> WindowSet:
    """A copy of ``ws`` whose ``group`` inputs are permuted across origins or set to their mean.

    The WindowSet fields are read-only strided views: only the arrays that change are copied.
    """
    if reference not in REFERENCES:
        raise ValueError(f"importance reference={reference!r}: expected one of {REFERENCES}")
    if reference == "permute" and rng is None:
        raise ValueError("reference='permute' needs an rng")
    perm = rng.permutation(len(ws)) if reference == "permute" else None
    changes: dict[str, np.ndarray] = {}
    if group == "history":
        if perm is not None:
            changes["history"] = np.array(ws.history[perm])
            changes["level"] = np.array(ws.level[perm])
        else:  # flat at the window's own level (known at the origin)
            flat = np.broadcast_to(np.asarray(ws.level, float)[:, None], ws.history.shape)
            changes["history"] = np.where(np.isnan(ws.history), np.nan, flat)
    for field, names in (("past", ws.past_groups), ("future", ws.future_groups)):
        idx = [i for i, g in enumerate(names) if g == group]
        if not idx:
            continue
        arr = np.array(getattr(ws, field))  # writable copy
        arr[:, :, idx] = arr[perm][:, :, idx] if perm is not None else 0.0
        changes[field] = arr
    if not changes:
        raise ValueError(
            f"importance: group {group!r} has no input in these windows ({groups_of(ws)})"
        )
    return dataclasses.replace(ws, **changes)


def _predict_probs(model, ws: WindowSet, calibrators=None) -> np.ndarray:
    probs = model.predict(ws).peak_prob
    if calibrators is not None:
        probs = np.stack(
            [calibrators.apply(probs[:, h], h + 1) for h in range(probs.shape[1])], axis=1
        )
    return probs


def group_importance(
    model,
    ws: WindowSet,
    *,
    metric: str = "auroc",
    horizons: tuple[int, ...] | list[int] = (1, 3, 7),
    n_repeats: int = 5,
    seed: int = 0,
    reference: str = "permute",
    groups: list[str] | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    calibrators=None,
) -> pl.DataFrame:
    """One row per (group, horizon): metric_full, metric_permuted, delta, delta_lo, delta_hi.

    ``ws`` must be evaluation windows (val or test) of a fitted ``model``; ``calibrators`` (the
    run's fitted HorizonCalibrators) are applied when given (AUROC does not need them, Brier does).
    """
    if metric not in METRICS:
        raise ValueError(f"importance metric={metric!r}: expected one of {sorted(METRICS)}")
    horizons = [int(h) for h in horizons if 1 <= int(h) <= ws.horizon]
    if not horizons:
        raise ValueError(f"importance horizons: none within 1..{ws.horizon}")
    groups = list(groups) if groups is not None else groups_of(ws)
    repeats = n_repeats if reference == "permute" else 1
    rng = np.random.default_rng(seed)
    full = _predict_probs(model, ws, calibrators)
    blanked = {
        g: [
            _predict_probs(model, blank_group(ws, g, reference, rng), calibrators)
            for _ in range(repeats)
        ]
        for g in groups
    }
    rows = []
    for h in horizons:
        j = h - 1
        y = ws.y_peak[:, j]
        ok = ~np.isnan(y) & ~np.isnan(full[:, j])
        weeks = iso_week_ids(pl.Series(ws.target_dates()[ok, j]))
        for g in groups:
            perms = [p[ok, j] for p in blanked[g]]
            scores = _group_scores(
                metric, y[ok], full[ok, j], perms, weeks, n_boot=n_boot, seed=seed + h, level=level
            )
            rows.append({"group": g, "horizon": h, "metric": metric, **scores})
    return pl.DataFrame(rows)


def _group_scores(
    metric: str,
    y: np.ndarray,
    p: np.ndarray,
    perms: list[np.ndarray],
    weeks: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, float]:
    """metric_full, metric_permuted, delta with its CI, n, n_pos: one group at one horizon."""
    fn, sign = METRICS[metric]

    def stat(idx: np.ndarray) -> dict[str, float]:
        permuted = float(np.nanmean([fn(y[idx], q[idx]) for q in perms]))
        return {"delta": sign * (fn(y[idx], p[idx]) - permuted)}

    m_full = fn(y, p)
    m_perm = float(np.nanmean([fn(y, q) for q in perms]))
    lo, hi = (
        bootstrap_cis(stat, weeks, n_boot, seed, level)["delta"]
        if n_boot and y.size
        else (float("nan"), float("nan"))
    )
    return {
        "metric_full": m_full,
        "metric_permuted": m_perm,
        "delta": sign * (m_full - m_perm),
        "delta_lo": lo,
        "delta_hi": hi,
        "n": int(y.size),
        "n_pos": int(np.nansum(y)),
    }
