"""data.resolution 1w: daily tables to ISO weeks, weekly windows, thresholds, folds and blocks."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from respicast.dataset.build import build_windows, peak_in_rows
from respicast.evaluation.backtest import backtest_folds
from respicast.evaluation.bootstrap import iso_week_ids
from respicast.harmonize.weekly import step_days, to_weekly
from respicast.table import Column, DailyTable

START = dt.date(2018, 1, 3)  # a Wednesday: the first week is partial


def _daily(n_days: int = 1200, weekly_target: bool = False) -> DailyTable:
    dates = pl.date_range(START, START + dt.timedelta(days=n_days - 1), eager=True)
    t = np.arange(n_days, dtype=float)
    count = np.round(5 + 3 * np.sin(2 * np.pi * t / 365.25))
    if weekly_target:  # a weekly source: one value on each Monday, nothing on other days
        count = np.where(dates.dt.weekday().to_numpy() == 1, 7 * count, np.nan)
    frame = pl.DataFrame(
        {
            "date": dates,
            "admissions": count,
            "temp": t,
            "temp_filled": (np.arange(n_days) % 7) == 0,
            "school_holiday": (np.arange(n_days) % 10 < 3).astype(float),
            "dow_sin": np.sin(2 * np.pi * t / 7),
        }
    )
    cols = [
        Column("temp", "weather", mask="temp_filled"),
        Column("school_holiday", "calendar", known_future=True),
        Column("dow_sin", "calendar", known_future=True),
    ]
    return DailyTable(frame, "admissions", cols, target_latency_days=3)


def test_a_daily_table_becomes_complete_iso_weeks_dated_by_sunday():
    daily = _daily()
    weekly = to_weekly(daily, "test")
    f = weekly.frame
    assert weekly.step_days == 7 and weekly.target_latency_days == 1  # 3 days: one week late
    assert (f["date"].dt.weekday() == 7).all()  # Sundays
    first = f["date"][0]
    assert first - dt.timedelta(days=6) >= START  # the partial first week is dropped
    week = daily.frame.filter(pl.col("date").is_between(first - dt.timedelta(days=6), first))
    assert f["admissions"][0] == week["admissions"].sum()  # a daily target: the week's sum
    assert f["temp"][0] == pytest.approx(week["temp"].mean())  # as-of values: the mean
    assert f["temp_filled"][0] == pytest.approx(1 / 7)  # the share of filled days
    assert "dow_sin" not in f.columns and [c.name for c in weekly.columns] == [
        "temp",
        "school_holiday",
    ]


def test_a_weekly_source_keeps_its_value_and_an_incomplete_daily_week_is_missing(caplog):
    weekly = to_weekly(_daily(weekly_target=True), "test")
    src = _daily(weekly_target=True).frame.drop_nulls("admissions")
    monday = weekly.frame["date"][3] - dt.timedelta(days=6)
    assert weekly.frame["admissions"][3] == src.filter(pl.col("date") == monday)["admissions"][0]
    daily = _daily()
    gap = daily.frame.with_columns(
        pl.when(pl.col("date") == dt.date(2018, 3, 14))
        .then(None)
        .otherwise(pl.col("admissions"))
        .alias("admissions")
    )
    with caplog.at_level("WARNING"):
        out = to_weekly(DailyTable(gap, "admissions", daily.columns), "test")
    row = out.frame.filter(pl.col("date") == dt.date(2018, 3, 18))
    assert row["admissions"].is_null().all()
    assert "1 week(s) with 1-6 observed target days" in caplog.text


def test_weekly_windows_step_in_weeks_and_thresholds_count_weeks():
    weekly = to_weekly(_daily(), "test")
    peak = {"method": "trailing_quantile", "q": 0.9, "window_days": 365, "min_periods": 180}
    assert peak_in_rows(peak, 7) == {**peak, "window_days": 52, "min_periods": 26}
    ws, _ = build_windows(weekly, lookback=8, horizon=4, train_end_day=100, peak=peak)
    assert ws.step_days == 7
    gaps = (ws.target_dates() - ws.origins[:, None]).astype(int)
    np.testing.assert_array_equal(gaps[0], [7, 14, 21, 28])
    assert np.isnan(ws.threshold[: 26 - 8 + 1]).all()  # 26 weeks of known history first
    assert np.isfinite(ws.threshold[40])
    # validation days of a backtest become weeks
    folds = backtest_folds(ws.origins[:-4], 12, {"val_days": 365, "first_test_year": 2020})
    val = folds[0].val
    assert 50 <= val.stop - val.start <= 53


def test_weekly_bootstrap_blocks_are_four_weeks_and_a_bad_resolution_is_named():
    days = pl.Series(pl.date_range(dt.date(2020, 1, 5), dt.date(2020, 6, 28), "7d", eager=True))
    ids = iso_week_ids(days)
    assert (
        len(np.unique(ids)) == int(np.ceil(len(days) / 4))
        or len(np.unique(ids)) == len(days) // 4 + 1
    )
    assert all(np.sum(ids == i) <= 4 for i in np.unique(ids))
    daily = pl.Series(pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 1, 31), eager=True))
    assert len(np.unique(iso_week_ids(daily))) == 5  # ISO weeks of January 2020
    with pytest.raises(ValueError, match="data.resolution='2w'"):
        step_days({"resolution": "2w"})
    assert step_days({"resolution": "1w"}) == 7 and step_days({}) == 1
