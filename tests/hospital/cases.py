"""Hand-made stays with known answers, shared by the DuckDB, SQLite and PostgreSQL tests."""

from __future__ import annotations

import datetime as dt

from .worlds import stay

DAY0 = dt.date(2021, 1, 1)

# (principal, associated, expected outcome or None, why); case i is admitted on DAY0 + i days.
RULE_CASES: list[tuple[str, tuple[str, ...], str | None, str]] = [
    ("J440", (), "copd", "COPD with acute lower respiratory infection"),
    ("J441", (), "copd", "COPD with acute exacerbation"),
    ("J4410", (), "copd", "French 5-character extension of J44.1"),
    ("J449", (), None, "COPD unspecified is not an exacerbation"),
    ("J448", ("J441",), None, "J44.1 only as associated diagnosis"),
    ("J450", (), "asthma", "asthma"),
    ("J459", (), "asthma", "asthma unspecified"),
    ("J46", (), "asthma", "status asthmaticus"),
    ("J9610", ("J448",), "copd", "chronic respiratory failure with COPD associated"),
    ("J960", ("J449",), "copd", "J96.0 with only J44 associated counts as COPD, not asthma"),
    ("J960", ("J450",), "asthma", "acute respiratory failure with asthma associated"),
    ("J9600", ("J46",), "asthma", "J96.0 extension with status asthmaticus associated"),
    ("J961", ("J459",), None, "asthma needs J96.0, not J96.1"),
    ("J960", ("J441", "J459"), "copd", "both outcomes match: COPD rule comes first"),
    ("J440", ("J45",), "copd", "principal J44.0 with asthma associated stays COPD"),
    ("J960", (), None, "J96 without associated J44/J45/J46"),
    ("J960", ("I50",), None, "J96 with a non-respiratory associated code"),
    ("I50", ("J441",), None, "heart failure"),
    ("J18", ("J44",), None, "pneumonia"),
    ("j44.1", (), "copd", "lower case with dot is repaired"),
]


def rule_case_stays() -> list[dict]:
    return [
        stay(f"S{i:03d}", f"{DAY0 + dt.timedelta(days=i)}T10:00", pdx, assoc)
        for i, (pdx, assoc, _, _) in enumerate(RULE_CASES)
    ]


def mixed_stays() -> list[dict]:
    """Rule cases plus repeat patients, midnight, unknown postcodes and ages outside the bands."""
    return [
        *rule_case_stays(),
        stay("R1", "2021-02-01T08:00", "J440", patient_id="P-REPEAT", age=80),
        stay("R2", "2021-02-01T18:30", "J441", patient_id="P-REPEAT", age=80),
        stay("R3", "2021-02-03T09:00", "J441", patient_id="P-REPEAT", age=80),
        stay("M1", "2021-02-04T23:59:30", "J459", age=8),  # discharged days later
        stay("M2", "2021-02-05T00:00:10", "J459", age=14, postcode="09000"),
        stay("U1", "2021-02-05T12:00", "J450", age=15, postcode="75001"),
        stay("U2", "2021-02-05T13:00", "J441", age=64, postcode=None),
        stay("A1", "2021-02-06T13:00", "J441", age=None),
        stay("A2", "2021-02-06T14:00", "J441", age=65, postcode="31100"),
    ]
