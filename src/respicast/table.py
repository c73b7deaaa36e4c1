"""The daily table: the one contract between harmonisation and the dataset.

Every feature column is *as-of*: its value on the row of day s is what was published by the end of
day s (publication latency already applied), so a window ending at a forecast origin is leak-free
by construction. The target column holds the true count of each day; the dataset lags the history
by ``target_latency_days``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

GROUPS: tuple[str, ...] = ("history", "pollution", "pollen", "epidemics", "weather", "calendar")


@dataclass(frozen=True)
class Column:
    """One feature column of the daily table."""

    name: str
    group: str
    known_future: bool = False  # calendar-like: known for t+1..t+H at origin t
    unit: str = ""
    source: str = ""
    mask: str | None = None  # name of the Boolean column that flags filled values

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"column {self.name!r}: unknown group {self.group!r}; known: {GROUPS}")


@dataclass
class DailyTable:
    """Consecutive periods (no gaps) of one area: a target count and tagged features. A period is
    a day, or an ISO week (``step_days`` 7, data.resolution 1w) dated by its Sunday."""

    frame: pl.DataFrame  # 'date' (pl.Date) + target + feature columns + mask columns
    target: str
    columns: list[Column]
    area: str = "city"
    target_latency_days: int = 1
    meta: dict = field(default_factory=dict)  # sources, fill counts, world dir, ...
    step_days: int = 1  # days between rows: 1 daily, 7 weekly

    def __post_init__(self) -> None:
        missing = [
            c for c in ["date", self.target, *self.feature_names] if c not in self.frame.columns
        ]
        if missing:
            raise ValueError(f"daily table lacks columns {missing}")
        dates = self.frame["date"]
        if dates.dtype != pl.Date:
            raise TypeError(f"daily table 'date' must be pl.Date, got {dates.dtype}")
        steps = dates.diff().drop_nulls().dt.total_days()
        bad = int((steps != self.step_days).sum())
        if bad:
            what = "days" if self.step_days == 1 else f"periods of {self.step_days} days"
            raise ValueError(f"table dates must be consecutive {what}; {bad} gaps/duplicates")

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def select_groups(self, groups: list[str] | None) -> DailyTable:
        """Keep only the feature columns of the given groups (None keeps all)."""
        if groups is None:
            return self
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"data.groups: unknown group(s) {unknown}; known: {list(GROUPS)}")
        cols = [c for c in self.columns if c.group in groups]
        keep = ["date", self.target, *[c.name for c in cols], *[c.mask for c in cols if c.mask]]
        return DailyTable(
            frame=self.frame.select(keep),
            target=self.target,
            columns=cols,
            area=self.area,
            target_latency_days=self.target_latency_days,
            meta=self.meta,
            step_days=self.step_days,
        )
