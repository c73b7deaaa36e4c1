"""data.resolution 1w: the daily table resampled to ISO weeks (Monday-Sunday), dated by Sunday.

A week's row holds what is known at the end of its Sunday, the forecast origin: each feature is
the mean of the week's daily as-of values (each published by its own day, so by the Sunday), a
fill mask the share of filled days, a calendar channel its mean over the week (the share of
holiday days; the day-of-week harmonics, constant over a week, are dropped). The target is a
weekly source's value for that week (its one dated day), or the sum of a daily target's 7 days,
missing unless all 7 are observed (logged). Weeks the period only partly covers are dropped
(logged). The target latency becomes whole weeks: a count published d days after its week's end
is unknown at that Sunday and known a week later when 1 ≤ d ≤ 7.
"""

from __future__ import annotations

import logging
import math

import polars as pl

from respicast.table import Column, DailyTable

log = logging.getLogger(__name__)

RESOLUTIONS = {"1d": 1, "1w": 7}
DAY_OF_WEEK = ("dow_sin", "dow_cos")


def step_days(data_cfg) -> int:
    """Days per row of data.resolution; an unknown value fails naming the key."""
    res = str((data_cfg.get("resolution") if hasattr(data_cfg, "get") else None) or "1d")
    if res not in RESOLUTIONS:
        raise ValueError(f"data.resolution={res!r}: choose one of {sorted(RESOLUTIONS)}")
    return RESOLUTIONS[res]


def _weekly_target(frame: pl.DataFrame, target: str, where: str) -> pl.Expr:
    """A weekly source (≤ 1 dated day a week) keeps its value; a daily one sums complete weeks."""
    per_week = frame.group_by("week_end").agg(pl.col(target).is_not_null().sum().alias("n"))
    if int(per_week["n"].max() or 0) <= 1:
        return pl.col(target).drop_nulls().first().alias(target)
    partial = int(((per_week["n"] > 0) & (per_week["n"] < 7)).sum())
    if partial:
        log.warning(
            "%s: %d week(s) with 1-6 observed target days left missing (a weekly sum needs all 7)",
            where,
            partial,
        )
    col = pl.col(target)
    return pl.when(col.is_not_null().sum() == 7).then(col.sum()).alias(target)


def to_weekly(table: DailyTable, where: str) -> DailyTable:
    """The weekly table of a daily one (see the module docstring)."""
    if table.step_days != 1:
        raise ValueError(f"{where}: to_weekly needs a daily table, got steps of {table.step_days}")
    frame = table.frame.with_columns(
        pl.col(table.target).cast(pl.Float64).fill_nan(None),  # NaN is missing, as null
        week_end=pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday()),
    )
    days = frame.group_by("week_end").len()
    partial = days.filter(pl.col("len") < 7)
    if partial.height:
        log.info(
            "%s: %d partial week(s) at the ends of the period dropped (%s)",
            where,
            partial.height,
            ", ".join(str(d) for d in partial.sort("week_end")["week_end"].to_list()),
        )
    frame = frame.join(partial.select("week_end"), on="week_end", how="anti")
    if frame.height == 0:
        raise ValueError(f"{where}: no complete ISO week in {table.frame.height} day(s)")
    columns = [c for c in table.columns if c.name not in DAY_OF_WEEK]
    values = [c.name for c in columns] + [c.mask for c in columns if c.mask]
    weekly = (
        frame.group_by("week_end")
        .agg(
            _weekly_target(frame, table.target, where),
            *[pl.col(v).cast(pl.Float64).mean() for v in values],
        )
        .sort("week_end")
        .rename({"week_end": "date"})
    )
    latency = math.ceil(table.target_latency_days / 7)
    return DailyTable(
        weekly.select("date", table.target, *values),
        table.target,
        [Column(c.name, c.group, c.known_future, c.unit, c.source, c.mask) for c in columns],
        area=table.area,
        target_latency_days=latency,
        meta={**table.meta, "resolution": "1w", "target_latency_weeks": latency},
        step_days=7,
    )
