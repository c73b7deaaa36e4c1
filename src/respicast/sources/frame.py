"""The source frame (architecture doc §2) and its metadata, plus the checks every reader shares.

Readers only parse their format into a raw long frame (time, site, variable, value, unit,
quality, line); `finalize` turns it into the contract: canonical units, implausible values marked
invalid, duplicated timestamps removed, and `published` computed from the source's latency.
Every repair is logged with its count; anything that cannot be repaired raises naming the file
and line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from respicast.sources.units import MIXING_RATIOS, canonical, implausible, mixing_ratio_scale
from respicast.table import GROUPS

log = logging.getLogger(__name__)

UTC_US = pl.Datetime("us", "UTC")
SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "time": UTC_US,
    "site": pl.Utf8(),
    "variable": pl.Utf8(),
    "value": pl.Float64(),
    "unit": pl.Utf8(),
    "quality": pl.Utf8(),
    "published": UTC_US,
}
QUALITIES = ("valid", "invalid", "missing")
RESOLUTIONS = ("1h", "3h", "1d", "1w", "1mo")


@dataclass(frozen=True)
class Site:
    id: str
    lat: float | None = None
    lon: float | None = None
    type: str = ""  # e.g. 'urbaine/fond', 'trafic', 'synop', 'pollen'


@dataclass(frozen=True)
class Latency:
    """A value becomes known at `hour`:00 local time, `days` days after the last day of its period.

    E.g. hourly air quality validated next day: days=1; Sentinelles week W (Mon-Sun) out on the
    Wednesday after: days=3; hospital counts next morning: days=1, hour=8.
    """

    days: int = 1
    hour: int = 0

    @classmethod
    def from_cfg(cls, cfg: dict | None, where: str) -> Latency:
        cfg = dict(cfg or {})
        unknown = set(cfg) - {"days", "hour"}
        if unknown:
            raise ValueError(f"{where}.latency: unknown keys {sorted(unknown)} (use days, hour)")
        lat = cls(int(cfg.get("days", 1)), int(cfg.get("hour", 0)))
        if lat.days < 0 or not 0 <= lat.hour <= 23:
            raise ValueError(f"{where}.latency: days must be >= 0 and hour in 0..23, got {cfg}")
        return lat

    def published(self, last_day: pl.Expr, tz: str) -> pl.Expr:
        """UTC instant of publication for a period whose last local day is `last_day` (pl.Date)."""
        day = last_day + pl.duration(days=self.days)
        local = day.cast(pl.Datetime("us")) + pl.duration(hours=self.hour)
        return local.dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")


def local_date(times: pl.Series, tz: str) -> pl.Series:
    """Local calendar date of UTC instants, fast on millions of rows: the UTC offset is looked up
    per hour of the covered span (offsets change on hour boundaries) instead of converting each row."""
    us = times.dt.epoch("us").to_numpy()
    if len(us) == 0:
        return pl.Series(times.name, [], dtype=pl.Date)
    hour = 3_600_000_000
    lo = (np.nanmin(us) // hour) * hour if not np.isnan(us).all() else 0
    hi = np.nanmax(us) if not np.isnan(us).all() else 0
    grid = pl.datetime_range(
        datetime.fromtimestamp(lo / 1e6, UTC),
        datetime.fromtimestamp(hi / 1e6, UTC) + timedelta(hours=1),
        "1h",
        eager=True,
        time_zone="UTC",
    )
    offset_us = (
        grid.dt.convert_time_zone(tz).dt.replace_time_zone(None).dt.epoch("us")
        - grid.dt.epoch("us")
    ).to_numpy()
    idx = np.clip((us - lo) // hour, 0, len(offset_us) - 1).astype(np.int64)
    days = (us + offset_us[idx]) // (86_400 * 1_000_000)
    out = pl.Series(times.name, days, dtype=pl.Int32).cast(pl.Date)
    return out.set(times.is_null(), None) if times.null_count() else out


def map_days(days: pl.Series, fn) -> pl.Series:
    """Apply an expression `fn(pl.col('d'))` once per day of the covered range, then look it up per row."""
    d = days.cast(pl.Int32).to_numpy()
    lo, hi = int(d.min()), int(d.max())
    table = pl.DataFrame(
        {"d": pl.Series(np.arange(lo, hi + 1), dtype=pl.Int32).cast(pl.Date)}
    ).select(fn(pl.col("d")))
    return table.to_series()[pl.Series(d - lo)]


def period_last_day(times: pl.Series, resolution: str, tz: str) -> pl.Series:
    """Local date of the last instant of each period starting at `times`."""
    if resolution in ("1d", "1w", "1mo"):
        first = local_date(times, tz)
        return {"1d": first, "1w": first + timedelta(days=6), "1mo": first.dt.month_end()}[
            resolution
        ]
    hours = int(resolution.removesuffix("h"))
    return local_date(times + timedelta(hours=hours) - timedelta(microseconds=1), tz)


@dataclass
class SourceMeta:
    name: str
    kind: str
    resolution: str  # one of RESOLUTIONS
    latency: Latency
    sites: dict[str, Site] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # variable -> canonical unit
    groups: dict[str, str] = field(default_factory=dict)  # variable -> daily-table group
    files: list[str] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)  # what finalize repaired, with counts

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(
                f"source {self.name!r}: resolution {self.resolution!r} not in {RESOLUTIONS}"
            )
        for var, group in self.groups.items():
            if group not in GROUPS:
                raise ValueError(
                    f"source {self.name!r}: variable {var!r} has unknown group {group!r}; known: {GROUPS}"
                )


def local_midnight_utc(date_col: pl.Expr, tz: str) -> pl.Expr:
    """UTC instant of local midnight starting the given date (pl.Date) in `tz`."""
    return (
        date_col.cast(pl.Datetime("us"))
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )


def require_columns(columns: list[str], needed: list[str], file: str, header_line: int = 1) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        found = [c for c in columns if c != "line"]
        raise ValueError(f"{file}:{header_line}: header lacks column(s) {missing}; found {found}")


def log_skipped(df: pl.DataFrame, keep: pl.Expr, what: str, file: str) -> pl.DataFrame:
    """Filter rows by an option (pollutants, stations, taxa, ...), logging how many were left out
    so a row whose key was damaged never disappears without a word."""
    kept = df.filter(keep)
    n = df.height - kept.height
    if n:
        log.info("%s: %d row(s) not read (%s)", file, n, what)
    return kept


def _strictly_ordered(df: pl.DataFrame) -> bool:
    """True when rows are sorted by (site, variable, time) with no repeat, checked on an int64 key."""
    if df.height < 2:
        return True
    code = df.select(
        pl.concat_str("site", "variable", separator="\x1f").cast(pl.Categorical).to_physical()
    ).to_series()
    # categorical codes follow first appearance, so a sorted frame has non-decreasing codes only
    # when that order matches the string order; otherwise we simply take the slow path
    us = df["time"].dt.epoch("us").to_numpy()
    span = int(us.max() - us.min()) + 1
    if span * (int(code.max()) + 1) >= 2**62:
        return False
    key = code.to_numpy().astype(np.int64) * span + (us - us.min())
    if not bool(np.all(np.diff(key) > 0)):
        return False
    names = df.select(
        pl.concat_str("site", "variable", separator="\x1f").unique(maintain_order=True)
    ).to_series()
    return names.is_sorted()


def _at(row: dict, file: str) -> str:
    """`file:line` of a raw row; readers run per file, so rows carry their own `file`."""
    return f"{row.get('file') or file}:{row['line']}"


def _to_canonical_units(raw: pl.DataFrame, file: str) -> pl.DataFrame:
    """One conversion per distinct unit (per gas for ppb/ppm); unknown units raise naming the line."""
    frames = []
    for (unit,), part in raw.group_by(["unit"], maintain_order=True):
        first = part.row(0, named=True)
        if unit is None:
            raise ValueError(f"{_at(first, file)}: empty unit")
        if unit in MIXING_RATIOS:
            for (gas,), gas_part in part.group_by(["variable"], maintain_order=True):
                scale = mixing_ratio_scale(unit, gas, _at(gas_part.row(0, named=True), file))
                frames.append(
                    gas_part.with_columns(value=pl.col("value") * scale, unit=pl.lit("ug/m3"))
                )
            continue
        canon, scale, offset = canonical(unit, _at(first, file))
        frames.append(part.with_columns(value=pl.col("value") * scale + offset, unit=pl.lit(canon)))
    return pl.concat(frames)


def _drop_duplicates(df: pl.DataFrame, meta: SourceMeta, file: str) -> pl.DataFrame:
    """Duplicated (site, variable, time): keep a valid row, then the first in file order; log the
    dropped ones against their own file and line."""
    keys = ["site", "variable", "time"]
    if _strictly_ordered(df):  # fast path: clean files are already ordered and unique
        return df
    # file_idx: position of the row's file in the configured order (set by read_source)
    in_file_order = ["file_idx", "line"] if "file_idx" in df.columns else ["line"]
    df = df.sort([*keys, pl.col("quality") != "valid", *in_file_order])
    n_dup = df.height - df.select(keys).unique().height
    if not n_dup:
        return df
    dropped = df.filter(~pl.struct(keys).is_first_distinct())
    by_file = (
        dropped.group_by("file", maintain_order=True).agg(pl.len(), pl.col("line").min())
        if "file" in dropped.columns
        else pl.DataFrame({"file": [file], "len": [n_dup], "line": [dropped["line"].min()]})
    )
    for f, n, line in by_file.iter_rows():
        log.warning(
            "%s: %d duplicated (time, site, variable) row(s) dropped, first at line %s", f, n, line
        )
    meta.repairs["duplicates_dropped"] = meta.repairs.get("duplicates_dropped", 0) + n_dup
    return df.unique(keys, keep="first", maintain_order=True)


def finalize(raw: pl.DataFrame, meta: SourceMeta, tz: str, file: str) -> pl.DataFrame:
    """Raw long frame (+ `line`, optional `file`) -> source frame; logs and records every repair
    in meta.repairs."""
    if raw.height == 0:
        raise ValueError(f"{file}: no data rows (source {meta.name!r})")
    df = _to_canonical_units(raw, file).with_columns(
        quality=pl.when(pl.col("value").is_null())
        .then(pl.lit("missing"))
        .otherwise(pl.col("quality"))
    )
    bad_quality = df.filter(~pl.col("quality").is_in(QUALITIES))
    if bad_quality.height:
        raise ValueError(
            f"{_at(bad_quality.row(0, named=True), file)}: quality "
            f"{bad_quality['quality'][0]!r} not in {QUALITIES}"
        )

    impossible = implausible()
    n_bad = df.select((impossible & (pl.col("quality") == "valid")).sum()).item()
    if n_bad:
        first = df.filter(impossible).row(0, named=True)
        log.warning(
            "%s: %d implausible value(s) set invalid (first: line %s, %s=%s %s)",
            first.get("file") or file,
            n_bad,
            first["line"],
            first["variable"],
            first["value"],
            first["unit"],
        )
        meta.repairs["implausible_set_invalid"] = (
            meta.repairs.get("implausible_set_invalid", 0) + n_bad
        )
        df = df.with_columns(
            quality=pl.when(impossible).then(pl.lit("invalid")).otherwise("quality")
        )
    # invalid values never reach harmonisation as numbers
    df = df.with_columns(value=pl.when(pl.col("quality") == "valid").then("value"))
    df = _drop_duplicates(df, meta, file)

    meta.units.update(dict(df.select("variable", "unit").unique().iter_rows()))
    last = period_last_day(df["time"], meta.resolution, tz)
    out = df.with_columns(published=map_days(last, lambda d: meta.latency.published(d, tz)))
    return out.select(list(SOURCE_SCHEMA)).cast(SOURCE_SCHEMA)


def empty_source_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=SOURCE_SCHEMA)
