"""Block bootstrap over whole ISO weeks of the target date.

Days of the same week share weather, epidemics and reporting, so resampling single days would
give confidence intervals that are too narrow; whole weeks are drawn with replacement instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl


def iso_week_ids(target_date: pl.Series) -> np.ndarray:
    """YYYYWW integer per row (ISO year and week), the resampling block."""
    frame = pl.DataFrame({"d": target_date})
    return (
        frame.select(
            pl.col("d").dt.iso_year().cast(pl.Int64) * 100 + pl.col("d").dt.week().cast(pl.Int64)
        )
        .to_series()
        .to_numpy()
    )


def week_blocks(week_ids: np.ndarray) -> list[np.ndarray]:
    """Row indices grouped by week, in week order."""
    order = np.argsort(week_ids, kind="stable")
    _, starts = np.unique(week_ids[order], return_index=True)
    return np.split(order, starts[1:])


def resamples(blocks: list[np.ndarray], n: int, seed: int) -> Iterator[np.ndarray]:
    """``n`` resamples of row indices, each the concatenation of len(blocks) weeks drawn with replacement."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        picks = rng.integers(0, len(blocks), size=len(blocks))
        yield np.concatenate([blocks[i] for i in picks])


def percentile_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval ignoring NaN resamples (e.g. a resample without positives)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_cis(
    stat: Callable[[np.ndarray], dict[str, float]],
    week_ids: np.ndarray,
    n: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """CI per key of ``stat(row_indices)`` over ``n`` week-block resamples."""
    draws: dict[str, list[float]] = {}
    for idx in resamples(week_blocks(week_ids), n, seed):
        for key, value in stat(idx).items():
            draws.setdefault(key, []).append(value)
    return {key: percentile_ci(np.array(v), level) for key, v in draws.items()}
