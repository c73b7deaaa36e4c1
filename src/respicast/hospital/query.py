"""SQL for the extraction, written once for DuckDB and PostgreSQL (and other SQL engines).

Only portable SQL is used (CTEs, VALUES, CAST, substr/length/upper/replace/trim) so the same text
runs everywhere. Every value (ICD-10 prefixes, age bands, dates) is a bind parameter; only the
number of VALUES rows and CASE branches depends on the rules, never their content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from respicast.hospital.rules import SelectionRules

AgeBands = tuple[tuple[int, int], ...]
DateOf = Callable[[str], str]

# Codes are compared in the database form of rules.normalise_code.
_NORM = "upper(replace(trim({col}), '.', ''))"


def cast_date(col: str) -> str:
    """Portable timestamp -> date; backends without a DATE type (SQLite) override it."""
    return f"CAST({col} AS DATE)"


def stats_sql(date_of: DateOf = cast_date) -> str:
    """One row of whole-table facts: row and id counts, first/last day, codes needing repair."""
    return f"""
SELECT count(*), count(stay_id), count(DISTINCT stay_id), count(admission_ts),
       min({date_of("admission_ts")}), max({date_of("admission_ts")}),
       sum(CASE WHEN principal_dx <> {_NORM.format(col="principal_dx")} THEN 1 ELSE 0 END),
       (SELECT count(*) FROM associated_dx WHERE code <> {_NORM.format(col="code")})
FROM stays
"""


STATS_SCHEMA = {
    "rows": pl.Int64,
    "with_id": pl.Int64,
    "distinct_ids": pl.Int64,
    "with_ts": pl.Int64,
    "first_day": pl.Date,
    "last_day": pl.Date,
    "repaired_principal": pl.Int64,
    "repaired_associated": pl.Int64,
}


def principal_codes_sql() -> str:
    """Stays per principal code in its compared form (no id leaves the database)."""
    code = _NORM.format(col="principal_dx")
    return f"SELECT {code}, count(*) FROM stays GROUP BY {code}"


CODES_SCHEMA = {"code": pl.Utf8, "n": pl.Int64}


def null_discharge_sql() -> str:
    return "SELECT count(*) - count(discharge_date) FROM stays"


def band_label(lo: int, hi: int) -> str:
    return f"{lo}-{hi}"


def _rule_values(rules: SelectionRules) -> tuple[str, dict[str, Any]]:
    """The VALUES rows of the rules CTE (one per rule, all bind parameters) and their parameters."""
    params: dict[str, Any] = {}
    rule_rows = []
    for i, (precedence, outcome, principal, associated) in enumerate(rules.rows()):
        params |= {f"r{i}_p": precedence, f"r{i}_o": outcome, f"r{i}_pdx": principal}
        params[f"r{i}_adx"] = associated
        rule_rows.append(
            f"(CAST(:r{i}_p AS INTEGER), CAST(:r{i}_o AS VARCHAR), "
            f"CAST(:r{i}_pdx AS VARCHAR), CAST(:r{i}_adx AS VARCHAR))"
        )
    return ",\n    ".join(rule_rows), params


def _band_cases(age_bands: AgeBands) -> tuple[str, dict[str, Any]]:
    """The CASE branches mapping an age to its band label, and their parameters."""
    params: dict[str, Any] = {}
    band_cases = []
    for i, (lo, hi) in enumerate(age_bands):
        params |= {f"b{i}_lo": lo, f"b{i}_hi": hi, f"b{i}_label": band_label(lo, hi)}
        band_cases.append(
            f"WHEN s.age >= :b{i}_lo AND s.age <= :b{i}_hi THEN CAST(:b{i}_label AS VARCHAR)"
        )
    return "\n      ".join(band_cases), params


def counts_sql(
    rules: SelectionRules,
    age_bands: AgeBands,
    first_day: dt.date,
    last_day: dt.date,
    unknown: str,
    date_of: DateOf = cast_date,
) -> tuple[str, dict[str, Any]]:
    """Aggregated counts per admission date, postcode, outcome and age band, with its parameters.

    Result columns: adm_date, postcode, outcome, age_band, n. The outcome of a stay is the one of
    the first matching rule (smallest precedence), so each stay is counted once.
    """
    params: dict[str, Any] = {"first_day": first_day, "last_day": last_day, "no_band": unknown}
    values, rule_params = _rule_values(rules)
    cases, band_params = _band_cases(age_bands)
    params |= rule_params | band_params
    sql = f"""
WITH rules (precedence, outcome, principal_prefix, associated_prefix) AS (
  VALUES
    {values}
),
s AS (
  SELECT stay_id, {date_of("admission_ts")} AS adm_date,
         {_NORM.format(col="principal_dx")} AS pdx, age, trim(postcode) AS postcode
  FROM stays
  WHERE admission_ts IS NOT NULL
    AND {date_of("admission_ts")} >= :first_day AND {date_of("admission_ts")} <= :last_day
),
a AS (
  SELECT stay_id, {_NORM.format(col="code")} AS code FROM associated_dx
),
matched AS (
  SELECT s.stay_id, min(r.precedence) AS precedence
  FROM s
  JOIN rules r ON substr(s.pdx, 1, length(r.principal_prefix)) = r.principal_prefix
  LEFT JOIN a ON a.stay_id = s.stay_id
    AND substr(a.code, 1, length(r.associated_prefix)) = r.associated_prefix
  WHERE r.associated_prefix IS NULL OR a.stay_id IS NOT NULL
  GROUP BY s.stay_id
),
labelled AS (
  SELECT s.adm_date, s.postcode, o.outcome,
    CASE
      {cases}
      ELSE CAST(:no_band AS VARCHAR)
    END AS age_band
  FROM s
  JOIN matched m ON m.stay_id = s.stay_id
  JOIN (SELECT DISTINCT precedence, outcome FROM rules) o ON o.precedence = m.precedence
)
SELECT adm_date, postcode, outcome, age_band, count(*) AS n
FROM labelled
GROUP BY adm_date, postcode, outcome, age_band
"""
    return sql, params


COUNTS_SCHEMA = {
    "adm_date": pl.Date,
    "postcode": pl.Utf8,
    "outcome": pl.Utf8,
    "age_band": pl.Utf8,
    "n": pl.Int64,
}
