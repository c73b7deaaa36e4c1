from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from respicast.harmonize.temporal import to_periods

UTC = dt.UTC
TZ = "Europe/Paris"


def _daily(hourly, values, start, variable="NO2", **opts):
    frame, meta = hourly(np.asarray(values, float), start, variable)
    return to_periods(frame, meta, TZ, opts).sort("variable", "start")


def test_local_days_across_dst_change_have_23_hours(hourly):
    # 31 March 2024 in Paris lasts 23 h: 22:00 UTC on the 30th .. 22:00 UTC on the 31st
    start = dt.datetime(2024, 3, 30, 23, tzinfo=UTC)
    out = _daily(hourly, np.arange(23.0), start)
    mean = out.filter(
        (pl.col("variable") == "NO2_mean") & (pl.col("start") == dt.date(2024, 3, 31))
    )
    assert mean["value"][0] == pytest.approx(11.0)
    # the following day is incomplete (no hours at all) and absent; the day has 23 >= 0.75*23 hours
    assert set(out["start"].to_list()) == {dt.date(2024, 3, 31)}


def test_completeness_rule_18_of_24_hours(hourly):
    start = dt.datetime(2024, 1, 9, 23, tzinfo=UTC)  # local midnight, 10 January
    day18 = np.r_[np.ones(18), np.full(6, np.nan)]
    day17 = np.r_[np.ones(17), np.full(7, np.nan)]
    out = _daily(hourly, np.r_[day18, day17], start).filter(pl.col("variable") == "NO2_mean")
    assert out["value"].to_list() == [1.0, None]


def test_o3_daily_max_of_8h_running_mean(hourly):
    start = dt.datetime(2024, 6, 30, 22, tzinfo=UTC)  # local midnight 1 July (CEST)
    vals = np.full(48, 50.0)
    vals[24 + 10 : 24 + 18] = 130.0  # 8 hours at 130 on 2 July: one 8-h mean reaches 130
    vals[24 + 5] = 400.0  # a lone spike: an 8-h mean dilutes it
    out = _daily(hourly, vals, start, "O3").filter(pl.col("variable") == "O3_max8h")
    assert out.filter(pl.col("start") == dt.date(2024, 7, 2))["value"][0] == pytest.approx(130.0)
    # day 1: the first 5 hourly ends lack 6 valid hours, 19 valid 8-h means remain (>= 18)
    first = out.filter(pl.col("start") == dt.date(2024, 7, 1))["value"][0]
    assert first == pytest.approx(50.0)


def test_temperature_min_mean_max_and_precip_sum(hourly):
    start = dt.datetime(2024, 1, 9, 23, tzinfo=UTC)
    out = _daily(hourly, np.arange(24.0), start, "t")
    got = dict(zip(out["variable"], out["value"], strict=True))
    assert got == {"t_max": 23.0, "t_mean": 11.5, "t_min": 0.0}
    out = _daily(hourly, np.full(24, 0.5), start, "rr1")
    assert out["value"].to_list() == [12.0]
