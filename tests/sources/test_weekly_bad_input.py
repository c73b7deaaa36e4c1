"""Bad weekly input (issue 15): invalid ISO weeks, repeated weeks, gaps and mixed resolutions.

Files are written in the real layouts: the Sentinelles export's JSON comment line and header (from
/work/shared/data/real/sentinelles_ili/grippe_incidence_region.csv), a plain daily CSV for the
generic reader. Line numbers are 1-based file lines: the comment is line 1, the header line 2.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import polars as pl
import pytest

from respicast.harmonize.build import source_columns
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import make_area
from respicast.sources import read_source

FIX = Path(__file__).parents[1] / "fixtures" / "sources"
COMMENT = (
    '# {"source":"r&#233;seau Sentinelles, INSERM, Sorbonne Universit&#233;, '
    'https:\\/\\/www.sentiweb.fr","meta":{"period":[198444,202604],"geo":["REG",0],'
    '"geo_ref":"insee","indicator":"3","type":"all","conf_int":true,"compact":false,'
    '"age_group":false,"span":"all"},"date":"2026-01-28T18:27:57+01:00","bundle":"1769621272"}'
)
HEADER = "week,indicator,inc,inc_low,inc_up,inc100,inc100_low,inc100_up,geo_insee,geo_name"
NAMES = {"73": "MIDI-PYRENEES", "72": "AQUITAINE"}


def _row(week: str, inc100: int = 50, geo: str = "73") -> str:
    return f"{week},3,1500,900,2100,{inc100},30,70,{geo},{NAMES[geo]}"


def _sentinelles(tmp_path: Path, rows: list[str], name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([COMMENT, HEADER, *rows]) + "\n")
    return path


def _read(path: Path | str, **options):
    return read_source("senti", {"kind": "sentinelles", "path": str(path), "options": options})


# ---------------------------------------------------------------- week codes
@pytest.mark.parametrize(
    ("week", "message"),
    [
        (
            "202054",
            r"s\.csv:4: week '202054' is not an ISO week: week number 54 not in 1\.\.53 "
            r"\(ISO year 2020 has 53 weeks\)",
        ),
        (
            "202153",
            r"s\.csv:4: week '202153' is not an ISO week: week number 53 not in 1\.\.52 "
            r"\(ISO year 2021 has 52 weeks\)",
        ),
        ("202000", r"s\.csv:4: week '202000' is not an ISO week: week number 0 not in 1\.\.53"),
        ("2020w3", r"s\.csv:4: week '2020w3' is not YYYYWW"),
        ("20203", r"s\.csv:4: week '20203' is not YYYYWW"),
        ("", r"s\.csv:4: week '' is not YYYYWW"),
    ],
)
def test_invalid_iso_week_names_file_line_and_value(tmp_path, week, message):
    path = _sentinelles(tmp_path, [_row("202101"), _row(week), _row("202002")])
    with pytest.raises(ValueError, match=message):
        _read(path, geo="73")


def test_year_out_of_range_names_the_week(tmp_path):
    path = _sentinelles(tmp_path, [_row("202101"), _row("184952")])
    with pytest.raises(ValueError, match=r"s\.csv:4: week '184952': year out of 1850\.\.2100"):
        _read(path)


def test_week_53_of_a_53_week_year_is_read_as_its_monday(tmp_path, caplog):
    path = _sentinelles(tmp_path, [_row("202101", 20), _row("202053", 30), _row("202052", 40)])
    with caplog.at_level(logging.WARNING, logger="respicast"):
        frame, _ = _read(path)
    local = frame.sort("time")["time"].dt.convert_time_zone("Europe/Paris").dt.date()
    assert local.to_list() == [dt.date(2020, 12, 21), dt.date(2020, 12, 28), dt.date(2021, 1, 4)]
    assert frame.sort("time")["value"].to_list() == [40.0, 30.0, 20.0]
    assert "missing week" not in caplog.text


# ---------------------------------------------------------------- repeated weeks
def test_repeated_week_of_a_region_names_both_lines(tmp_path):
    rows = [_row("202005"), _row("202004", 40), _row("202004", 40, "72"), _row("202004", 41)]
    path = _sentinelles(tmp_path, rows)
    with pytest.raises(
        ValueError,
        match=r"s\.csv:6: week '202004' repeated for geo_insee='73' \(first at line 4; "
        r"1 repeated row\(s\)\)",
    ):
        _read(path)


def test_repeat_in_a_region_left_out_by_geo_is_not_read(tmp_path):
    rows = [_row("202005"), _row("202004", 40, "72"), _row("202004", 41, "72")]
    frame, _ = _read(_sentinelles(tmp_path, rows), geo="73")
    assert frame.height == 1


def test_weeks_overlapping_across_two_exports_are_a_logged_repair(tmp_path, caplog):
    _sentinelles(tmp_path, [_row("202005", 50), _row("202004", 40)], "a.csv")
    _sentinelles(tmp_path, [_row("202006", 60), _row("202005", 55)], "b.csv")
    with caplog.at_level(logging.WARNING, logger="respicast"):
        frame, meta = _read(tmp_path / "*.csv")
    assert frame.sort("time")["value"].to_list() == [40.0, 50.0, 60.0]  # first file's value kept
    assert meta.repairs["duplicates_dropped"] == 1
    assert "b.csv: 1 duplicated (time, site, variable) row(s) dropped, first at line 4" in (
        caplog.text
    )


# ---------------------------------------------------------------- gaps
def test_missing_weeks_logged_with_count_and_first_week_and_left_absent(tmp_path, caplog):
    # descending like the real export; 202053 (2020 has 53 weeks) and 202102..03 are absent
    rows = [_row(w) for w in ("202105", "202104", "202101", "202052", "202051")]
    rows.append(_row("202104", geo="72"))
    with caplog.at_level(logging.WARNING, logger="respicast"):
        frame, _ = _read(_sentinelles(tmp_path, rows))
    assert frame.height == 6  # no week was added or interpolated
    assert (
        "s.csv: geo_insee='73': 3 missing week(s) in the weekly sequence (first missing 202053), "
        "left missing (not interpolated)" in caplog.text
    )
    assert "'72'" not in caplog.text  # a single week is no gap


def test_the_repo_fixture_reads_without_a_gap_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="respicast"):
        _read(FIX / "sentinelles_ili_region.csv", geo="73")
    assert caplog.text == ""


def test_gap_stays_missing_downstream_counted_and_flagged(tmp_path, caplog):
    rows = [_row(w, v) for w, v in (("202005", 50), ("202004", 40), ("202002", 20), ("202001", 10))]
    frame, meta = _read(_sentinelles(tmp_path, rows), geo="73")
    dates = pl.date_range(dt.date(2020, 1, 8), dt.date(2020, 2, 10), "1d", eager=True)
    with caplog.at_level(logging.INFO, logger="respicast"):
        cols, info = source_columns(
            "senti",
            frame,
            meta,
            {},
            make_area("city", None, None),
            {},
            dates,
            "Europe/Paris",
            "step",
        )
    ((column, values),) = cols
    by_day = dict(zip(dates.to_list(), values.to_list(), strict=True))
    # week 202003 (13-19 Jan) would be published Wed 22 Jan: those 7 days have no value
    gap = [dt.date(2020, 1, 22) + dt.timedelta(days=i) for i in range(7)]
    assert [by_day[d] for d in gap] == [None] * 7
    assert by_day[dt.date(2020, 1, 21)] == 20.0 and by_day[dt.date(2020, 1, 29)] == 40.0
    assert info["missing_days"] == {column.name: 7}
    assert (
        f"{column.name}: 7 day(s) without a value after the first one (first 2020-01-22)"
        in caplog.text
    )
    table = pl.DataFrame({"date": dates, column.name: values})
    filled, counts, _ = fill_missing(table, [column.name])
    assert filled.filter(pl.col("date").is_in(gap))[f"{column.name}_filled"].all()
    assert counts[column.name] == 7


# ---------------------------------------------------------------- mixed resolutions (generic)
def _generic(tmp_path: Path, days: list[dt.date], site: list[str] | None = None, **entry):
    lines = ["date,site,admissions"] + [
        f"{d},{site[i] if site else 'x'},{10 + i}" for i, d in enumerate(days)
    ]
    path = tmp_path / "byod.csv"
    path.write_text("\n".join(lines) + "\n")
    options = {"site_column": "site", "columns": {"admissions": {"unit": "count"}}}
    return read_source("byod", {"kind": "generic", "path": str(path), "options": options, **entry})


def _days(start: dt.date, n: int, step: int) -> list[dt.date]:
    return [start + dt.timedelta(days=step * i) for i in range(n)]


def test_daily_then_weekly_rows_in_one_column_are_an_error(tmp_path):
    days = _days(dt.date(2020, 1, 1), 10, 1) + _days(dt.date(2020, 1, 17), 5, 7)
    with pytest.raises(
        ValueError,
        match=r"byod\.csv: column 'admissions' \(site 'x'\) mixes daily and weekly rows: values "
        r"1 day apart at lines 2 and 3, 7 days apart 3 times in a row from line 11",
    ):
        _generic(tmp_path, days)


def test_weekly_source_with_a_day_apart_row_is_an_error(tmp_path):
    days = _days(dt.date(2020, 1, 6), 5, 7) + [dt.date(2020, 2, 4)]
    with pytest.raises(ValueError, match=r"column 'admissions' .* mixes daily and weekly rows"):
        _generic(tmp_path, days, resolution="1w")


@pytest.mark.parametrize(
    ("days", "sites"),
    [
        # daily with a 6-day hole: one 7-day step is a gap, not weekly rows
        (_days(dt.date(2020, 1, 1), 5, 1) + _days(dt.date(2020, 1, 12), 5, 1), None),
        (_days(dt.date(2020, 1, 6), 8, 7), None),  # all weekly
        # one site daily, the other weekly: each series has a single resolution
        (
            _days(dt.date(2020, 1, 1), 6, 1) + _days(dt.date(2020, 1, 6), 5, 7),
            ["a"] * 6 + ["b"] * 5,
        ),
    ],
)
def test_single_resolution_series_read_as_before(tmp_path, days, sites):
    frame, _ = _generic(tmp_path, days, sites)
    assert frame.height == len(days)
