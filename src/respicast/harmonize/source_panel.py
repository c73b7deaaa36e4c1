"""The panel of ``data.series`` when the target is a column of a source (``data.target.source``).

Key mapping: the keys are the source's site column(s). The target source reads one site per row
from the file's column named like the key (``options.site_column: dep`` with ``series: [dep]``),
or from several columns (``site_column: [region, age]`` with ``series: [region, age]``: the site
is their values joined by "|", split back into one key column each); key values are the sites as
written in the file (strings, so "01" and "2A" keep their form).

Per series (one site):
- target: the daily count column ``data.target.column`` of that site's rows (rows of one day are
  summed, a day with a missing row value is missing), on a consecutive daily grid from its first
  to its last row. Missing days stay missing, as in the single-series path (source_target keeps
  them, the windows treat them as unknown): never zero, never filled; logged with their count.
  A series zero on every observed day is left out (logged), as the hospital panel leaves out a
  selection without any admission; a series with no observed day at all is an error.
- predictors: the other configured columns of the target source, from that site's own rows (its
  own covariates); the other sources of ``data.sources`` are area-wide (placed on the area of
  ``data.spatial`` exactly as build.py does for one area) and the same for every series; the
  calendar channels of ``data.calendar`` (one country and school zone for every series). Feature
  columns are filled per series (``data.fill``), their ``_filled`` masks kept.
- static: the key values only (the data module one-hot encodes them): the file carries no
  attribute of a site, and one derived from the target would see the test period.

The target source is daily, or weekly with data.resolution 1w (each series' frame is then turned
into ISO weeks by harmonize.weekly); the generic reader already refuses a column mixing daily and
weekly rows, naming the file, column and site. Readers with a fixed site column (Sentinelles:
geo_insee) take that name as the key.
"""

from __future__ import annotations

import logging

import polars as pl

from respicast.dataset.panel import PanelTable
from respicast.harmonize.build import (
    _read_sources,
    _with_calendar,
    _with_flag,
    _world_dir,
    _zones,
    feature_columns,
    source_columns,
)
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import make_area
from respicast.harmonize.weekly import step_days, to_weekly
from respicast.sources.frame import local_date
from respicast.sources.registry import read_source
from respicast.table import Column, DailyTable

log = logging.getLogger(__name__)
# readers whose site is a fixed column of their format (generic tables name it: site_column)
READER_SITES = {"sentinelles": "geo_insee"}


def _target_entry(cfg: dict, keys: list[str]) -> tuple[str, dict, str]:
    """(source name, its entry, target column); the key must be the source's site column."""
    tgt = dict(cfg.get("target") or {})
    name, sources = tgt.get("source"), cfg.get("sources") or {}
    if name not in sources:
        raise ValueError(
            f"data.target.source={name!r} is not a key of data.sources {sorted(sources)}"
        )
    if not tgt.get("column"):
        raise ValueError(
            f"data.target.column is required when the target comes from source {name!r}"
        )
    entry = sources[name]
    options = entry.get("options") or {}
    site_col = options.get("site_column") or READER_SITES.get(entry.get("kind"))
    cols = [site_col] if isinstance(site_col, str) else list(site_col or [])
    if cols != list(keys):
        want = list(keys) if len(keys) > 1 else keys[0]
        raise ValueError(
            f"data.series={list(keys)} is not the site column(s) of target source {name!r}: "
            f"set data.sources.{name}.options.site_column: {want} (it is {site_col!r})"
        )
    return name, entry, str(tgt["column"])


def _series_targets(
    frame: pl.DataFrame, column: str, key: str, tz: str, where: str, step: int = 1
) -> pl.DataFrame:
    """(key, date, count) of every site on its own consecutive daily grid; missing days null.
    With ``step`` 7 (data.resolution 1w) the grid covers whole ISO weeks and the weeks without
    a value are what is logged (harmonize.weekly takes each week's value)."""
    part = frame.filter(pl.col("variable") == column)
    if part.height == 0:
        raise ValueError(f"{where}: data.target.column={column!r} has no rows")
    day = pl.lit(local_date(part["time"], tz)).alias("date")
    daily = part.group_by(pl.col("site").alias(key), day).agg(
        count=pl.when(pl.col("value").is_not_null().all()).then(pl.col("value").sum())
    )
    span = daily.group_by(key).agg(lo=pl.col("date").min(), hi=pl.col("date").max())
    if step == 7:  # Monday of the first week .. Sunday of the last
        span = span.with_columns(
            lo=pl.col("lo") - pl.duration(days=pl.col("lo").dt.weekday() - 1),
            hi=pl.col("hi") + pl.duration(days=7 - pl.col("hi").dt.weekday()),
        )
    grid = span.select(key, date=pl.date_ranges("lo", "hi", "1d")).explode("date")
    out = grid.join(daily, on=[key, "date"], how="left").sort(key, "date")
    seen = out.group_by(key).agg(n=pl.col("count").count()).filter(pl.col("n") == 0).sort(key)
    if seen.height:
        raise ValueError(
            f"{where}: series {key}={seen[key][0]} has no observed {column!r} "
            f"({seen.height} such series: {seen[key].to_list()[:10]})"
        )
    out = _without_empty(out, key, column)
    if step == 7:
        weeks = out.group_by(key, pl.col("date").dt.truncate("1w")).agg(n=pl.col("count").count())
        missing = weeks.filter(pl.col("n") == 0)
        if missing.height:
            log.warning(
                "target %s: %d ISO week(s) without a value in %d series, kept as missing",
                column,
                missing.height,
                missing[key].n_unique(),
            )
        return out
    missing = out.filter(pl.col("count").is_null())
    if missing.height:
        per = missing.group_by(key).len().sort("len", descending=True)
        log.warning(
            "target %s: %d missing day(s) in %d series (most: %s=%s, %d), kept as missing "
            "(not zero, not filled)",
            column,
            missing.height,
            per.height,
            key,
            per[key][0],
            per["len"][0],
        )
    return out


def _without_empty(targets: pl.DataFrame, key: str, column: str) -> pl.DataFrame:
    """Leave out a series whose every observed day is zero (as the hospital panel leaves out a
    selection without any admission): it has no peak to learn or score; logged with its count."""
    total = targets.group_by(key).agg(pl.col("count").sum())
    empty = total.filter(pl.col("count") == 0).sort(key)[key].to_list()
    if not empty:
        return targets
    if len(empty) == total.height:
        raise ValueError(f"data.target.column={column!r} is zero on every day of every series")
    log.warning(
        "target %s: %d series zero on every day left out: %s=%s", column, len(empty), key, empty
    )
    return targets.filter(~pl.col(key).is_in(empty))


def _own_columns(frame, meta, options, name, dates, tz, w2d) -> tuple[pl.DataFrame, list]:
    """A site's own covariates of the target source on its dates (one site: weight 1)."""
    cols, _ = source_columns(name, frame, meta, options, None, {"method": "mean"}, dates, tz, w2d)
    table = pl.DataFrame({"date": dates}).with_columns([v.alias(c.name) for c, v in cols])
    return table, [c for c, _ in cols]


def _area_features(cfg: dict, read: dict, dates: pl.Series, tz: str, world_dir: str | None):
    """Area-wide covariates of the other sources and the calendar on ``dates`` (as build.py)."""
    zones, _ = _zones(cfg, world_dir)
    spatial = cfg.get("spatial") or {}
    area = make_area(spatial.get("level", "city"), spatial.get("zone"), zones)
    w2d = cfg.get("weekly_to_daily", "step")
    table, columns, info = feature_columns(read, dates, area, spatial, tz, w2d)
    table = _with_calendar(table, dates, cfg.get("calendar") or {}, columns)
    return table, columns, info, area.name


def _target_source(cfg: dict, keys: list[str], tz: str, world_dir: str | None):
    """(per-series targets, the target source's other variables, its meta, options, name)."""
    name, entry, column = _target_entry(cfg, keys)
    frame, meta = read_source(name, entry, tz, world_dir)
    where = f"data.sources.{name} ({', '.join(meta.files)})"
    step = step_days(cfg)
    allowed = ("1d",) if step == 1 else ("1d", "1w")
    if meta.resolution not in allowed:
        raise ValueError(
            f"{where}: a panel of data.resolution {'1d' if step == 1 else '1w'} needs a target "
            f"source of resolution {' or '.join(allowed)}, got {meta.resolution}"
        )
    targets = _series_targets(frame, column, _site_key(keys), tz, where, step)
    own = frame.filter(pl.col("variable") != column)
    return targets, own, meta, dict(entry.get("options") or {}), name


class _SeriesBuilder:
    """Turns one series' target rows into its frame: own covariates, area-wide ones, filled."""

    def __init__(self, cfg: dict, own, meta, options, src_name, area_table, area_cols, tz):
        self.cfg, self.own, self.meta, self.options = cfg, own, meta, options
        self.src_name, self.area_table, self.area_cols, self.tz = (
            src_name,
            area_table,
            area_cols,
            tz,
        )
        self.columns: list[Column] | None = None
        self.fill_counts: dict[str, int] = {}
        self.unfilled: dict[str, int] = {}

    def _check_columns(self, cols: list[Column], key: str, site: str) -> None:
        if self.columns is None:
            self.columns = cols
        elif [c.name for c in cols] != [c.name for c in self.columns]:
            raise ValueError(
                f"data.sources.{self.src_name}: series {key}={site} has predictor columns "
                f"{[c.name for c in cols]}, the first series {[c.name for c in self.columns]}"
            )

    def frame(self, part: pl.DataFrame, key: str, site: str, target: str) -> pl.DataFrame:
        table = part.select("date", pl.col("count").alias(target))
        cols: list[Column] = []
        mine = self.own.filter(pl.col("site") == site)
        if mine.height:
            w2d = self.cfg.get("weekly_to_daily", "step")
            args = (mine, self.meta, self.options, self.src_name, table["date"], self.tz, w2d)
            own_table, cols = _own_columns(*args)
            table = table.join(own_table, on="date", how="left", maintain_order="left")
        table = table.join(self.area_table, on="date", how="left", maintain_order="left")
        cols = [*cols, *self.area_cols]
        self._check_columns(cols, key, site)
        fill = self.cfg.get("fill") or {}
        table, filled, unfilled = fill_missing(
            table,
            [c.name for c in cols if c.group != "calendar"],
            fill.get("method", "locf_then_seasonal"),
            int(fill.get("max_locf_days", 3)),
            log_counts=False,
        )
        for c, n in filled.items():
            self.fill_counts[c] = self.fill_counts.get(c, 0) + int(n)
            self.unfilled[c] = self.unfilled.get(c, 0) + int(unfilled[c])
        return table.with_columns(pl.lit(site).alias(key))

    def log_fill(self, n_series: int) -> None:
        """One line per filled column, summed over the series (fill_missing would log each)."""
        for c, n in self.fill_counts.items():
            if n or self.unfilled[c]:
                log.info(
                    "fill %s over %d series: %d value(s) filled, %d left missing (before any "
                    "known value)",
                    c,
                    n_series,
                    n,
                    self.unfilled[c],
                )

    def flagged_columns(self) -> list[Column]:
        filled = [c.name for c in self.columns or [] if c.group != "calendar"]
        return [_with_flag(c, filled) for c in self.columns or []]


def build_source_panel(cfg: dict, keys: list[str]) -> PanelTable:
    """Harmonise ``data.series`` of a source target into one PanelTable (see module docs)."""
    step = step_days(cfg)
    tz = cfg.get("timezone", "Europe/Paris")
    tgt = dict(cfg.get("target") or {})
    key, target_name = _site_key(keys), str(tgt.get("name") or tgt.get("column"))
    world_dir = _world_dir(cfg)
    targets, own, meta, options, src_name = _target_source(cfg, keys, tz, world_dir)
    others = {k: v for k, v in (cfg.get("sources") or {}).items() if k != src_name}
    read, _ = _read_sources(others, {"source": None}, tz, world_dir)
    days = pl.date_range(targets["date"].min(), targets["date"].max(), "1d", eager=True)
    area_table, area_cols, info, area = _area_features(cfg, read, days.alias("date"), tz, world_dir)
    builder = _SeriesBuilder(cfg, own, meta, options, src_name, area_table, area_cols, tz)
    frames = [
        builder.frame(part, key, site, target_name)
        for (site,), part in targets.group_by([key], maintain_order=True)
    ]
    builder.log_fill(len(frames))
    columns = builder.flagged_columns()
    latency = int(tgt.get("latency_days", 1))
    if step == 7:  # each series' daily frame to ISO weeks (harmonize.weekly)
        frames, latency, columns = _weekly(frames, key, target_name, columns, latency)
    frame = _split_site(pl.concat(frames, how="vertical_relaxed"), key, keys)
    head = [*keys, "date", target_name]
    frame = frame.select(*head, *[c for c in frame.columns if c not in head])
    log.info(
        "panel %s: %d series of %s from source %s", cfg.get("name"), len(frames), key, src_name
    )
    return PanelTable(
        frame=frame,
        target=target_name,
        columns=columns,
        keys=list(keys),
        static=frame.select(keys).unique(maintain_order=True),
        target_latency_days=latency,
        step_days=step,
        meta={
            "name": str(cfg.get("name", "data")),
            "timezone": tz,
            "period": [str(days.min()), str(days.max())],
            "series": list(keys),
            "n_series": len(frames),
            "sources": info,
            "target": {
                "source": src_name,
                "column": target_name,
                "files": meta.files,
                "missing_days": int(targets["count"].null_count()),
            },
            "fill_counts": builder.fill_counts,
            "area": area,
            "world_dir": world_dir,
        },
    )


def _site_key(keys: list[str]) -> str:
    """The column the sites are read into: the key itself, or one joined column for several."""
    return keys[0] if len(keys) == 1 else "|".join(keys)


def _split_site(frame: pl.DataFrame, key: str, keys: list[str]) -> pl.DataFrame:
    """Several keys: the joined site ("84|65+") split back into one column per key."""
    if len(keys) == 1:
        return frame
    parts = pl.col(key).str.split_exact("|", len(keys) - 1)
    return frame.with_columns(
        *[parts.struct.field(f"field_{i}").alias(k) for i, k in enumerate(keys)]
    ).drop(key)


def _weekly(frames: list[pl.DataFrame], key: str, target: str, columns, latency: int):
    """Each series' daily frame as ISO weeks; the weekly latency and columns."""
    out, weekly = [], None
    for f in frames:
        site = f[key][0]
        daily = DailyTable(f.drop(key), target, columns, target_latency_days=latency)
        weekly = to_weekly(daily, f"series {key}={site}")
        out.append(weekly.frame.with_columns(pl.lit(site).alias(key)))
    return out, weekly.target_latency_days, weekly.columns


__all__ = ["build_source_panel"]
