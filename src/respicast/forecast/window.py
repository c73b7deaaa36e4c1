"""The one window a forecast made on the as-of date sees.

Only rows dated ≤ as-of enter it: the daily table is cut at the as-of date before the windows are
built, so a value published later cannot reach the forecast (feature rows are already as-of by
construction; the target history is lagged by its publication latency). What the model fitted
(scalers, training-period thresholds) comes from the training split, unchanged. The calendar of
the H target days is known in advance and recomputed for them (the cut table ends at as-of).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import polars as pl
from omegaconf import OmegaConf

from respicast.dataset.build import build_windows
from respicast.dataset.datamodule import WindowDataModule
from respicast.dataset.windows import WindowSet
from respicast.forecast.errors import ForecastError
from respicast.table import DailyTable
from respicast.utils.config import as_dict

log = logging.getLogger(__name__)


def check_asof(table: DailyTable, asof: dt.date, lookback: int) -> int:
    """Row index of the as-of date; clear errors when the data cannot support it."""
    dates = table.frame["date"]
    first, last = dates.min(), dates.max()
    earliest = first + dt.timedelta(days=lookback - 1)
    if asof > last:
        raise ForecastError(
            f"asof={asof} is after the data, which end on {last}; point the sources at newer files "
            "or choose an earlier as-of date"
        )
    if asof < earliest:
        raise ForecastError(
            f"asof={asof} leaves less than the {lookback}-day lookback of data (data start {first}; "
            f"earliest as-of date {earliest})"
        )
    return int((asof - first).days)


def cut_at(table: DailyTable, asof: dt.date) -> DailyTable:
    return DailyTable(
        frame=table.frame.filter(pl.col("date") <= asof),
        target=table.target,
        columns=table.columns,
        area=table.area,
        target_latency_days=table.target_latency_days,
        meta=table.meta,
    )


def future_calendar(dm: WindowDataModule, asof: dt.date, names: list[str]) -> np.ndarray:
    """[1, H, Ff] scaled calendar covariates of asof+1..asof+H."""
    if not names:
        return np.zeros((1, dm.dims.horizon, 0), np.float32)
    from respicast.harmonize.calendar import calendar_frame

    cal = as_dict(dm.cfg.get("calendar"))
    step, H = int(getattr(dm.windows, "step_days", 1)), dm.dims.horizon
    # each target period's days (one day, or the 7 days of a week: its mean, as harmonize.weekly)
    days = [asof + dt.timedelta(days=d) for d in range(1, H * step + 1)]
    frame = calendar_frame(
        pl.Series("date", days),
        cal.get("country", "FR"),
        cal.get("school_zone", "C"),
        cal.get("school_return_weeks", 0),
    )
    raw = frame.select(names).cast(float).to_numpy()
    if step > 1:
        raw = raw.reshape(H, step, -1).mean(axis=1)
    return dm.scalers["future"].transform(raw)[None]


def asof_window(dm: WindowDataModule, asof: dt.date, table: DailyTable | None = None) -> WindowSet:
    """The window at origin = asof, from the table cut at asof, with the training-fitted state.

    `table`: the (group-selected) daily table to read from; default the datamodule's.
    """
    table = table if table is not None else dm.table_used
    lookback, horizon = dm.dims.lookback, dm.dims.horizon
    row = check_asof(table, asof, lookback)
    cut = cut_at(table, asof)
    n = cut.frame.height
    if n < lookback + horizon:  # build_windows wants room for one labelled window
        raise ForecastError(
            f"asof={asof}: need at least {lookback + horizon} days of data before it"
        )
    end = dm.train_end_day
    peak = OmegaConf.to_container(dm.cfg.peak, resolve=True) if dm.cfg.get("peak") else {}
    ws, _ = build_windows(
        cut,
        lookback=lookback,
        horizon=horizon,
        train_end_day=min(end, n),
        peak=peak,
        use_history="history" in dm.groups,
    )
    last = ws.slice(len(ws) - 1, len(ws))
    assert last.origins[0] == np.datetime64(asof, "D")
    past, threshold = last.past, last.threshold
    if n < end:
        # as-of inside the training rows: scale with the training scalers (fitted state), not refit
        log.warning("asof=%s lies in the training period: this is no honest backtest", asof)
        raw = cut.frame.select(ws.past_names).cast(float).to_numpy()[-lookback:]
        past = dm.scalers["past"].transform(raw)[None] if ws.past_names else past
        if peak.get("method", "trailing_quantile") != "trailing_quantile":
            threshold = dm.windows.threshold[row - (lookback - 1)][None]
    return WindowSet(
        origins=last.origins,
        history=np.array(last.history),
        past=np.array(past),
        future=future_calendar(dm, asof, ws.future_names),
        level=np.array(last.level),
        threshold=np.array(threshold),
        y_count=np.full((1, horizon), np.nan),
        y_peak=np.full((1, horizon), np.nan),
        past_names=ws.past_names,
        future_names=ws.future_names,
        past_groups=ws.past_groups,
        future_groups=ws.future_groups,
    )
