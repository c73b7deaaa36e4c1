"""daily_counts on hand-made DuckDB worlds with known answers."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import polars as pl
import pytest

from respicast.hospital import UNKNOWN, Rule, SelectionRules, daily_counts

from .cases import DAY0, RULE_CASES, mixed_stays, rule_case_stays
from .worlds import stay


def totals(frame: pl.DataFrame, *by: str) -> dict:
    """Sum of counts per key, only the non-zero ones."""
    out = frame.group_by(*by).agg(pl.col("count").sum()).filter(pl.col("count") > 0)
    return {tuple(r[:-1]) if len(by) > 1 else r[0]: r[-1] for r in out.iter_rows()}


def test_each_selection_rule(make_world, zones_csv):
    counts = daily_counts(make_world(rule_case_stays()), zones_csv)
    per_day = totals(counts, "date", "outcome")
    for i, (pdx, assoc, expected, why) in enumerate(RULE_CASES):
        day = DAY0 + dt.timedelta(days=i)
        found = {o: n for (d, o), n in per_day.items() if d == day}
        wanted = {expected: 1} if expected else {}
        assert found == wanted, f"case {i} {pdx} + {assoc} ({why})"


def test_output_is_dense_with_contract_dtypes(make_world, zones_csv):
    counts = daily_counts(make_world(rule_case_stays()), zones_csv)
    assert counts.schema == pl.Schema(
        {
            "date": pl.Date,
            "zone": pl.Utf8,
            "outcome": pl.Utf8,
            "age_band": pl.Utf8,
            "count": pl.Int64,
        }
    )
    days = len(RULE_CASES)
    assert counts["date"].min() == DAY0
    assert counts["date"].max() == DAY0 + dt.timedelta(days=days - 1)
    assert set(counts["zone"]) == {"toulouse", "foix"}
    assert set(counts["outcome"]) == {"copd", "asthma"}
    assert set(counts["age_band"]) == {"0-14", "15-64", "65-200"}
    assert counts.height == days * 2 * 2 * 3  # every (day, zone, outcome, band), zeros included
    assert counts.select("date", "zone", "outcome", "age_band").is_duplicated().sum() == 0
    # a day with only distractors is present with zero counts, not missing
    distractor_day = DAY0 + dt.timedelta(days=3)
    assert counts.filter(pl.col("date") == distractor_day)["count"].to_list() == [0] * 12


def test_repeat_patients_midnight_unknowns_and_bands(make_world, zones_csv, caplog):
    with caplog.at_level(logging.WARNING):
        counts = daily_counts(
            make_world(mixed_stays()), zones_csv, start="2021-02-01", end="2021-02-06"
        )
    got = totals(counts, "date", "zone", "outcome", "age_band")
    feb = dt.date(2021, 2, 1)

    def day(n):
        return feb + dt.timedelta(days=n - 1)

    assert got == {
        (day(1), "toulouse", "copd", "65-200"): 2,  # same patient twice a day: two admissions
        (day(3), "toulouse", "copd", "65-200"): 1,
        (day(4), "toulouse", "asthma", "0-14"): 1,  # 23:59:30, discharged later: admission day
        (day(5), "foix", "asthma", "0-14"): 1,  # 00:00:10, postcode with leading zero
        (day(5), UNKNOWN, "asthma", "15-64"): 1,  # postcode not in the map
        (day(5), UNKNOWN, "copd", "15-64"): 1,  # null postcode
        (day(6), "toulouse", "copd", UNKNOWN): 1,  # null age
        (day(6), "toulouse", "copd", "65-200"): 1,
    }
    assert counts["date"].n_unique() == 6 and counts["date"].min() == feb
    assert "2 selected stay(s) with 2 postcode value(s) not in" in caplog.text
    assert "1 selected stay(s) with null age" in caplog.text


def test_age_outside_bands_and_custom_bands(make_world, zones_csv):
    world = make_world(
        [
            stay("A", "2021-01-01T10:00", "J441", age=3),
            stay("B", "2021-01-01T11:00", "J441", age=90),
        ]
    )
    counts = daily_counts(world, zones_csv, age_bands=((0, 4), (5, 79)))
    assert totals(counts, "age_band") == {"0-4": 1, UNKNOWN: 1}


def test_codes_repaired_are_logged(make_world, zones_csv, caplog):
    with caplog.at_level(logging.WARNING):
        counts = daily_counts(make_world([stay("A", "2021-01-01T10:00", " j44.1")]), zones_csv)
    assert counts["count"].sum() == 1
    assert "1 stays.principal_dx code(s) read without dot/blanks" in caplog.text


def test_start_end_filter_and_range_beyond_data(make_world, zones_csv, caplog):
    world = make_world(rule_case_stays())
    counts = daily_counts(world, zones_csv, start=DAY0 + dt.timedelta(days=1), end="2021-01-03")
    assert sorted(counts["date"].unique()) == [dt.date(2021, 1, 2), dt.date(2021, 1, 3)]
    assert totals(counts, "outcome") == {"copd": 2}  # J441 and J4410
    with caplog.at_level(logging.WARNING):
        wide = daily_counts(world, zones_csv, start="2020-12-30")
    assert wide["date"].min() == dt.date(2020, 12, 30)
    assert "reaches beyond the admissions on record" in caplog.text
    with pytest.raises(ValueError, match="after end"):
        daily_counts(world, zones_csv, start="2021-01-05", end="2021-01-02")
    with pytest.raises(ValueError, match="start: 'soon' is not a date"):
        daily_counts(world, zones_csv, start="soon")


def test_custom_rules_and_order_decide_overlap(make_world, zones_csv):
    world = make_world([stay("A", "2021-01-01T10:00", "J960", ("J441", "J459"))])
    asthma_first = SelectionRules(
        (Rule("asthma", ("J960",), ("J45", "J46")), Rule("copd", ("J96",), ("J44",)))
    )
    counts = daily_counts(world, zones_csv, rules=asthma_first)
    assert totals(counts, "outcome") == {"asthma": 1}
    assert counts["count"].sum() == 1  # counted once even though both rules match


def test_empty_database_names_db_and_table(make_world, zones_csv):
    world = make_world([])
    with pytest.raises(ValueError, match=rf"{world}.*table 'stays' is empty"):
        daily_counts(world, zones_csv)


def test_missing_table_and_column(tmp_path, zones_csv):
    no_assoc = tmp_path / "no_assoc.duckdb"
    with duckdb.connect(str(no_assoc)) as con:
        con.execute(
            "CREATE TABLE stays(stay_id VARCHAR, admission_ts TIMESTAMP, principal_dx VARCHAR, age INTEGER, postcode VARCHAR)"
        )
    with pytest.raises(LookupError, match=rf"{no_assoc}: table 'associated_dx' not found"):
        daily_counts(no_assoc, zones_csv)
    no_age = tmp_path / "no_age.duckdb"
    with duckdb.connect(str(no_age)) as con:
        con.execute(
            "CREATE TABLE stays(stay_id VARCHAR, admission_ts TIMESTAMP, principal_dx VARCHAR, postcode VARCHAR)"
        )
        con.execute("CREATE TABLE associated_dx(stay_id VARCHAR, code VARCHAR)")
    with pytest.raises(LookupError, match=r"table 'stays' lacks column\(s\) \['age'\]"):
        daily_counts(no_age, zones_csv)


def test_missing_database_file_is_not_created(tmp_path, zones_csv):
    path = tmp_path / "nowhere.duckdb"
    with pytest.raises(FileNotFoundError, match="nowhere.duckdb"):
        daily_counts(path, zones_csv)
    assert not path.exists()


def test_repeated_stay_id_is_an_error(make_world, zones_csv):
    world = make_world(
        [stay("A", "2021-01-01T10:00", "J441"), stay("A", "2021-01-02T10:00", "J441")]
    )
    with pytest.raises(ValueError, match="1 repeated stay_id"):
        daily_counts(world, zones_csv)


def test_undated_stays_are_logged(make_world, zones_csv, caplog):
    undated = stay("B", "2021-01-01T10:00", "J441")
    undated["admission_ts"] = None
    world = make_world([stay("A", "2021-01-01T10:00", "J441"), undated])
    with caplog.at_level(logging.WARNING):
        counts = daily_counts(world, zones_csv)
    assert counts["count"].sum() == 1
    assert "1 stay(s) without admission_ts" in caplog.text


def test_no_identifier_reaches_the_logs(make_world, zones_csv, caplog):
    secret_stays = [
        stay(
            "STAY-SECRET-0001",
            "2021-01-01T10:00",
            "J441",
            patient_id="PATIENT-SECRET-0001",
            postcode="99999",
        ),
        stay(
            "STAY-SECRET-0002",
            "2021-01-01T11:00",
            "j45.0",
            patient_id="PATIENT-SECRET-0001",
            age=None,
        ),
        stay(
            "STAY-SECRET-0003",
            "2021-01-03T11:00",
            "J960",
            ("J441",),
            patient_id="PATIENT-SECRET-0003",
        ),
    ]
    undated = stay("STAY-SECRET-0004", "2021-01-01T10:00", "J441", patient_id="PATIENT-SECRET-0004")
    undated["admission_ts"] = None
    world = make_world([*secret_stays, undated])
    with caplog.at_level(logging.DEBUG):
        counts = daily_counts(world, zones_csv, start="2020-12-31")
    assert counts["count"].sum() == 3
    assert caplog.records, "the repairs above must be logged"
    assert "SECRET" not in caplog.text
    assert not {"stay_id", "patient_id"} & set(counts.columns)
