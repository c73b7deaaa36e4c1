"""Every reader on real excerpts (or published layouts) returns the source-frame contract."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from respicast.sources import SOURCE_SCHEMA, read_source

FIX = Path(__file__).parents[1] / "fixtures" / "sources"
UTC = dt.UTC


def _check_contract(frame: pl.DataFrame) -> None:
    assert dict(frame.schema) == SOURCE_SCHEMA
    assert frame["quality"].is_in(["valid", "invalid", "missing"]).all()
    assert (frame["published"] > frame["time"]).all()
    assert frame.select(pl.struct("time", "site", "variable").is_unique().all()).item()


def test_sentinelles_region_week_and_publication():
    frame, meta = read_source(
        "ili",
        {
            "kind": "sentinelles",
            "path": str(FIX / "sentinelles_ili_region.csv"),
            "options": {"geo": "73"},
        },
    )
    _check_contract(frame)
    assert frame["site"].unique().to_list() == ["73"] and meta.resolution == "1w"
    # 2019w02 starts Monday 7 Jan 2019 (local midnight = 23:00 UTC the day before)
    row = frame.filter(pl.col("time") == dt.datetime(2019, 1, 6, 23, tzinfo=UTC))
    assert row.height == 1 and row["unit"][0] == "per100k"
    # published on the Wednesday after the week: 16 Jan 2019, 12:00 Paris
    assert row["published"][0] == dt.datetime(2019, 1, 16, 11, tzinfo=UTC)
    assert meta.groups["inc100"] == "epidemics"


def test_spf_departement_quoted_codes():
    frame, meta = read_source(
        "covid",
        {"kind": "spf_hosp_dep", "path": str(FIX / "spf_hosp_dep.csv"), "options": {"dep": "31"}},
    )
    _check_contract(frame)
    assert frame["site"].unique().to_list() == ["31"]
    first = frame.sort("time").row(0, named=True)
    assert first["time"] == dt.datetime(2020, 3, 18, 23, tzinfo=UTC) and first["value"] == 8.0


def test_atmo_lambert93_to_wgs84_and_validity():
    frame, meta = read_source(
        "air", {"kind": "atmo", "path": str(FIX / "atmo_monthly_toulouse.csv")}
    )
    _check_contract(frame)
    assert meta.resolution == "1mo" and set(frame["variable"]) <= {"NO2", "PM10", "O3"}
    peri = meta.sites["FR50048"]
    # the file's own rounded WGS84 columns say Y=43.574, X=1.4496; X is ~1 km off the Lambert-93
    # position (x=573544 lies ~1.57 deg of longitude west of the 3 deg E origin at x=700000)
    assert peri.lat == pytest.approx(43.574, abs=1e-3)
    assert peri.lon == pytest.approx(1.435, abs=2e-3)
    assert peri.type == "urbaine/trafic"
    assert set(frame["unit"]) == {"ug/m3"}


def test_synop_kelvin_missing_marker_and_dst():
    frame, meta = read_source("wx", {"kind": "synop", "path": str(FIX / "synop.202403.csv")})
    _check_contract(frame)
    t = frame.filter(pl.col("variable") == "t").sort("time")
    assert t["unit"][0] == "degC" and t["value"][0] == pytest.approx(7.0)
    assert t.filter(pl.col("quality") == "missing").height == 1  # the "mq" record is kept, flagged
    rr = frame.filter(pl.col("variable") == "rr3").sort("time")
    assert rr["time"][0] == dt.datetime(
        2024, 3, 29, 21, tzinfo=UTC
    )  # accumulated over the 3 h before 00 UTC
    assert meta.sites["07630"].lat == pytest.approx(43.621)


def test_meteo_daily_quality_codes():
    frame, _ = read_source(
        "clim", {"kind": "meteo_daily", "path": str(FIX / "meteo_daily_Q_31.csv")}
    )
    _check_contract(frame)
    tn = frame.filter(pl.col("variable") == "TN").sort("time")
    assert tn["quality"].to_list().count("invalid") == 1  # QTN = 2 (doubtful) on 4 January
    assert tn.filter(pl.col("quality") == "invalid")["value"].is_null().all()


def test_pollen_long_format_keeps_gaps_absent():
    frame, meta = read_source(
        "pollen",
        {
            "kind": "pollen",
            "path": str(FIX / "pollen_toulouse.csv"),
            "options": {"sites": {"TLS": {"lat": 43.6, "lon": 1.44}}},
        },
    )
    _check_contract(frame)
    assert sorted(frame["variable"].unique()) == ["Betula", "Cupressaceae"]
    assert frame.filter(pl.col("variable") == "Betula").height == 8  # 10 days minus a weekend
    assert meta.groups["Betula"] == "pollen" and meta.latency.days == 3


def test_generic_reader_chicago_units_and_groups():
    cfg = {
        "kind": "generic",
        "path": str(FIX / "chicago_nmmaps_head.csv"),
        "options": {
            "site": "chicago",
            "columns": {
                "resp": {"unit": "count", "group": "history"},
                "dptp": {"unit": "degF", "variable": "dewpoint"},
                "pm10": {"unit": "ug/m3", "group": "pollution"},
            },
            "ignore": ["time", "year", "month", "doy", "dow", "death", "cvd"],
        },
    }
    frame, meta = read_source("nmmaps", cfg, tz="America/Chicago")
    _check_contract(frame)
    dew = frame.filter(pl.col("variable") == "dewpoint").sort("time")
    assert dew["value"][0] == pytest.approx((31.5 - 32) * 5 / 9)  # 31.5 °F on 1987-01-01
    assert meta.groups == {"resp": "history", "dewpoint": "weather", "pm10": "pollution"}
    # an empty pm10 cell (1987-01-02) is a missing observation, not a dropped row
    assert (
        frame.filter((pl.col("variable") == "pm10") & (pl.col("quality") == "missing")).height >= 1
    )


def test_generic_reader_parquet(tmp_path):
    df = pl.DataFrame({"day": [dt.date(2020, 1, 1), dt.date(2020, 1, 2)], "count": [3, 5]})
    df.write_parquet(tmp_path / "t.parquet")
    frame, _ = read_source(
        "mine",
        {
            "kind": "generic",
            "path": str(tmp_path / "t.parquet"),
            "options": {
                "date_column": "day",
                "columns": {"count": {"unit": "count", "group": "history"}},
            },
        },
    )
    assert frame.sort("time")["value"].to_list() == [3.0, 5.0]


def test_pkg_path_resolves_shipped_examples():
    frame, _ = read_source(
        "asthma",
        {
            "kind": "generic",
            "path": "pkg:examples_data/campbelltown_asthma/Asthma.csv",
            "options": {"columns": {"Count": {"unit": "count", "group": "history"}}, "ignore": []},
        },
    )
    assert frame.height == 1461 and frame["value"].sum() == pytest.approx(1.939 * 1461, rel=1e-3)
