"""Summary statistics that say whether a daily admissions series looks like a real one.

The reference values come from real daily respiratory series stored in /work/shared/data/real
(Chicago NMMAPS respiratory deaths 1987-2000, Campbelltown asthma ED presentations 1990-1993);
`tests/world/test_realism.py` holds the accepted ranges and their provenance.
"""

from __future__ import annotations

import numpy as np


def autocorrelation(x: np.ndarray, lag: int) -> float:
    x = np.asarray(x, dtype=float) - np.mean(x)
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


def trailing_peak_fraction(counts: np.ndarray, window: int = 365, q: float = 0.9) -> float:
    """Share of days whose count exceeds the q-quantile of the `window` days before it."""
    counts = np.asarray(counts, dtype=float)
    if counts.size <= window:
        raise ValueError(f"need more than {window} days, got {counts.size}")
    past = np.lib.stride_tricks.sliding_window_view(counts[:-1], window)
    thresholds = np.quantile(past, q, axis=1)
    return float(np.mean(counts[window:] > thresholds))


def series_stats(dates: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """Dispersion, autocorrelation, seasonality, weekday pattern and peak rate of a daily series."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    counts = np.asarray(counts, dtype=float)
    months = (dates.astype("datetime64[M]").astype(int) % 12) + 1
    monthly = np.array([counts[months == m].mean() for m in range(1, 13)])
    weekday = (dates.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    by_dow = np.array([counts[weekday == d].mean() for d in range(7)])
    return {
        "mean": float(counts.mean()),
        "var_over_mean": float(counts.var() / counts.mean()),
        "acf1": autocorrelation(counts, 1),
        "acf7": autocorrelation(counts, 7),
        "month_max_over_min": float(monthly.max() / monthly.min()),
        "dow_max_over_min": float(by_dow.max() / by_dow.min()),
        "peak_fraction": trailing_peak_fraction(counts),
    }
