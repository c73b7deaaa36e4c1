from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import polars as pl
import pytest
from omegaconf import OmegaConf

from respicast.harmonize import build_daily_table
from respicast.harmonize.asof import align
from respicast.harmonize.calendar import calendar_frame
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import make_area, site_weights
from respicast.harmonize.target import counts_to_target
from respicast.sources.frame import Latency, Site

CONF = Path(__file__).parents[2] / "conf" / "data"


def _real_cfg(name: str, cache_dir) -> dict:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    cfg.sources = OmegaConf.load(CONF / "sources" / f"{name}.yaml")
    cfg.cache_dir = str(cache_dir) if cache_dir else None
    del cfg["defaults"]
    return cfg


def test_chicago_table_as_of_and_cache(tmp_path, caplog):
    table = build_daily_table(_real_cfg("chicago_nmmaps", tmp_path))
    f = table.frame
    assert table.target == "resp" and f.height == 5114 and f["resp"].null_count() == 0
    raw = pl.read_csv(
        Path(__file__).parents[2] / "src/respicast/examples_data/chicago_nmmaps/chicagoNMMAPS.csv"
    )
    # as-of: the temperature on row s is the one of day s-1 (published next day)
    assert f["nmmaps_temp"][1:10].to_list() == pytest.approx(raw["temp"][0:9].to_list())
    assert {c.group for c in table.columns} == {"weather", "pollution", "calendar"}
    assert table.meta["fill_counts"]["nmmaps_rhum"] > 1000 and f["nmmaps_rhum_filled"].sum() > 1000
    assert table.meta["sources"]["nmmaps"]["repairs"]["implausible_set_invalid"] > 0
    with caplog.at_level(logging.INFO):
        again = build_daily_table(_real_cfg("chicago_nmmaps", tmp_path))
    assert "reused from cache" in caplog.text and again.meta["cache"]["reused"]
    assert again.frame.equals(f)


def test_campbelltown_low_counts():
    table = build_daily_table(_real_cfg("campbelltown_asthma", None))
    assert table.target == "Count" and table.frame.height == 1461
    assert table.frame["Count"].max() == 14
    assert [c.name for c in table.columns if c.group == "pollution"] == ["asthma_no2max"]


def test_counts_to_target_sums_selection_and_zero_fills(caplog):
    counts = pl.DataFrame(
        {
            "date": [
                dt.date(2020, 1, 1),
                dt.date(2020, 1, 1),
                dt.date(2020, 1, 3),
                dt.date(2020, 1, 3),
            ],
            "zone": ["z1", "z2", "z1", "z1"],
            "outcome": ["copd", "asthma", "copd", "other"],
            "age_band": ["65+", "0-14", "65+", "65+"],
            "count": [2, 3, 4, 100],
        }
    )
    with caplog.at_level(logging.INFO):
        out = counts_to_target(counts, ["copd", "asthma"], None, None, "test")
    assert out["count"].to_list() == [5.0, 0.0, 4.0]
    assert "1 day(s) without admissions set to 0" in caplog.text
    with pytest.raises(ValueError, match="no admissions"):
        counts_to_target(counts, ["copd"], None, "z2", "t2")


def test_fill_is_causal_and_masked():
    df = pl.DataFrame({"x": [None, 1.0, None, None, None, None, 5.0]})
    out, filled, unfilled = fill_missing(df, ["x"], "locf_then_seasonal", 2)
    assert out["x"].to_list()[:4] == [None, 1.0, 1.0, 1.0]
    assert out["x"][4] == pytest.approx(1.0)  # beyond LOCF: mean of earlier known values (only 1.0)
    assert out["x_filled"].to_list() == [True, False, True, True, True, True, False]
    assert filled == {"x": 4} and unfilled == {"x": 1}


def test_weekly_step_waits_for_publication():
    weeks = pl.DataFrame(
        {"start": [dt.date(2021, 1, 4), dt.date(2021, 1, 11)], "value": [10.0, 20.0]}
    )
    lat = Latency(3, 12)
    series = weeks.with_columns(last=pl.col("start") + pl.duration(days=6)).with_columns(
        published=lat.published(pl.col("last"), "Europe/Paris")
    )
    dates = pl.date_range(dt.date(2021, 1, 12), dt.date(2021, 1, 21), "1d", eager=True)
    got = align(series, dates, "1w", lat, "Europe/Paris", "step").to_list()
    # week of 4 Jan published Wed 13 Jan, week of 11 Jan on Wed 20 Jan
    assert got == [None, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 20.0]


def test_spatial_weights():
    zones = pl.DataFrame(
        {"zone": ["a", "b"], "population": [100, 300], "lat": [43.60, 43.70], "lon": [1.40, 1.40]}
    )
    area = make_area("city", None, zones)
    sites = {"near_a": Site("near_a", 43.60, 1.40), "near_b": Site("near_b", 43.70, 1.40)}
    assert site_weights(sites, area, "population", "air") == {"near_a": 100.0, "near_b": 300.0}
    idw = site_weights(sites, area, "idw", "air")
    assert idw["near_b"] > idw["near_a"]  # the centroid (pop-weighted) is closer to b
    near = site_weights(sites, area, "nearest", "air")
    assert near["near_b"] == 1.0 and near["near_a"] < 1e-5
    with pytest.raises(ValueError, match="spatial method 'idw' needs coordinates"):
        site_weights({"x": Site("x"), "y": Site("y")}, area, "idw", "pollen")


def test_calendar_france_zone_c():
    dates = pl.date_range(dt.date(2023, 7, 13), dt.date(2023, 7, 17), "1d", eager=True)
    cal = calendar_frame(dates, "FR", "C")
    assert cal["public_holiday"].to_list() == [0.0, 1.0, 0.0, 0.0, 0.0]  # 14 July
    assert cal["school_holiday"].to_list() == [1.0] * 5  # summer holidays
    assert cal["dow_sin"][4] == pytest.approx(0.0)  # Monday


def test_school_return_weeks_follow_the_end_of_the_summer_holidays():
    # zone C, 2023: summer holidays end on Sunday 3 September, school returns on Monday 4
    dates = pl.date_range(dt.date(2023, 8, 30), dt.date(2023, 10, 5), "1d", eager=True)
    cal = calendar_frame(dates, "FR", "C", school_return_weeks=4)
    week = {k: cal.filter(pl.col(f"school_return_w{k}") == 1.0)["date"] for k in range(4)}
    assert week[0].to_list() == [dt.date(2023, 9, d) for d in range(4, 11)]
    assert week[3].to_list() == [dt.date(2023, 9, d) for d in range(25, 32) if d <= 30] + [
        dt.date(2023, 10, 1)
    ]
    total = sum(cal[f"school_return_w{k}"] for k in range(4))
    assert total.max() == 1.0 and total.sum() == 28  # one-hot, four whole weeks
    assert cal.filter(pl.col("date") < dt.date(2023, 9, 4))["school_return_w0"].sum() == 0
    # off by default; no school zone: no school columns, and return weeks without one are refused
    assert not any(c.startswith("school_return") for c in calendar_frame(dates, "FR", "C").columns)
    assert not any(c.startswith("school_") for c in calendar_frame(dates, "FR", None).columns)
    with pytest.raises(ValueError, match="data.calendar.school_return_weeks"):
        calendar_frame(dates, "FR", None, school_return_weeks=2)
