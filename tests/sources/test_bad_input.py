"""Bad inputs: a clear error naming file and line/key, or a repair logged with its count."""

from __future__ import annotations

import logging
import shutil
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


def test_synop_row_with_too_few_fields_names_file_and_line():
    # 4 of 9 fields: read naively it would become 4 missing values (or shifted ones)
    with pytest.raises(
        ValueError, match=r"synop_short_row\.csv:5: 4 field\(s\) where the header \(line 1\) has 9"
    ):
        _read("synop", "synop_short_row.csv")


def test_duplicates_appended_to_one_station_file_reported_against_it(tmp_path, caplog):
    """Two hourly station files (simulated); 3 rows appended again to the second one: the
    warning names that file and the first appended line, not the first file of the source."""
    sim = BAD.parent / "simulated"
    shutil.copy(sim / "atmo_FR50004.csv", tmp_path / "atmo_FR50004.csv")
    text = (sim / "atmo_FR50048.csv").read_text()
    lines = text.splitlines()
    (tmp_path / "atmo_FR50048.csv").write_text(text + "\n".join(lines[5:8]) + "\n")
    with caplog.at_level(logging.WARNING):
        frame, meta = read_source("air", {"kind": "atmo", "path": str(tmp_path / "*.csv")})
    clean, _ = read_source("air", {"kind": "atmo", "path": str(sim / "atmo_*.csv")})
    assert meta.resolution == "1h" and frame.equals(clean)
    assert meta.repairs["duplicates_dropped"] == 3
    first_appended = len(lines) + 1
    assert (
        f"atmo_FR50048.csv: 3 duplicated (time, site, variable) row(s) dropped, "
        f"first at line {first_appended}" in caplog.text
    )
    assert "FR50004.csv" not in caplog.text


@pytest.mark.parametrize(
    ("kind", "text", "options", "message"),
    [
        (
            "pollen",
            "date;site;taxon;grains_m3\n-1997-03-01;TLS;Betula;3\n",
            {},
            r"p\.csv:2: date='-1997-03-01' is outside",
        ),
        (
            "generic",
            "date,n\n2000-01-01,3\n-1997-01-02,4\n",
            {"columns": {"n": {"unit": "count"}}},
            r"p\.csv:3: date='-1997-01-02' is outside",
        ),
        (
            "spf_hosp_dep",
            '"dep";"jour";"incid_hosp"\n"31";2020-03-19;8\n"3";2020-03-20;9\n',
            {"dep": "31"},
            r"p\.csv:3: dep='3' is not a département code",
        ),
        (
            "sentinelles",
            "week,geo_insee,inc100\n201912,73,50\n201913,7,40\n",
            {"geo": "73"},
            r"p\.csv:3: geo_insee='7' is not a region code",
        ),
        (
            "pollen",
            "date;site;taxon;grains_m3\n2024-03-01;TLS;Betula;3\n2024-03-02;TLS\n",
            {},
            r"p\.csv:3: 2 field\(s\)",
        ),
        (
            "spf_hosp_dep",
            '"dep";"jour";"incid_hosp";"incid_rea"\n"31";2020-03-19;8;1\n"31";2020-03-20;9\n',
            {},
            r"p\.csv:3: 3 field\(s\) where the header \(line 1\) has 4",
        ),
        (
            "generic",
            'date,n\n2000-01-01,3\n2000-01-02,"4\n',
            {"columns": {"n": {"unit": "count"}}},
            r"p\.csv:3: badly quoted field",
        ),
        (
            "pollen",
            "date;site;taxon;grains_m3\n2024-03-01;TLS;Betula;3\n2024-03-02;TLS;Betula;",
            {},
            r"p\.csv:3: last line .* looks cut mid-row",
        ),
        (
            "pollen",
            "date,site,taxon,grains_m3\n2024-03-01,TLS,Betula,3\n",
            {},
            r"p\.csv:1: header lacks column\(s\)",
        ),
    ],
)
def test_damaged_fields_are_errors_naming_file_and_line(tmp_path, kind, text, options, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_source("src", {"kind": kind, "path": str(path), "options": options})


def test_rows_left_out_by_a_filter_are_counted(tmp_path, caplog):
    path = tmp_path / "p.csv"
    path.write_text("date;site;taxon;grains_m3\n2024-03-01;TLS;Betula;3\n2024-03-01;TLS;Betla;4\n")
    with caplog.at_level(logging.INFO, logger="respicast"):
        frame, _ = read_source(
            "p", {"kind": "pollen", "path": str(path), "options": {"taxa": ["Betula"]}}
        )
    assert frame.height == 1
    assert "p.csv: 1 row(s) not read (taxon not in options.taxa ['Betula'])" in caplog.text


def test_blank_lines_crlf_and_bom_read_as_the_clean_file(tmp_path):
    clean = BAD.parent / "pollen_toulouse.csv"
    lines = clean.read_text().splitlines()
    messy = tmp_path / "messy.csv"
    messy.write_bytes(("\ufeff" + "\r\n".join([*lines[:3], "", *lines[3:]]) + "\r\n").encode())
    a, _ = read_source("p", {"kind": "pollen", "path": str(clean)})
    b, _ = read_source("p", {"kind": "pollen", "path": str(messy)})
    assert a.equals(b)


def test_infinite_value_is_set_invalid(tmp_path, caplog):
    path = tmp_path / "p.csv"
    path.write_text(
        "date;site;taxon;grains_m3\n2024-03-01;TLS;Betula;1e999\n2024-03-02;TLS;Betula;4\n"
    )
    with caplog.at_level(logging.WARNING):
        frame, meta = read_source("p", {"kind": "pollen", "path": str(path)})
    assert meta.repairs["implausible_set_invalid"] == 1
    assert frame.sort("time")["quality"].to_list() == ["invalid", "valid"]
