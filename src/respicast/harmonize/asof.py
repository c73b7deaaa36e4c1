"""As-of alignment: per-period values -> one value per table day, as known by the end of that day.

Row s holds the value of the latest period published by the end of day s (architecture doc §3).
Periods absent from the source are first put on a complete period grid as missing values (with
the source's latency rule as their publication time), so a gap shows up as missing -> filled and
masked later, never as a silent carry-forward.

Weekly/monthly -> daily by `step` (the latest published period's value) or `interpolate`: linear
between period midpoints, read at a constant delay L chosen so that the point needed is always
covered by periods already published by s (prefix of published periods); the read point never
passes the midpoint of the last published period, so no future period is ever used.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.sources.frame import Latency

GRID_INTERVAL = {"1d": "1d", "1w": "1w", "1mo": "1mo"}


def complete_grid(series: pl.DataFrame, resolution: str, latency: Latency, tz: str) -> pl.DataFrame:
    """One row per period from the first to the last start; missing periods get value null."""
    lo, hi = series["start"].min(), series["start"].max()
    grid = pl.DataFrame({"start": pl.date_range(lo, hi, GRID_INTERVAL[resolution], eager=True)})
    last = {
        "1d": pl.col("start"),
        "1w": pl.col("start") + pl.duration(days=6),
        "1mo": pl.col("start").dt.month_end(),
    }[resolution]
    out = grid.join(series.select("start", "value", "published"), on="start", how="left")
    return out.with_columns(last=last).with_columns(
        published=pl.coalesce("published", latency.published(pl.col("last"), tz))
    )


def _latest_available(series: pl.DataFrame, dates: pl.Series, tz: str, prefix: bool) -> pl.Series:
    """Per table day: start of the latest period published by then (prefix=True: the latest such
    that every earlier period is published too). Null before the first publication."""
    s = series.sort("start").with_columns(
        avail=pl.col("published").dt.convert_time_zone(tz).dt.date()
    )
    if prefix:
        s = s.with_columns(avail=pl.col("avail").cum_max())
    first = dates.min()
    by_day = s.group_by(pl.max_horizontal(pl.col("avail"), pl.lit(first)).alias("date")).agg(
        pl.col("start").max()
    )
    grid = pl.DataFrame({"date": dates}).join(by_day, on="date", how="left").sort("date")
    return grid.select(pl.col("start").cum_max().forward_fill()).to_series()


def align_step(series: pl.DataFrame, dates: pl.Series, tz: str) -> pl.Series:
    latest = _latest_available(series, dates, tz, prefix=False)
    looked = pl.DataFrame({"start": latest}).join(
        series.select("start", "value"), on="start", how="left", maintain_order="left"
    )
    return looked["value"]


def interpolation_delay(resolution: str, latency: Latency) -> int:
    """Days L such that, with regular publication, day s - L lies before the midpoint of the last
    period published by s."""
    length = {"1w": 7, "1mo": 31}[resolution]
    mid_to_pub = (length - 1 - length // 2) + latency.days
    return mid_to_pub + length - 1


def align_interpolated(series: pl.DataFrame, dates: pl.Series, tz: str, delay: int) -> pl.Series:
    s = series.sort("start")
    latest = _latest_available(s, dates, tz, prefix=True)
    mid = (
        s["start"].cast(pl.Int64) + (s["last"].cast(pl.Int64) - s["start"].cast(pl.Int64)) / 2
    ).to_numpy()
    value = s["value"].to_numpy().astype(float)
    ok = ~np.isnan(value)
    if not ok.any():
        return pl.Series([None] * len(dates), dtype=pl.Float64)
    # midpoint of the last valid period with start <= K, for every K
    valid_mid = np.maximum.accumulate(np.where(ok, mid, -np.inf))
    start_days = s["start"].cast(pl.Int64).to_numpy()
    k = latest.cast(pl.Int64).to_numpy()
    known = ~np.isnan(latest.cast(pl.Float64).to_numpy())
    idx = np.searchsorted(start_days, np.where(known, k, start_days[0]), side="right") - 1
    cap = valid_mid[idx]
    day = dates.cast(pl.Int64).to_numpy().astype(float)
    x = np.minimum(day - delay, cap)
    out = np.interp(x, mid[ok], value[ok])
    out[~known | ~np.isfinite(cap)] = np.nan
    return pl.Series(out).fill_nan(None)


def align(
    series: pl.DataFrame,
    dates: pl.Series,
    resolution: str,
    latency: Latency,
    tz: str,
    weekly_to_daily: str = "step",
) -> pl.Series:
    """Periods (start, last, value, published) of one variable -> values on `dates` (as-of)."""
    full = complete_grid(series, resolution, latency, tz)
    if resolution == "1d" or weekly_to_daily == "step":
        return align_step(full, dates, tz)
    if weekly_to_daily == "interpolate":
        return align_interpolated(full, dates, tz, interpolation_delay(resolution, latency))
    raise ValueError(f"data.weekly_to_daily={weekly_to_daily!r}; use step or interpolate")
