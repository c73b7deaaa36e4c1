"""Bring your own data: gas units in ppb/ppm, config errors naming the key, missing-value markers
and decimal commas, a table holding only the target, and a backtest too long for the series."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from respicast.evaluation.backtest import backtest_folds
from respicast.harmonize.build import build_daily_table
from respicast.sources import read_source
from respicast.sources.units import MOLAR_VOLUME_L

FIX = Path(__file__).parents[1] / "fixtures" / "sources"


def _generic(path: Path, **options):
    return read_source("mine", {"kind": "generic", "path": str(path), "options": options})


def test_atmo_ppb_converted_at_eu_reference_conditions():
    frame, meta = read_source("air", {"kind": "atmo", "path": str(FIX / "bad" / "atmo_ppb.csv")})
    # 74.2 ppb NO2 at 20 degC, 101.325 kPa: 74.2 * 46.0055 / 24.055 = 141.9 ug/m3
    assert MOLAR_VOLUME_L == pytest.approx(8.314462618 * 293.15 / 101.325, abs=1e-3)
    assert frame["value"][0] == pytest.approx(74.2 * 46.0055 / 24.055)
    assert frame["unit"][0] == "ug/m3" and meta.units == {"NO2": "ug/m3"}


def test_generic_ppm_and_ppb_columns_by_variable_or_gas(tmp_path):
    path = tmp_path / "air.csv"
    path.write_text("date,o3,co_ppm,x\n2020-01-01,40,0.5,10\n2020-01-02,30,0.4,20\n")
    frame, _ = _generic(
        path,
        columns={
            "o3": {"unit": "ppb", "group": "pollution"},
            "co_ppm": {"unit": "ppm", "gas": "CO", "variable": "co", "group": "pollution"},
            "x": {"unit": "ug/m3", "group": "pollution"},
        },
    )
    by = {v: g.sort("time")["value"].to_list() for (v,), g in frame.group_by(["variable"])}
    assert by["o3"] == pytest.approx([40 * 47.9982 / 24.055, 30 * 47.9982 / 24.055])
    assert by["co"] == pytest.approx([500 * 28.0101 / 24.055, 400 * 28.0101 / 24.055])
    assert by["x"] == [10.0, 20.0]  # ug/m3 untouched


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"n": {"unit": "ppt"}},
            r"data\.sources\.mine\.options\.columns\.n\.unit: unknown unit 'ppt'",
        ),
        (
            {"n": {"unit": "ppb"}},
            r"data\.sources\.mine\.options\.columns\.n \(set data\.sources\.mine\.options\.columns\.n\.gas\): unit 'ppb' of 'n'",
        ),
        (
            {"n": {"unit": "count", "colour": 1}},
            r"options\.columns\.n: unknown key\(s\) \['colour'\]",
        ),
        ({"n": {"group": "history"}}, r"options\.columns\.n\.unit is required"),
    ],
)
def test_unit_problems_are_config_errors_naming_the_key(tmp_path, columns, message):
    path = tmp_path / "t.csv"
    path.write_text("date,n\n2020-01-01,1\n")
    with pytest.raises(ValueError, match=message) as err:
        _generic(path, columns=columns)
    assert "t.csv" not in str(err.value)  # not a data line problem


def test_unknown_option_and_decimal_comma_with_comma_separator(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("date,n\n2020-01-01,1\n")
    with pytest.raises(
        ValueError, match=r"data\.sources\.mine\.options: unknown key\(s\) \['na'\]"
    ):
        _generic(path, na=["n/a"], columns={"n": {"unit": "count"}})
    with pytest.raises(ValueError, match=r"decimal ',' needs another separator"):
        _generic(path, decimal=",", columns={"n": {"unit": "count"}})


def test_na_values_and_decimal_comma(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("date;n;t\n2020-01-01;3;1,5\n2020-01-02;n/a;-2,25\n2020-01-03;4;?\n")
    cols = {"n": {"unit": "count", "group": "history"}, "t": {"unit": "degC"}}
    with pytest.raises(ValueError, match=r"t\.csv:3: cannot read n='n/a' as a number"):
        _generic(path, separator=";", decimal=",", columns=cols)
    frame, _ = _generic(path, separator=";", decimal=",", na_values=["n/a", "?"], columns=cols)
    by = {v: g.sort("time") for (v,), g in frame.group_by(["variable"])}
    assert by["n"]["value"].to_list() == [3.0, None, 4.0]
    assert by["n"]["quality"].to_list() == ["valid", "missing", "valid"]
    assert by["t"]["value"].to_list() == [1.5, -2.25, None]


def _daily_counts_csv(path: Path, first: str, last: str) -> Path:
    days = pl.date_range(
        dt.date.fromisoformat(first), dt.date.fromisoformat(last), "1d", eager=True
    )
    counts = np.random.default_rng(0).poisson(8, len(days))
    pl.DataFrame({"day": days.dt.strftime("%d/%m/%Y"), "admissions": counts}).write_csv(
        path, separator=";"
    )
    return path


def test_table_holding_only_the_target_builds(tmp_path, caplog):
    path = _daily_counts_csv(tmp_path / "ili.csv", "2019-01-01", "2020-12-31")
    options = {
        "separator": ";",
        "date_column": "day",
        "date_format": "%d/%m/%Y",
        "columns": {"admissions": {"unit": "count", "group": "history"}},
    }
    cfg = {
        "name": "mine",
        "sources": {"ili": {"kind": "generic", "path": str(path), "options": options}},
        "target": {"source": "ili", "column": "admissions"},
        "spatial": {"level": "city", "method": "mean"},
    }
    with caplog.at_level(logging.INFO, logger="respicast"):
        table = build_daily_table(cfg)
    assert (
        table.frame.height == 731
        and table.frame["admissions"].sum() == pl.read_csv(path, separator=";")["admissions"].sum()
    )
    assert {c.group for c in table.columns} == {"calendar"}
    assert "source ili holds only the target column 'admissions'" in caplog.text


def test_backtest_too_long_for_a_three_year_series_names_the_settings():
    origins = np.arange(np.datetime64("2019-01-29"), np.datetime64("2021-12-25"))
    with pytest.raises(ValueError, match=r"train part is empty.*lower backtest\.val_days") as err:
        backtest_folds(origins, 35, {"min_train_years": 1, "val_days": 365})
    assert "backtest.min_train_years" in str(err.value)
    with pytest.raises(ValueError, match=r"no rolling fold.*backtest\.min_train_years=3"):
        backtest_folds(origins, 35, {})
    folds = backtest_folds(origins, 35, {"min_train_years": 1, "val_days": 120})
    assert [f.fold for f in folds] == [0, 1]  # the suggested change runs


def test_ppb_of_a_particle_count_is_an_error_naming_the_data_line(tmp_path):
    text = (FIX / "bad" / "atmo_ppb.csv").read_text().replace(",NO2,8,", ",PM10,5,")
    (tmp_path / "pm.csv").write_text(text)
    with pytest.raises(ValueError, match=r"pm\.csv:2: unit 'ppb' of 'PM10': a mixing ratio"):
        read_source("air", {"kind": "atmo", "path": str(tmp_path / "pm.csv")})


def test_real_export_codes_and_units_are_read(tmp_path):
    """Found on the full real exports: Sentinelles' '0' OUTRE-MER region rows (values '-') and
    ATMO's CO in mg.m-3."""
    sentinelles = tmp_path / "ili.csv"
    sentinelles.write_text(
        "week,indicator,inc,inc_low,inc_up,inc100,inc100_low,inc100_up,geo_insee,geo_name\n"
        "202036,3,458,0,948,7,0,14,82,RHONE-ALPES\n"
        "202036,3,-,,,-,,,0,OUTRE-MER\n"
    )
    frame, _ = read_source("ili", {"kind": "sentinelles", "path": str(sentinelles)})
    assert frame.sort("site")["quality"].to_list() == ["missing", "valid"]
    text = (
        (FIX / "bad" / "atmo_ppb.csv").read_text().replace(",NO2,8,74.2,ppb,", ",CO,10,0.4,mg.m-3,")
    )
    (tmp_path / "co.csv").write_text(text)
    frame, _ = read_source("air", {"kind": "atmo", "path": str(tmp_path / "co.csv")})
    assert frame["value"].to_list() == [400.0] and frame["unit"].to_list() == ["ug/m3"]
