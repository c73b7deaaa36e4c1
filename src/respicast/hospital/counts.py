"""Daily COPD/asthma admission counts per zone and age band, aggregated inside the database.

Privacy: only aggregated counts leave the database query (per day, postcode, outcome, age band);
no stay or patient identifier is selected, returned, logged or put in an error message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from respicast.hospital.backend import Backend, describe, open_backend
from respicast.hospital.query import (
    CODES_SCHEMA,
    COUNTS_SCHEMA,
    STATS_SCHEMA,
    AgeBands,
    band_label,
    counts_sql,
    null_discharge_sql,
    principal_codes_sql,
    stats_sql,
)
from respicast.hospital.rules import DEFAULT_RULES, SelectionRules
from respicast.hospital.schema import REQUIRED
from respicast.hospital.zones import UNKNOWN, read_zone_map

log = logging.getLogger(__name__)

# An ICD-10 code as compared (no dot, upper case): letter, two digits, then up to three digits
# or '+' (4th character, then the French PMSI extensions, e.g. J4410, J9600).
ICD10_CODE = r"^[A-Z][0-9]{2}[0-9+]{0,3}$"
DEFAULT_AGE_BANDS: AgeBands = ((0, 14), (15, 64), (65, 200))
OUTPUT_SCHEMA = {
    "date": pl.Date,
    "zone": pl.Utf8,
    "outcome": pl.Utf8,
    "age_band": pl.Utf8,
    "count": pl.Int64,
}


def _as_date(value: Any, key: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None


def _check_age_bands(age_bands: Any) -> AgeBands:
    try:
        bands = tuple((int(lo), int(hi)) for lo, hi in age_bands)
    except (TypeError, ValueError):
        raise ValueError(f"age_bands: expected pairs (low, high), got {age_bands!r}") from None
    if not bands:
        raise ValueError("age_bands: at least one band is needed")
    ordered = sorted(bands)
    for lo, hi in ordered:
        if lo > hi:
            raise ValueError(f"age_bands: band ({lo}, {hi}) has low > high")
    for (_, hi), (lo, _) in zip(ordered, ordered[1:], strict=False):
        if lo <= hi:
            raise ValueError(f"age_bands: bands overlap at age {lo}: {bands}")
    return bands


def _check_rules(rules: SelectionRules | Mapping | None) -> SelectionRules:
    if rules is None:
        return DEFAULT_RULES
    if isinstance(rules, SelectionRules):
        return rules
    if isinstance(rules, str | Path):
        return SelectionRules.from_yaml(rules)
    return SelectionRules.from_config(rules)


def _check_tables(backend: Backend) -> None:
    for table, needed in REQUIRED.items():
        columns = backend.columns(table)
        if columns is None:
            raise LookupError(
                f"{backend.name}: table {table!r} not found (expected the PMSI schema)"
            )
        missing = [c for c in needed if c not in columns]
        if missing:
            raise LookupError(f"{backend.name}: table {table!r} lacks column(s) {missing}")


def _stay_stats(backend: Backend) -> dict[str, Any]:
    stats = backend.query(stats_sql(backend.date_of), {}, STATS_SCHEMA).row(0, named=True)
    name = backend.name
    if stats["rows"] == 0:
        raise ValueError(f"{name}: table 'stays' is empty; no admissions to count")
    if stats["with_id"] < stats["rows"]:
        raise ValueError(
            f"{name}: table 'stays' has {stats['rows'] - stats['with_id']} null stay_id"
        )
    if stats["distinct_ids"] < stats["with_id"]:
        raise ValueError(
            f"{name}: table 'stays' has {stats['with_id'] - stats['distinct_ids']} repeated "
            "stay_id value(s); stay_id must be unique"
        )
    if stats["with_ts"] == 0:
        raise ValueError(f"{name}: table 'stays' has no admission_ts; cannot date any stay")
    if stats["with_ts"] < stats["rows"]:
        log.warning(
            "%s: %d stay(s) without admission_ts cannot be dated and are not counted",
            name,
            stats["rows"] - stats["with_ts"],
        )
    for table, key in (
        ("stays.principal_dx", "repaired_principal"),
        ("associated_dx.code", "repaired_associated"),
    ):
        if stats[key]:
            log.warning(
                "%s: %d %s code(s) read without dot/blanks, upper case", name, stats[key], table
            )
    return stats


def _code_checks(backend: Backend) -> None:
    """Log (counts only: a malformed code field may hold free text) stays whose principal
    diagnosis is missing or not an ICD-10 code, so they match no rule, and stays without a
    discharge date (still in hospital, or not recorded: they are counted all the same)."""
    codes = backend.query(principal_codes_sql(), {}, CODES_SCHEMA)
    no_code = codes.filter(pl.col("code").is_null() | (pl.col("code") == ""))
    invalid = codes.filter(
        pl.col("code").is_not_null()
        & (pl.col("code") != "")
        & ~pl.col("code").str.contains(ICD10_CODE)
    )
    if no_code.height:
        log.warning(
            "%s: %d stay(s) without a principal diagnosis match no rule and are not counted",
            backend.name,
            no_code["n"].sum(),
        )
    if invalid.height:
        log.warning(
            "%s: %d stay(s) whose principal diagnosis is not a valid ICD-10 code "
            "(%d distinct value(s)) match no rule and are not counted",
            backend.name,
            invalid["n"].sum(),
            invalid.height,
        )
    if "discharge_date" in (backend.columns("stays") or set()):
        n_open = backend.query(null_discharge_sql(), {}, {"n": pl.Int64}).item()
        if n_open:
            log.info(
                "%s: %d stay(s) with a NULL discharge_date (still in hospital or not recorded); "
                "admissions are counted by admission date, so they are counted",
                backend.name,
                n_open,
            )


def _dense(
    counts: pl.DataFrame,
    first_day: dt.date,
    last_day: dt.date,
    zones: list[str],
    outcomes: list[str],
    bands: list[str],
) -> pl.DataFrame:
    grid = (
        pl.DataFrame({"date": pl.date_range(first_day, last_day, "1d", eager=True)})
        .join(pl.DataFrame({"zone": zones}), how="cross")
        .join(pl.DataFrame({"outcome": outcomes}), how="cross")
        .join(pl.DataFrame({"age_band": bands}), how="cross")
    )
    return (
        grid.join(counts, on=["date", "zone", "outcome", "age_band"], how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort("date", "zone", "outcome", "age_band")
        .cast(OUTPUT_SCHEMA)
    )


def daily_counts(
    db: str | Path,
    zones_csv: str | Path,
    start: Any = None,
    end: Any = None,
    rules: SelectionRules | Mapping | str | Path | None = None,
    age_bands: AgeBands = DEFAULT_AGE_BANDS,
) -> pl.DataFrame:
    """Daily admissions per zone, outcome and age band, dense over ``start..end`` (inclusive).

    ``db`` is a DuckDB file path or a SQLAlchemy URL. The date is the admission date of
    ``admission_ts`` (a TIMESTAMP without time zone, already local time). ``start``/``end``
    default to the first/last admission date in ``stays``. Stays whose postcode is not in
    ``zones_csv`` go to zone "unknown", stays with a null age or an age outside every band to
    age band "unknown" (both logged with their count; those rows appear only when needed).
    A stay is counted once, under the outcome of the first matching rule (see rules.py).

    Columns: date (Date), zone (Utf8), outcome (Utf8), age_band (Utf8, "0-14"), count (Int64).
    """
    rules = _check_rules(rules)
    bands = _check_age_bands(age_bands)
    start, end = _as_date(start, "start"), _as_date(end, "end")
    zone_map = read_zone_map(zones_csv)
    try:
        with open_backend(db) as backend:
            _check_tables(backend)
            stats = _stay_stats(backend)
            _code_checks(backend)
            first_day = start or stats["first_day"]
            last_day = end or stats["last_day"]
            if first_day > last_day:
                raise ValueError(f"start {first_day} is after end {last_day}")
            if first_day < stats["first_day"] or last_day > stats["last_day"]:
                log.warning(
                    "%s: requested %s..%s reaches beyond the admissions on record (%s..%s); "
                    "days outside hold zero counts",
                    backend.name,
                    first_day,
                    last_day,
                    stats["first_day"],
                    stats["last_day"],
                )
            sql, params = counts_sql(rules, bands, first_day, last_day, UNKNOWN, backend.date_of)
            raw = backend.query(sql, params, COUNTS_SCHEMA)
    except sa.exc.OperationalError as err:
        raise ConnectionError(f"{describe(db)}: cannot query the database: {err.orig}") from err
    return _to_zones(raw, zone_map, zones_csv, rules, bands, first_day, last_day)


def _to_zones(
    raw: pl.DataFrame,
    zone_map: pl.DataFrame,
    zones_csv: str | Path,
    rules: SelectionRules,
    bands: AgeBands,
    first_day: dt.date,
    last_day: dt.date,
) -> pl.DataFrame:
    counts = raw.join(zone_map, on="postcode", how="left").with_columns(
        pl.col("zone").fill_null(UNKNOWN)
    )
    unmapped = counts.filter(pl.col("zone") == UNKNOWN)
    if unmapped.height:
        log.warning(
            "%d selected stay(s) with %d postcode value(s) not in %s (incl. null) counted in zone %r",
            unmapped["n"].sum(),
            unmapped["postcode"].n_unique(),
            zones_csv,
            UNKNOWN,
        )
    no_band = counts.filter(pl.col("age_band") == UNKNOWN)
    if no_band.height:
        log.warning(
            "%d selected stay(s) with null age or age outside %s counted in age band %r",
            no_band["n"].sum(),
            list(bands),
            UNKNOWN,
        )
    counts = (
        counts.rename({"adm_date": "date"})
        .group_by("date", "zone", "outcome", "age_band")
        .agg(pl.col("n").sum().alias("count"))
    )
    zones = zone_map["zone"].unique(maintain_order=True).sort().to_list()
    band_labels = [band_label(lo, hi) for lo, hi in bands]
    return _dense(
        counts,
        first_day,
        last_day,
        zones + ([UNKNOWN] if unmapped.height else []),
        rules.outcomes,
        band_labels + ([UNKNOWN] if no_band.height else []),
    )
