"""The target column: daily counts for the area, from the hospital extraction or a source column."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from respicast.sources.frame import local_date

log = logging.getLogger(__name__)


def counts_to_target(
    counts: pl.DataFrame,
    outcomes: list[str] | None,
    age_bands: list[str] | None,
    zone: str | None,
    where: str,
) -> pl.DataFrame:
    """Hospital counts (date, zone, outcome, age_band, count) -> (date, count) summed over the
    selection; days without any admission inside the period are true zeros (logged)."""
    need = ["date", "zone", "outcome", "age_band", "count"]
    missing = [c for c in need if c not in counts.columns]
    if missing:
        raise ValueError(f"{where}: counts lack column(s) {missing}")
    if counts.height == 0:
        raise ValueError(f"{where}: no admissions at all")
    sel = counts
    if outcomes:
        sel = sel.filter(pl.col("outcome").is_in(list(outcomes)))
    if age_bands:
        sel = sel.filter(pl.col("age_band").is_in(list(age_bands)))
    if zone is not None:
        sel = sel.filter(pl.col("zone") == str(zone))
    if sel.height == 0:
        raise ValueError(
            f"{where}: no admissions for outcomes={outcomes} age_bands={age_bands} zone={zone}"
        )
    daily = sel.group_by("date").agg(pl.col("count").sum().cast(pl.Float64))
    # the period is that of the whole extraction, so zero-days at its edges count too
    lo, hi = counts["date"].min(), counts["date"].max()
    grid = pl.DataFrame({"date": pl.date_range(lo, hi, "1d", eager=True)})
    out = grid.join(daily, on="date", how="left")
    zeros = out["count"].null_count()
    if zeros:
        log.info("%s: %d day(s) without admissions set to 0", where, zeros)
    return out.with_columns(pl.col("count").fill_null(0.0))


def selection(hospital: dict | None) -> tuple:
    """data.hospital -> (SelectionRules, age bands) for daily_counts; a bad entry names its key."""
    from respicast.hospital import SelectionRules
    from respicast.hospital.counts import _check_age_bands

    if not hospital or "rules" not in hospital:
        raise ValueError(
            "data.hospital.rules is missing: a data config whose target is extracted from a stays "
            "database needs the ICD-10 rules (add `- hospital: icd10` to its defaults)"
        )
    unknown = sorted(set(hospital) - {"rules", "age_bands"})
    if unknown:
        raise ValueError(f"data.hospital: unknown key(s) {unknown}; expected rules, age_bands")
    try:
        rules = SelectionRules.from_config({"rules": hospital["rules"]})
    except ValueError as err:
        raise ValueError(f"data.hospital.{err}") from None
    if "age_bands" not in hospital:
        raise ValueError("data.hospital.age_bands is missing (e.g. [[0, 14], [15, 64], [65, 200]])")
    try:
        bands = _check_age_bands(hospital["age_bands"])
    except ValueError as err:
        raise ValueError(f"data.hospital.{err}") from None
    return rules, bands


def hospital_counts(cfg: dict, world_dir: str | None, hospital: dict | None) -> tuple:
    """data.target (source hospital) -> the extraction's daily counts per zone, outcome and age
    band (rules of data.hospital), and the database it read, for messages."""
    from respicast.hospital import daily_counts  # lazy: SQL stack only when needed

    rules, bands = selection(hospital)
    unknown = sorted(set(cfg.get("outcomes") or []) - set(rules.outcomes))
    if unknown:
        raise ValueError(
            f"data.target.outcomes {unknown}: no rule of data.hospital.rules gives them "
            f"(outcomes of the rules: {rules.outcomes})"
        )
    db = cfg.get("db") or (
        str(Path(world_dir) / "hospital" / "stays.duckdb") if world_dir else None
    )
    zones_csv = cfg.get("zones_csv") or (str(Path(world_dir) / "zones.csv") if world_dir else None)
    if db is None or zones_csv is None:
        raise ValueError(
            "data.target: source hospital needs data.world.dir or target.db and target.zones_csv"
        )
    start = date.fromisoformat(str(cfg["start"])) if cfg.get("start") else None
    end = date.fromisoformat(str(cfg["end"])) if cfg.get("end") else None
    return daily_counts(db, zones_csv, start, end, rules=rules, age_bands=bands), f"hospital {db}"


def hospital_target(
    cfg: dict, world_dir: str | None, zone: str | None, hospital: dict | None
) -> pl.DataFrame:
    """data.target (source hospital) -> (date, count), counted with the rules of data.hospital."""
    counts, where = hospital_counts(cfg, world_dir, hospital)
    return counts_to_target(counts, cfg.get("outcomes"), cfg.get("age_bands"), zone, where)


def source_target(
    frame: pl.DataFrame, column: str, source: str, tz: str, step_days: int = 1
) -> pl.DataFrame:
    """A daily count column of a source frame -> (date, count), summed over its sites. With
    ``step_days`` 7 (data.resolution 1w) the grid covers whole ISO weeks (Monday of the first to
    Sunday of the last) and missing weeks are what is counted and logged; harmonize.weekly then
    takes each week's value."""
    part = frame.filter(pl.col("variable") == column)
    if part.height == 0:
        raise ValueError(
            f"data.target.column={column!r} not in source {source!r}; variables {frame['variable'].unique().to_list()}"
        )
    day = pl.lit(local_date(part["time"], tz))
    daily = part.group_by(day.alias("date")).agg(
        count=pl.when(pl.col("value").is_not_null().all()).then(pl.col("value").sum())
    )
    lo, hi = daily["date"].min(), daily["date"].max()
    if step_days == 7:
        lo = lo - timedelta(days=lo.weekday())
        hi = hi + timedelta(days=6 - hi.weekday())
    grid = pl.DataFrame({"date": pl.date_range(lo, hi, "1d", eager=True)})
    out = grid.join(daily, on="date", how="left")
    if step_days == 7:
        seen = out.group_by(pl.col("date").dt.truncate("1w")).agg(pl.col("count").count())
        n_weeks = int((seen["count"] == 0).sum())
        if n_weeks:
            log.warning(
                "target %s.%s: %d ISO week(s) without a value, kept as missing (not zero)",
                source,
                column,
                n_weeks,
            )
        return out
    n_missing = out["count"].null_count()
    if n_missing:
        log.warning(
            "target %s.%s: %d day(s) missing, kept as missing (not zero)", source, column, n_missing
        )
    return out
