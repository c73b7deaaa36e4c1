"""Block bootstrap over whole ISO weeks of the target date.

Days of the same week share weather, epidemics and reporting, so resampling single days would
give confidence intervals that are too narrow; whole weeks are drawn with replacement instead.
Weekly data (target dates a week apart) resample blocks of WEEKLY_BLOCK consecutive weeks, for
the same reason one level up: neighbouring weeks share an epidemic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl

WEEKLY_BLOCK = 4  # weeks per resampling block of weekly data


def iso_week_ids(target_date: pl.Series) -> np.ndarray:
    """The resampling block of each row: its YYYYWW integer (ISO year and week) for daily data,
    the index of its WEEKLY_BLOCK-week stretch (from 1970) for weekly data."""
    frame = pl.DataFrame({"d": target_date})
    days = np.unique(frame["d"].drop_nulls().to_numpy().astype("datetime64[D]").astype(np.int64))
    if days.size > 1 and int(np.min(np.diff(days))) >= 7:
        epoch_days = frame["d"].to_numpy().astype("datetime64[D]").astype(np.int64)
        return (epoch_days + 3) // 7 // WEEKLY_BLOCK  # +3: 1970-01-01 was a Thursday
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
