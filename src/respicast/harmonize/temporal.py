"""Temporal harmonisation: a source frame -> one value per (site, variable, period) at >= 1 day.

Sub-daily records are aggregated over *local* days (Europe/Paris by default, so a day has 23, 24 or
25 hours across DST changes) with a per-variable statistic, kept only when at least 75 % of the
expected records are valid (18 of 24 hourly values). Daily and coarser periods pass through.
Output columns: site, variable, start (Date), last (Date), value, published (UTC).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from respicast.sources.frame import SourceMeta, local_date, local_midnight_utc

COMPLETENESS = 0.75  # 18 valid hours out of 24 (EU air-quality practice)
# default daily statistics per variable name (case-insensitive); anything else -> mean
DEFAULT_STATS: dict[str, list[str]] = {
    "o3": ["max8h"],
    "no2": ["mean", "max"],
    "t": ["min", "mean", "max"],
    "rr3": ["sum"],
    "rr1": ["sum"],
    "rr": ["sum"],
    "precip": ["sum"],
}
STATS = ("mean", "max", "min", "sum", "max8h")


def stats_for(variable: str, options: dict) -> list[str]:
    chosen = (options.get("daily_stats") or {}).get(variable) or DEFAULT_STATS.get(
        variable.lower(), ["mean"]
    )
    unknown = [s for s in chosen if s not in STATS]
    if unknown:
        raise ValueError(f"daily_stats.{variable}: unknown statistic(s) {unknown}; known {STATS}")
    return list(chosen)


def _step_hours(resolution: str) -> int:
    return int(resolution.removesuffix("h"))


def _expected_per_day(day: pl.Expr, tz: str, step_h: int) -> pl.Expr:
    hours = (
        local_midnight_utc(day + pl.duration(days=1), tz) - local_midnight_utc(day, tz)
    ).dt.total_hours()
    return hours / step_h


def _hourly_grid(part: pl.DataFrame) -> pl.DataFrame:
    """One site's hourly rows scattered onto a gap-free hourly grid (absent hours -> null)."""
    hour = 3_600_000_000
    us = part["time"].dt.epoch("us").to_numpy()
    lo = int(us.min())
    idx = (us - lo) // hour
    n = int(idx.max()) + 1
    value = np.full(n, np.nan)
    value[idx] = part["value"].fill_null(np.nan).to_numpy()
    pub = np.full(n, np.iinfo(np.int64).min)
    pub[idx] = part["published"].dt.epoch("us").to_numpy()
    pub = np.maximum.accumulate(pub)  # absent hours inherit the latest publication so far
    times = pl.Series(lo + np.arange(n, dtype=np.int64) * hour).cast(pl.Datetime("us", "UTC"))
    return pl.DataFrame(
        {
            "site": pl.Series([part["site"][0]] * n, dtype=pl.Utf8),
            "time": times,
            "value": pl.Series(value).fill_nan(None),
            "pub8": pl.Series(pub).cast(pl.Datetime("us", "UTC")),
        }
    )


def _max8h(df: pl.DataFrame, step_h: int, tz: str) -> pl.DataFrame:
    """EU O3 indicator: daily maximum of 8-hour running means (>= 6 valid hours each), each mean
    assigned to the day in which it ends; the day needs >= 18 valid means."""
    if step_h != 1:
        raise ValueError("max8h needs hourly data")
    # full hourly grid per site so the 8-row window is 8 hours even across gaps
    full = pl.concat([_hourly_grid(part) for _, part in df.group_by("site", maintain_order=True)])
    full = full.with_columns(m8=pl.col("value").rolling_mean(8, min_samples=6).over("site"))
    full = full.with_columns(day=local_date(full["time"], tz))
    out = full.group_by("site", "day").agg(
        value=pl.col("m8").max(),
        n_valid=pl.col("m8").is_not_null().sum(),
        published=pl.col("pub8").max(),
    )
    return out.with_columns(
        value=pl.when(pl.col("n_valid") >= math.ceil(COMPLETENESS * 24)).then("value")
    )


def to_periods(frame: pl.DataFrame, meta: SourceMeta, tz: str, options: dict) -> pl.DataFrame:
    """Source frame -> (site, variable, start, last, value, published); variable names gain the
    statistic for sub-daily sources (e.g. `t_max`, `O3_max8h`)."""
    if meta.resolution in ("1d", "1w", "1mo"):
        start = pl.lit(local_date(frame["time"], tz))
        last = {"1d": start, "1w": start + pl.duration(days=6), "1mo": start.dt.month_end()}[
            meta.resolution
        ]
        return frame.select(
            "site", "variable", start=start, last=last, value="value", published="published"
        )
    step_h = _step_hours(meta.resolution)
    parts = []
    for (variable,), part in frame.group_by(["variable"], maintain_order=True):
        stats = stats_for(variable, options)
        plain = [s for s in stats if s != "max8h"]
        if plain:
            day = pl.col("time").dt.convert_time_zone(tz).dt.date()
            agg = (
                part.with_columns(day=day)
                .group_by("site", "day")
                .agg(
                    *[getattr(pl.col("value"), s)().alias(s) for s in plain],
                    n_valid=pl.col("value").is_not_null().sum(),
                    published=pl.col("published").max(),
                )
            )
            complete = pl.col("n_valid") >= COMPLETENESS * _expected_per_day(
                pl.col("day"), tz, step_h
            )
            for s in plain:
                parts.append(
                    agg.select(
                        "site",
                        "day",
                        "published",
                        variable=pl.lit(f"{variable}_{s}"),
                        value=pl.when(complete).then(pl.col(s)),
                    )
                )
        if "max8h" in stats:
            parts.append(
                _max8h(part, step_h, tz).select(
                    "site", "day", "published", variable=pl.lit(f"{variable}_max8h"), value="value"
                )
            )
    out = pl.concat(parts, how="diagonal_relaxed")
    return out.select(
        "site", "variable", start="day", last="day", value="value", published="published"
    )
