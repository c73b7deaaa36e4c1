"""Level-relative and calendar inputs the baselines share (all from data known at the origin)."""

from __future__ import annotations

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.features import fill_gaps


def safe_level(ws: WindowSet) -> np.ndarray:
    """[N] level, with non-positive or NaN levels replaced by the mean known history."""
    fallback = np.nanmean(ws.history, axis=1)
    level = np.where(np.isfinite(ws.level) & (ws.level > 0), ws.level, fallback)
    if np.any(~np.isfinite(level) | (level <= 0)):
        raise ValueError("level: some origins have neither a positive level nor any known history")
    return level


def last_known(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N] last non-NaN count of each window and its age in days (0 = the origin itself)."""
    known = ~np.isnan(history)
    if not known.any(axis=1).all():
        raise ValueError("history: some windows have no known count")
    length = history.shape[1]
    last = length - 1 - np.argmax(known[:, ::-1], axis=1)
    return history[np.arange(len(history)), last], length - 1 - last


def relative_lags(ws: WindowSet, n_lags: int) -> np.ndarray:
    """[N, n_lags] last ``n_lags`` days of history / level, newest last, gaps carried forward."""
    if n_lags > ws.lookback:
        raise ValueError(f"n_lags={n_lags} exceeds the lookback {ws.lookback}")
    rel = fill_gaps(ws.history / safe_level(ws)[:, None])
    return rel[:, ws.lookback - n_lags :]


def day_of_week(dates: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday."""
    return ((dates.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.intp)


def month(dates: np.ndarray) -> np.ndarray:
    """0 = January .. 11 = December."""
    return (dates.astype("datetime64[M]").astype(np.int64) % 12).astype(np.intp)


def week_of_year(dates: np.ndarray) -> np.ndarray:
    """0..52: (day of year) // 7."""
    d = dates.astype("datetime64[D]")
    doy = (d - d.astype("datetime64[Y]")).astype(np.int64)
    return np.minimum(doy // 7, 52).astype(np.intp)


def history_offset(ws: WindowSet) -> int:
    """Days between the origin and the last position of the history window.

    The dataset may store the history shifted by the reporting latency (last position = day
    t - latency) or aligned on t with trailing NaN; comparing the history with the observed
    counts of earlier origins (training labels) tells which.
    """
    first = ws.origins[0].astype("datetime64[D]").astype(np.int64) + 1
    days = ws.origins.astype("datetime64[D]").astype(np.int64)[:, None] + np.arange(
        1, ws.horizon + 1
    )
    series = np.full(int(days.max() - first + 1), np.nan)
    series[(days - first).ravel()] = np.asarray(ws.y_count, dtype=float).ravel()
    length = ws.lookback
    pos_day = days[:, :1] - 1 - (length - 1 - np.arange(length))  # day of each position if offset 0
    best, best_hits = None, 0
    for offset in range(length):
        idx = pos_day - offset - first
        valid = (idx >= 0) & ~np.isnan(ws.history)
        truth = series[np.where(valid, idx, 0)]
        valid &= ~np.isnan(truth)
        hits = int(valid.sum())
        if hits and np.array_equal(ws.history[valid], truth[valid]) and hits > best_hits:
            best, best_hits = offset, hits
    if best is None:
        raise ValueError("history does not match y_count at any offset; cannot align the weekdays")
    return best
