"""Stays the extraction cannot count are logged with their count, never with an identifier."""

from __future__ import annotations

import logging

import pytest

from respicast.hospital import daily_counts, load_stays

from .worlds import stay


def _stays() -> list[dict]:
    good = [stay(f"G{i:03d}", f"2021-03-{1 + i % 20:02d}T10:00", "J441") for i in range(30)]
    malformed = [stay(f"X{i:03d}", "2021-03-05T11:00", "J4X9") for i in range(200)]
    blank = [stay(f"B{i:03d}", "2021-03-06T11:00", " ") for i in range(3)]
    in_ward = [stay(f"W{i:03d}", "2021-03-20T09:00", "J450") for i in range(7)]
    for s in in_ward:
        s["discharge_date"] = None  # still in hospital at extraction time
    return good + malformed + blank + in_ward


def _check_log(caplog, counts) -> None:
    assert counts.filter(counts["outcome"] == "copd")["count"].sum() == 30
    assert counts.filter(counts["outcome"] == "asthma")["count"].sum() == 7
    text = caplog.text
    assert "200 stay(s) whose principal diagnosis is not a valid ICD-10 code (1 distinct" in text
    assert "3 stay(s) without a principal diagnosis" in text
    assert "7 stay(s) with a NULL discharge_date" in text
    for record in caplog.records:  # counts only: no stay, patient or code value
        assert not any(tag in record.getMessage() for tag in ("X000", "P-X", "J4X9", "W000"))


def test_malformed_codes_and_open_stays_logged_duckdb(make_world, zones_csv, caplog):
    world = make_world(_stays())
    with caplog.at_level(logging.INFO, logger="respicast.hospital"):
        counts = daily_counts(world, zones_csv)
    _check_log(caplog, counts)


def test_malformed_codes_and_open_stays_logged_sqlite(make_world, zones_csv, tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    load_stays(make_world(_stays()), url)
    with caplog.at_level(logging.INFO, logger="respicast.hospital"):
        counts = daily_counts(url, zones_csv)
    _check_log(caplog, counts)


@pytest.mark.postgres
def test_malformed_codes_and_open_stays_logged_postgres(
    make_world, zones_csv, postgres_url, caplog
):
    load_stays(make_world(_stays()), postgres_url, replace=True)
    with caplog.at_level(logging.INFO, logger="respicast.hospital"):
        counts = daily_counts(postgres_url, zones_csv)
    _check_log(caplog, counts)


def test_valid_codes_log_nothing(make_world, zones_csv, caplog):
    world = make_world(
        [stay("A1", "2021-03-01T10:00", "J4410"), stay("A2", "2021-03-02T10:00", "Z50+1")]
    )
    with caplog.at_level(logging.INFO, logger="respicast.hospital"):
        daily_counts(world, zones_csv)
    assert "ICD-10" not in caplog.text and "discharge_date" not in caplog.text
