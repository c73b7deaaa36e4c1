"""Daily table → WindowSet over every origin, as strided views (no per-sample copies)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from respicast.dataset.targets import known_counts, peak_thresholds, trailing_mean
from respicast.dataset.windows import WindowSet
from respicast.table import DailyTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scaler:
    """Per-column mean/std fitted on the training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, keep: np.ndarray | None = None) -> Scaler:
        """`keep` marks 0/1 columns (fill masks) left as they are: scaled by a training std
        that is tiny when a variable was rarely filled, a mask that is 1 later would sit
        dozens of standard deviations out."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
            std = np.nanstd(x, axis=0) if len(x) else np.ones(x.shape[1])
        mean = np.nan_to_num(mean)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        if keep is not None:
            mean, std = np.where(keep, 0.0, mean), np.where(keep, 1.0, std)
        return cls(mean, std)

    def transform(self, x: np.ndarray) -> np.ndarray:
        # NaN left after harmonisation's fill becomes the training mean (0 after scaling)
        return np.nan_to_num((x - self.mean) / self.std).astype(np.float32)


def column_matrix(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """[rows, len(names)] float matrix of the named columns."""
    if not names:
        return np.zeros((frame.height, 0))
    return frame.select(names).cast(pl.Float64).to_numpy()


def _check_sizes(lookback: int, horizon: int, n_days: int) -> None:
    """Raise unless lookback and horizon are ≥ 1 and fit together in the ``n_days`` of data."""
    if lookback < 1 or horizon < 1:
        raise ValueError(f"data.lookback={lookback} and data.horizon={horizon} must both be ≥ 1")
    if lookback + horizon > n_days:
        raise ValueError(
            f"data.lookback={lookback} + data.horizon={horizon} exceeds the {n_days} days of data"
        )


def drop_constant_channels(
    names: list[str], groups: list[str], raw: np.ndarray, train_rows: np.ndarray, where: str
) -> tuple[list[str], list[str], np.ndarray]:
    """Names, groups and columns of ``raw`` without the channels constant over ``train_rows``
    (logged): such a channel teaches the model nothing, and if it moves later (a sensor that stops:
    its fill mask jumps from 0 to 1) it feeds untrained weights."""
    with warnings.catch_warnings():  # an all-missing column has no std: it is dropped too
        warnings.simplefilter("ignore", RuntimeWarning)
        varies = np.nanstd(train_rows, axis=0) > 0 if len(train_rows) else np.ones(len(names), bool)
    if varies.all():
        return names, groups, raw
    log.warning(
        "dropping %d past channel(s) constant over %s: %s",
        int((~varies).sum()),
        where,
        [n for n, v in zip(names, varies, strict=True) if not v],
    )
    keep = [n for n, v in zip(names, varies, strict=True) if v]
    return keep, [g for g, v in zip(groups, varies, strict=True) if v], raw[:, varies]


def _past_channels(
    table: DailyTable, train_end_day: int
) -> tuple[list[str], list[str], np.ndarray, set[str]]:
    """Names, groups, raw matrix of the past channels varying in training; the fill-mask names."""
    past_cols = [c for c in table.columns if not c.known_future]
    past_names = [c.name for c in past_cols] + [c.mask for c in past_cols if c.mask]
    past_groups = [c.group for c in past_cols] + [c.group for c in past_cols if c.mask]
    past_raw = column_matrix(table.frame, past_names)
    past_names, past_groups, past_raw = drop_constant_channels(
        past_names, past_groups, past_raw, past_raw[:train_end_day], "the training part"
    )
    return past_names, past_groups, past_raw, {c.mask for c in past_cols if c.mask}


def fit_scalers(
    past_raw: np.ndarray, fut_raw: np.ndarray, past_names: list[str], masks: set[str], train
) -> dict[str, Scaler]:
    """The past and future Scalers, fitted on the ``train`` rows (a slice or a mask; fill masks
    left unscaled)."""
    keep = np.array([n in masks for n in past_names], bool)
    return {"past": Scaler.fit(past_raw[train], keep=keep), "future": Scaler.fit(fut_raw[train])}


def peak_in_rows(peak: dict, step_days: int) -> dict:
    """data.peak with its day counts (window_days, min_periods) as rows of a table of that step:
    365 days are 52 weekly rows."""
    if step_days == 1:
        return dict(peak)
    out = dict(peak)
    if "window_days" in out:
        out["window_days"] = max(int(out["window_days"]) // step_days, 1)
    if "min_periods" in out:
        out["min_periods"] = max(-(-int(out["min_periods"]) // step_days), 1)
    return out


def _level(known: np.ndarray, window: int, lookback: int) -> np.ndarray:
    """Level of level-relative inputs/outputs: trailing mean of the known counts (past only)."""
    # the expanding mean where the trailing window is too short; 1 where not positive
    level = trailing_mean(known, window=window, min_periods=min(lookback, 28))
    expanding = np.nancumsum(np.nan_to_num(known)) / np.maximum(np.cumsum(~np.isnan(known)), 1)
    level = np.where(np.isnan(level), expanding, level)
    return np.where(level > 0, level, 1.0)


def _peak_labels(y_count: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """1.0 where a target day's count exceeds its origin's threshold; NaN where either is unknown."""
    with np.errstate(invalid="ignore"):
        return np.where(
            np.isnan(y_count) | np.isnan(thr)[:, None],
            np.nan,
            (y_count > thr[:, None]).astype(float),
        )


def build_windows(
    table: DailyTable,
    *,
    lookback: int,
    horizon: int,
    train_end_day: int,
    peak: dict,
    use_history: bool = True,
) -> tuple[WindowSet, dict]:
    """Windows at every origin t with a full lookback (t = L-1 … T-1).

    Origins near the end have NaN targets (unknown future); callers trim them for training.
    `train_end_day` (exclusive row index) bounds what scalers and training-fitted thresholds see.
    Returns the WindowSet and the fitted state (scalers) for reuse at forecast time.
    """
    n_days = table.frame.height
    _check_sizes(lookback, horizon, n_days)
    peak = peak_in_rows(peak, table.step_days)
    dates = table.frame["date"].to_numpy().astype("datetime64[D]")
    counts = table.frame[table.target].cast(float).to_numpy()
    latency = table.target_latency_days

    fut_cols = [c for c in table.columns if c.known_future]
    past_names, past_groups, past_raw, masks = _past_channels(table, train_end_day)
    fut_raw = column_matrix(table.frame, [c.name for c in fut_cols])
    scalers = fit_scalers(past_raw, fut_raw, past_names, masks, slice(None, train_end_day))
    past = scalers["past"].transform(past_raw)
    future = scalers["future"].transform(fut_raw)

    known = known_counts(counts, latency)
    thr = peak_thresholds(counts, dates, latency=latency, train_end=train_end_day, **peak)
    level = _level(known, int(peak.get("window_days", 365)), lookback)
    history = known if use_history else np.full(n_days, np.nan)

    # pad the end with H unknown days so the last origins exist (forecasting needs them)
    pad = np.full(horizon, np.nan)
    counts_p = np.concatenate([counts, pad])
    future_p = np.concatenate([future, np.zeros((horizon, future.shape[1]), np.float32)])
    origins_idx = np.arange(lookback - 1, n_days)
    n = len(origins_idx)

    y_count = sliding_window_view(counts_p[lookback:], horizon)[:n]
    thr_o = thr[origins_idx]
    ws = WindowSet(
        origins=dates[origins_idx],
        history=sliding_window_view(history, lookback)[:n],
        past=sliding_window_view(past, lookback, axis=0)[:n].transpose(0, 2, 1),
        future=sliding_window_view(future_p[lookback:], horizon, axis=0)[:n].transpose(0, 2, 1),
        level=level[origins_idx],
        threshold=thr_o,
        y_count=y_count,
        y_peak=_peak_labels(y_count, thr_o),
        past_names=past_names,
        future_names=[c.name for c in fut_cols],
        past_groups=past_groups,
        future_groups=[c.group for c in fut_cols],
        step_days=table.step_days,
    )
    return ws, scalers
