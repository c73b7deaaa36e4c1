"""build_daily_table: data config -> DailyTable (sources -> daily, spatial, as-of, fill, calendar)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl

from respicast.harmonize import cache
from respicast.harmonize.asof import align
from respicast.harmonize.calendar import calendar_frame
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import Area, combine_sites, load_zones, make_area, site_weights
from respicast.harmonize.target import hospital_target, source_target
from respicast.harmonize.temporal import to_periods
from respicast.harmonize.weekly import step_days, to_weekly
from respicast.sources.registry import read_source, resolve_files
from respicast.table import Column, DailyTable
from respicast.utils.config import as_dict

log = logging.getLogger(__name__)
TARGET = "admissions"


def column_name(source: str, variable: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", f"{source}_{variable}".lower()).strip("_")


def _world_dir(cfg: dict) -> str | None:
    """Simulated data: make sure the world folder matches data.world (simulated on first use)."""
    world = cfg.get("world") or {}
    if not world.get("dir"):
        return None
    # lazy: only simulated data needs the simulator
    from respicast.world.config import load_world_config
    from respicast.world.simulate import ensure_world

    spec = world.get("config") or "toulouse"
    world_cfg = load_world_config(spec) if isinstance(spec, str) else dict(spec)
    if world.get("seed") is not None:
        world_cfg["seed"] = int(world["seed"])
    return str(ensure_world(world_cfg, world["dir"], regenerate=world.get("regenerate", False)))


def _zones(cfg: dict, world_dir: str | None):
    path = (cfg.get("spatial") or {}).get("zones_csv") or (
        str(Path(world_dir) / "zones.csv") if world_dir else None
    )
    return (load_zones(path), path) if path else (None, None)


def _input_files(cfg: dict, world_dir: str | None, zones_path: str | None) -> list[str]:
    files = [
        str(f)
        for name, e in (cfg.get("sources") or {}).items()
        for f in resolve_files(name, e, world_dir)
    ]
    tgt = cfg.get("target") or {}
    if tgt.get("source", "hospital") == "hospital" and world_dir:
        files.append(tgt.get("db") or str(Path(world_dir) / "hospital" / "stays.duckdb"))
    return files + ([zones_path] if zones_path else [])


def build_daily_table(data_cfg) -> DailyTable:
    """Harmonise the configured sources into the daily table of one area (see module docs)."""
    cfg = as_dict(data_cfg)
    name = str(cfg.get("name", "data"))
    world_dir = _world_dir(cfg)
    zones, zones_path = _zones(cfg, world_dir)
    key = cache.cache_key(_input_files(cfg, world_dir, zones_path), cfg)
    cache_dir = cfg.get("cache_dir")
    if cache_dir:
        hit = cache.load(cache_dir, name, key)
        if hit is not None:
            return hit
    weekly = step_days(cfg) == 7  # an unknown data.resolution fails before any reading
    table = _build(cfg, name, world_dir, zones)
    if weekly:
        table = to_weekly(table, f"data {name} (resolution 1w)")
    if cache_dir:
        path = cache.save(table, cache_dir, name, key)
        table.meta["cache"] = {"path": str(path), "reused": False}
    return table


def _read_sources(
    sources: dict, tgt: dict, tz: str, world_dir: str | None, step: int = 1
) -> tuple[dict, pl.DataFrame | None]:
    """{name: (frame, meta, options)} of the covariate sources, and the target when one holds it."""
    tgt_source = tgt.get("source", "hospital")
    read = {}
    target = None
    for src_name, entry in sources.items():
        frame, meta = read_source(src_name, entry, tz, world_dir)
        if src_name == tgt_source:
            column = tgt.get("column")
            if not column:
                raise ValueError(
                    f"data.target.column is required when the target comes from source {src_name!r}"
                )
            target = source_target(frame, column, src_name, tz, step)
            frame = frame.filter(pl.col("variable") != column)
            if frame.height == 0:  # a table holding only the target: no covariate to place
                log.info("source %s holds only the target column %r", src_name, column)
                continue
        read[src_name] = (frame, meta, dict(entry.get("options") or {}))
    return read, target


def _with_calendar(
    table: pl.DataFrame, dates: pl.Series, cal_cfg: dict, columns: list[Column]
) -> pl.DataFrame:
    """``table`` joined with the calendar channels; their Columns are appended to ``columns``."""
    cal = calendar_frame(
        dates,
        cal_cfg.get("country", "FR"),
        cal_cfg.get("school_zone", "C"),
        cal_cfg.get("school_return_weeks", 0),
    )
    table = table.join(cal, on="date", how="left", maintain_order="left")
    columns += [
        Column(c, "calendar", known_future=True, source="calendar")
        for c in cal.columns
        if c != "date"
    ]
    return table


def _with_flag(c: Column, filled_cols: list[str]) -> Column:
    """``c`` naming its ``{name}_filled`` flag column when it is one of the filled columns."""
    return Column(
        c.name,
        c.group,
        c.known_future,
        c.unit,
        c.source,
        f"{c.name}_filled" if c.name in filled_cols else None,
    )


def _build(cfg: dict, name: str, world_dir: str | None, zones) -> DailyTable:
    tz = cfg.get("timezone", "Europe/Paris")
    spatial = cfg.get("spatial") or {}
    area = make_area(spatial.get("level", "city"), spatial.get("zone"), zones)
    zone = spatial.get("zone") if spatial.get("level") == "zone" else None
    tgt = dict(cfg.get("target") or {"source": "hospital"})
    sources = cfg.get("sources") or {}
    tgt_source = tgt.get("source", "hospital")
    if tgt_source != "hospital" and tgt_source not in sources:
        raise ValueError(
            f"data.target.source={tgt_source!r} is neither 'hospital' nor a key of data.sources {sorted(sources)}"
        )

    read, target = _read_sources(sources, tgt, tz, world_dir, step_days(cfg))
    if target is None:
        target = hospital_target(tgt, world_dir, zone, cfg.get("hospital"))
    target_name = tgt.get("name") or (tgt.get("column") if tgt_source != "hospital" else TARGET)
    dates = target["date"]
    table = pl.DataFrame({"date": dates, target_name: target["count"]})

    features, columns, meta_sources = feature_columns(
        read, dates, area, spatial, tz, cfg.get("weekly_to_daily", "step")
    )
    table = table.hstack(features.drop("date"))

    table = _with_calendar(table, dates, cfg.get("calendar") or {}, columns)
    fill = cfg.get("fill") or {}
    filled_cols = [c.name for c in columns if c.group != "calendar"]
    table, filled, unfilled = fill_missing(
        table,
        filled_cols,
        fill.get("method", "locf_then_seasonal"),
        int(fill.get("max_locf_days", 3)),
    )
    columns = [_with_flag(c, filled_cols) for c in columns]
    n = table.height
    meta = {
        "name": name,
        "timezone": tz,
        "period": [str(dates.min()), str(dates.max())],
        "sources": meta_sources,
        "target": {
            "source": tgt_source,
            "column": target_name,
            "missing_days": int(target["count"].null_count()),
        },
        "fill_counts": filled,
        "unfilled_counts": unfilled,
        "missing_fraction": {c: float(table[f"{c}_filled"].sum()) / n for c in filled_cols},
        "world_dir": world_dir,
        "area": area.name,
    }
    return DailyTable(
        table,
        target_name,
        columns,
        area=area.name,
        target_latency_days=int(tgt.get("latency_days", 1)),
        meta=meta,
    )


def feature_columns(
    read: dict, dates: pl.Series, area: Area, spatial: dict, tz: str, weekly_to_daily: str
) -> tuple[pl.DataFrame, list[Column], dict]:
    """{name: (source frame, SourceMeta, options)} -> (date + feature columns, Columns, per-source info)."""
    table, columns, info = pl.DataFrame({"date": dates}), [], {}
    for src_name, (frame, meta, options) in read.items():
        cols, info[src_name] = source_columns(
            src_name, frame, meta, options, area, spatial, dates, tz, weekly_to_daily
        )
        table = table.with_columns([values.alias(col.name) for col, values in cols])
        columns += [col for col, _ in cols]
    return table, columns, info


def missing_after_start(name: str, values: pl.Series, dates: pl.Series) -> int:
    """Days without a value after a column's first one (a missing week of a weekly source gives
    7): logged with the first such day, so a gap is visible before filling hides it."""
    known = values.is_not_null()
    after = known.cum_sum() > 0
    gap = after & ~known
    n = int(gap.sum())
    if n:
        first = dates.filter(gap)[0]
        log.info(
            "%s: %d day(s) without a value after the first one (first %s), left missing "
            "before filling (flagged in %s_filled)",
            name,
            n,
            first,
            name,
        )
    return n


def source_columns(
    src_name, frame, meta, options, area: Area, spatial: dict, dates, tz, weekly_to_daily
):
    """One source frame -> [(Column, values on `dates`)] (daily stats, spatial, as-of) + meta info."""
    periods = to_periods(frame, meta, tz, options)
    resolution = "1d" if meta.resolution.endswith("h") else meta.resolution
    present = set(frame["site"].unique().to_list())
    weights = site_weights(
        {s: meta.sites[s] for s in present},
        area,
        spatial.get("method", "idw"),
        src_name,
        spatial.get("site_type"),
    )
    combined = combine_sites(periods, weights)
    out, missing = [], {}
    for variable in sorted(combined["variable"].unique().to_list()):
        series = combined.filter(pl.col("variable") == variable)
        values = align(series, dates, resolution, meta.latency, tz, weekly_to_daily)
        base = variable if variable in meta.groups else variable.rsplit("_", 1)[0]
        name = column_name(src_name, variable)
        missing[name] = missing_after_start(name, values, dates)
        out.append(
            (
                Column(
                    name,
                    meta.groups[base],
                    unit=meta.units.get(base, ""),
                    source=src_name,
                ),
                values,
            )
        )
    info = {
        "kind": meta.kind,
        "files": meta.files,
        "resolution": meta.resolution,
        "period": [str(frame["time"].min()), str(frame["time"].max())],
        "rows": frame.height,
        "sites": {
            s: [meta.sites[s].lat, meta.sites[s].lon, meta.sites[s].type] for s in sorted(present)
        },
        "weights": weights,
        "latency": {"days": meta.latency.days, "hour": meta.latency.hour},
        "repairs": meta.repairs,
        "missing_days": missing,
    }
    return out, info
