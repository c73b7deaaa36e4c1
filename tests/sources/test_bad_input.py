"""Bad inputs: a clear error naming file and line/key, or a repair logged with its count."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from respicast.sources import read_source

BAD = Path(__file__).parents[1] / "fixtures" / "sources" / "bad"


def _read(kind: str, name: str, **options):
    return read_source("src", {"kind": kind, "path": str(BAD / name), "options": options})


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("synop", "empty.csv", r"empty\.csv: empty file"),
        (
            "synop",
            "synop_bad_date.csv",
            r"synop_bad_date\.csv:3: cannot read date='2024-03-01 03h'",
        ),
        ("synop", "synop_bad_number.csv", r"synop_bad_number\.csv:3: cannot read t='abc'"),
        (
            "synop",
            "synop_unknown_station.csv",
            r"synop_unknown_station\.csv:2: unknown station '99999'",
        ),
        (
            "atmo",
            "atmo_unknown_unit.csv",
            r"atmo_unknown_unit\.csv:2: unknown unit 'mol\.m-3'",
        ),
        ("atmo", "atmo_no_coordinates.csv", r"atmo_no_coordinates\.csv:2: unknown station"),
        (
            "sentinelles",
            "sentinelles_bad_week.csv",
            r"sentinelles_bad_week\.csv:3: week '2019w3' is not YYYYWW",
        ),
        ("spf_hosp_dep", "spf_header_only.csv", r"spf_header_only\.csv: header but no data rows"),
    ],
)
def test_errors_name_file_and_line(kind, name, message):
    with pytest.raises(ValueError, match=message):
        _read(kind, name)


def test_unknown_pollen_trap_names_line():
    with pytest.raises(ValueError, match=r"pollen_unknown_trap\.csv:3: unknown pollen trap 'XYZ'"):
        _read("pollen", "pollen_unknown_trap.csv", sites={"TLS": {"lat": 43.6, "lon": 1.4}})


def test_ragged_row_is_an_error_naming_the_file_and_line():
    with pytest.raises(ValueError, match=r"generic_ragged\.csv:3: 4 field\(s\) where the header"):
        _read("generic", "generic_ragged.csv", columns={"resp": {"unit": "count"}})


def test_missing_file_names_the_path():
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        _read("pollen", "nope.csv")


def test_impossible_temperature_is_set_invalid_and_logged(caplog):
    with caplog.at_level(logging.WARNING):
        frame, meta = _read("synop", "synop_60degC.csv")
    t = frame.filter(frame["variable"] == "t").sort("time")
    assert t["quality"].to_list() == ["invalid", "valid"] and t["value"][0] is None
    assert meta.repairs["implausible_set_invalid"] == 1
    assert "1 implausible value(s) set invalid (first: line 2" in caplog.text


def test_negative_concentration_is_set_invalid(caplog):
    with caplog.at_level(logging.WARNING):
        frame, meta = _read("atmo", "atmo_negative.csv")
    assert meta.repairs == {"implausible_set_invalid": 1}
    assert frame.filter(frame["quality"] == "invalid").height == 1


def test_duplicated_timestamps_dropped_with_count(caplog):
    with caplog.at_level(logging.WARNING):
        frame, meta = _read("atmo", "atmo_duplicated.csv")
    assert frame.height == 3 and meta.repairs["duplicates_dropped"] == 1
    assert "1 duplicated (time, site, variable) row(s) dropped, first at line 5" in caplog.text


def test_unknown_source_key_and_kind():
    with pytest.raises(ValueError, match=r"data.sources.src: unknown keys \['colour'\]"):
        read_source("src", {"kind": "pollen", "path": "x", "colour": 1})
    with pytest.raises(ValueError, match=r"data.sources.src.kind='radar'"):
        read_source("src", {"kind": "radar", "path": "x"})
