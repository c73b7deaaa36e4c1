"""The panel of ``data.series``: one series per zone x outcome x age band of the hospital counts.

Predictors are those of the series' zone, aligned by the configured spatial method (each zone's
daily table is harmonised once, cached like any daily table); each series' target is its own
slice of the stays extraction. A selection with no admission at all (an age band an outcome
never reaches) is left out, logged with its count.
"""

from __future__ import annotations

import copy
import logging

import polars as pl

from respicast.dataset.panel import PanelTable, with_total
from respicast.harmonize.build import _world_dir, _zones, build_daily_table
from respicast.harmonize.target import counts_to_target, hospital_counts
from respicast.utils.config import as_dict

log = logging.getLogger(__name__)

SERIES_KEYS = ("zone", "outcome", "age_band")
UNKNOWN_ZONE = "unknown"  # the extraction's zone of stays whose postcode is in no zone


def series_keys(data_cfg) -> list[str]:
    """data.series as a list of keys (empty: one series, today's single table); a bad key fails
    naming the key and the ones allowed."""
    keys = (data_cfg.get("series") if hasattr(data_cfg, "get") else None) or []
    keys = [keys] if isinstance(keys, str) else [str(k) for k in keys]
    source = ((data_cfg.get("target") or {}).get("source") or "hospital") if keys else "hospital"
    unknown = [k for k in keys if k not in SERIES_KEYS]
    if unknown and source == "hospital":
        raise ValueError(
            f"data.series={keys}: unknown key(s) {unknown}; a panel of hospital counts is keyed "
            f"by a subset of {list(SERIES_KEYS)}"
        )
    if len(set(keys)) != len(keys):
        raise ValueError(f"data.series={keys}: a key is repeated")
    return keys


def _zone_table(cfg: dict, zone: str | None):
    """The daily table of one zone (predictors aligned to it), or of the whole area."""
    if zone is None or zone == UNKNOWN_ZONE:
        return build_daily_table({**cfg, "series": None})
    zcfg = copy.deepcopy(cfg)
    zcfg["series"] = None
    zcfg["name"] = f"{cfg.get('name', 'data')}__zone_{zone}"
    zcfg["spatial"] = {**(cfg.get("spatial") or {}), "level": "zone", "zone": str(zone)}
    return build_daily_table(zcfg)


def build_panel_table(data_cfg) -> PanelTable:
    """Harmonise ``data.series`` of the hospital target into one PanelTable (see module docs)."""
    cfg = as_dict(data_cfg)
    keys = series_keys(cfg)
    if not keys:
        raise ValueError("build_panel_table: data.series is empty; use build_daily_table")
    tgt = dict(cfg.get("target") or {})
    if tgt.get("source", "hospital") != "hospital":
        # a source file whose rows carry the key columns (e.g. one row per departement and day)
        from respicast.harmonize.source_panel import build_source_panel

        return add_totals(build_source_panel(cfg, keys), cfg.get("totals"))
    world_dir = _world_dir(cfg)
    zones, _ = _zones(cfg, world_dir)
    if "zone" in keys and zones is None:
        raise ValueError(
            "data.series has 'zone' but no zones.csv was found (world dir or data.spatial.zones_csv)"
        )
    counts, where = hospital_counts(tgt, world_dir, cfg.get("hospital"))
    zone_list, outcomes, bands = _key_values(counts, tgt, keys, zones)
    frames, static, skipped, first = [], [], [], None
    for zone in zone_list:
        table = _zone_table(cfg, zone)
        if first is None:
            first = table
        elif [c.name for c in table.columns] != [c.name for c in first.columns]:
            names = {c.name for c in table.columns} ^ {c.name for c in first.columns}
            raise ValueError(
                f"data.series: zone {zone} has other predictor columns than zone "
                f"{zone_list[0]} ({sorted(names)})"
            )
        for outcome in outcomes if "outcome" in keys else [None]:
            for band in bands if "age_band" in keys else [None]:
                label = {"zone": zone, "outcome": outcome, "age_band": band}
                sel = {k: label[k] for k in keys}
                target = _series_target(counts, sel, label, outcomes, tgt, f"{where}, series {sel}")
                if target is None:
                    skipped.append(sel)
                    continue
                frame = table.frame.drop(table.target).join(
                    _in_rows(target, table).rename({"count": table.target}), on="date", how="left"
                )
                frames.append(frame.with_columns(*[pl.lit(v).alias(k) for k, v in sel.items()]))
                static.append({**sel, "population": 1.0})  # set by _with_log_population
    if skipped:
        log.warning(
            "data.series: %d series without any admission left out, e.g. %s",
            len(skipped),
            skipped[0],
        )
    if not frames:
        raise ValueError(f"data.series={keys}: no series has any admission ({where})")
    panel = _panel_of(cfg, keys, frames, static, first, skipped)
    pops = {z: (_population(zones, z) if z != UNKNOWN_ZONE else 1.0) for z in zone_list}
    return _with_log_population(add_totals(panel, cfg.get("totals")), pops)


def _with_log_population(panel: PanelTable, pops: dict) -> PanelTable:
    """The static input log(population of the series' zones): a total over zones has their
    summed population, one over outcomes or age bands its zone's (not a sum of logs, nor a sum
    over the series of one zone, which would put a total far outside its parts' range)."""
    static = panel.static_frame()
    zones = static["zone"].to_list() if "zone" in static.columns else [None] * static.height
    value = [sum(pops.values()) if z in (None, "all") else pops[z] for z in zones]
    logs = static.drop("population").with_columns(
        log_population=pl.Series(value, dtype=pl.Float64).clip(1.0, None).log()
    )
    return PanelTable(
        panel.frame,
        panel.target,
        panel.columns,
        panel.keys,
        logs,
        panel.target_latency_days,
        panel.meta,
        panel.step_days,
    )


def _panel_of(cfg: dict, keys: list[str], frames, static, first, skipped) -> PanelTable:
    """The PanelTable of the series' frames (keys, date and target first)."""
    columns = first.columns
    head = [*keys, "date", first.target]
    frame = pl.concat(frames, how="vertical_relaxed")
    frame = frame.select(*head, *[c for c in frame.columns if c not in head])
    log.info("panel %s: %d series over %s", cfg.get("name"), len(frames), keys)
    panel = PanelTable(
        frame=frame,
        target=first.target,
        columns=columns,
        keys=keys,
        static=pl.DataFrame(static),
        target_latency_days=first.target_latency_days,
        step_days=first.step_days,
        meta={
            **first.meta,
            "name": str(cfg.get("name", "data")),
            "series": keys,
            "n_series": len(frames),
            "skipped_series": skipped,
            "world_dir": first.meta.get("world_dir"),
        },
    )
    return panel


def add_totals(panel: PanelTable, totals) -> PanelTable:
    """The panel plus a sum series ("all") over each key list of data.totals, e.g. [[zone]]
    (each outcome x age band over the zones) or [[zone, outcome, age_band]] (the city total)."""
    for over in totals or []:
        over = [over] if isinstance(over, str) else [str(k) for k in over]
        unknown = [k for k in over if k not in panel.keys]
        if unknown:
            raise ValueError(
                f"data.totals: {over} names {unknown}, not a key of data.series={panel.keys}"
            )
        panel = with_total(panel, over)
    return panel


def _key_values(counts: pl.DataFrame, tgt: dict, keys: list[str], zones) -> tuple[list, list, list]:
    """The zones, outcomes and age bands the series combine (each a single None when not a key)."""
    outcomes = list(tgt.get("outcomes") or counts["outcome"].unique(maintain_order=True))
    bands = [str(b) for b in tgt.get("age_bands") or []] or [
        b for b in counts["age_band"].unique(maintain_order=True).to_list() if b != "unknown"
    ]
    if "age_band" in keys:
        n = int(counts.filter(pl.col("age_band") == "unknown")["count"].sum())
        if n:
            log.warning("data.series: %d stay(s) of unknown age are in no age-band series", n)
    zone_list = [str(z) for z in zones["zone"].to_list()] if "zone" in keys else [None]
    if "zone" in keys and (counts["zone"] == UNKNOWN_ZONE).any():
        # out-of-area stays: a series of their own (city-wide predictors), so the zones' sum is
        # the city's count the single-series target holds
        zone_list.append(UNKNOWN_ZONE)
    return zone_list, outcomes, bands


def _series_target(counts, sel: dict, label: dict, outcomes, tgt: dict, where: str):
    """(date, count) of one series, or None when it has no admission at all."""
    if _total(counts, sel) == 0:  # the dense grid has zero rows for it
        return None
    try:
        return counts_to_target(
            counts,
            [label["outcome"]] if label["outcome"] else outcomes,
            [label["age_band"]] if label["age_band"] else tgt.get("age_bands"),
            label["zone"],
            where,
        )
    except ValueError as err:
        if "no admissions" not in str(err):
            raise
        return None


def _in_rows(target: pl.DataFrame, table) -> pl.DataFrame:
    """A daily (date, count) on the rows of ``table``: as is, or summed over complete ISO weeks
    dated by their Sunday (data.resolution 1w; a week with a missing day is missing)."""
    if table.step_days == 1:
        return target
    week_end = pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday())
    return target.group_by(week_end.alias("date")).agg(
        count=pl.when(pl.col("count").is_not_null().sum() == 7).then(pl.col("count").sum())
    )


def _total(counts: pl.DataFrame, sel: dict) -> float:
    rows = counts.filter(*[pl.col(k) == v for k, v in sel.items()]) if sel else counts
    return float(rows["count"].sum())


def _population(zones: pl.DataFrame | None, zone: str | None) -> float:
    if zones is None:
        return 1.0
    rows = zones if zone is None else zones.filter(pl.col("zone") == zone)
    return float(rows["population"].sum())


def truth_band(label: str, truth_bands: list[str]) -> str:
    """The world's age band ("65+") of an extraction band label ("65-200"), by its lower bound."""
    low = str(label).split("-")[0].rstrip("+")
    for band in truth_bands:
        if band.split("-")[0].rstrip("+") == low:
            return band
    raise ValueError(f"age band {label!r} matches none of the world's bands {truth_bands}")


__all__ = ["SERIES_KEYS", "build_panel_table", "series_keys", "truth_band"]
