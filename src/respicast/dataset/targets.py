"""Peak thresholds and labels. Every threshold at origin t uses counts known by t only."""

from __future__ import annotations

import numpy as np
import polars as pl

PEAK_METHODS = ("trailing_quantile", "seasonal_sd", "train_quantile")


def known_counts(counts: np.ndarray, latency: int) -> np.ndarray:
    """Counts as known at the end of each day: row s holds the count of day s - latency."""
    out = np.full(len(counts), np.nan)
    out[latency:] = counts[: len(counts) - latency] if latency else counts
    return out


def trailing_quantile(known: np.ndarray, q: float, window: int, min_periods: int) -> np.ndarray:
    """q-quantile of the last `window` known counts at each day (NaN until min_periods are known)."""
    s = pl.Series(known).fill_nan(None)
    return (
        s.rolling_quantile(q, interpolation="linear", window_size=window, min_samples=min_periods)
        .fill_null(np.nan)
        .to_numpy()
        .astype(float)
    )


def trailing_mean(known: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    s = pl.Series(known).fill_nan(None)
    return (
        s.rolling_mean(window_size=window, min_samples=min_periods)
        .fill_null(np.nan)
        .to_numpy()
        .astype(float)
    )


def peak_thresholds(
    counts: np.ndarray,
    dates: np.ndarray,
    *,
    latency: int,
    train_end: int,
    method: str = "trailing_quantile",
    q: float = 0.9,
    window_days: int = 365,
    min_periods: int = 180,
    k_sd: float = 1.5,
) -> np.ndarray:
    """Threshold per origin day (index into the daily table).

    trailing_quantile: q-quantile of the counts known in the `window_days` before t (default).
    seasonal_sd: mean + k·SD of the origin's calendar month, fitted on days < train_end (training
    part only); with H ≤ 7 the target month is almost always the origin's.
    train_quantile: one q-quantile of the training part (for short series).
    """
    if method not in PEAK_METHODS:
        raise ValueError(f"data.peak.method={method!r}: choose one of {PEAK_METHODS}")
    known = known_counts(counts.astype(float), latency)
    if method == "trailing_quantile":
        return trailing_quantile(known, q, window_days, min_periods)
    train = counts[:train_end].astype(float)
    if method == "train_quantile":
        return np.full(len(counts), np.nanquantile(train, q))
    # seasonal baseline by calendar month, fitted on the training part only
    months = dates.astype("datetime64[M]").astype(int) % 12
    mean = np.array([np.nanmean(train[months[:train_end] == m]) for m in range(12)])
    sd = np.array([np.nanstd(train[months[:train_end] == m]) for m in range(12)])
    return mean[months] + k_sd * sd[months]
