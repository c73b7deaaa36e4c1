"""Builders of small hand-made hospital databases in the PMSI-like schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

STAYS_DDL = """
CREATE TABLE stays(stay_id VARCHAR, patient_id VARCHAR, admission_ts TIMESTAMP,
  discharge_date DATE, principal_dx VARCHAR, age INTEGER, sex VARCHAR, postcode VARCHAR,
  via_ed BOOLEAN)
"""
ASSOCIATED_DDL = "CREATE TABLE associated_dx(stay_id VARCHAR, code VARCHAR)"


def stay(
    stay_id: str,
    ts: str,
    pdx: str,
    associated: tuple[str, ...] = (),
    age: int | None = 50,
    postcode: str | None = "31000",
    patient_id: str | None = None,
) -> dict:
    """One stay row (+ its associated diagnoses) for ``write_world``."""
    admitted = dt.datetime.fromisoformat(ts)
    return {
        "stay_id": stay_id,
        "patient_id": patient_id or f"P-{stay_id}",
        "admission_ts": admitted,
        "discharge_date": admitted.date() + dt.timedelta(days=3),
        "principal_dx": pdx,
        "age": age,
        "sex": "F",
        "postcode": postcode,
        "via_ed": True,
        "associated": associated,
    }


def write_world(path: Path, stays: list[dict]) -> Path:
    """A DuckDB file with the PMSI tables holding exactly ``stays``."""
    with duckdb.connect(str(path)) as con:
        con.execute(STAYS_DDL)
        con.execute(ASSOCIATED_DDL)
        for s in stays:
            row = {k: v for k, v in s.items() if k != "associated"}
            con.execute(
                "INSERT INTO stays VALUES ($stay_id, $patient_id, $admission_ts, $discharge_date, "
                "$principal_dx, $age, $sex, $postcode, $via_ed)",
                row,
            )
            for code in s["associated"]:
                con.execute("INSERT INTO associated_dx VALUES (?, ?)", [s["stay_id"], code])
    return path
