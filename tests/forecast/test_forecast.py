"""respicast-forecast: files, as-of honesty, small-count suppression, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from respicast.forecast import ForecastError, make_forecast, write_outputs
from respicast.forecast.alerts import ppv_threshold
from respicast.forecast.suppress import count_cell
from respicast.table import DailyTable

ASOF = "1999-03-10"  # inside the test period (1998-2000) of the tiny Chicago run
CFG = {"freshness": {"max_staleness_days": {"default": 14, "admissions": 7}}}


def _with_frame(table: DailyTable, frame: pl.DataFrame) -> DailyTable:
    return DailyTable(
        frame, table.target, table.columns, table.area, table.target_latency_days, table.meta
    )


def test_cli_writes_the_three_files(lstm_run, tmp_path):
    out = tmp_path / "fc"
    cmd = [
        sys.executable,
        "-m",
        "respicast.cli.forecast",
        f"ckpt_path={lstm_run}",
        f"asof={ASOF}",
        f"hydra.run.dir={out}",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    for ext in ("json", "csv", "html"):
        assert (out / f"forecast.{ext}").stat().st_size > 0
    doc = json.loads((out / "forecast.json").read_text())
    days = doc["forecast"]
    assert [d["date"] for d in days] == [
        str(dt.date(1999, 3, 11) + dt.timedelta(days=i)) for i in range(7)
    ]
    for d in days:
        assert 0.0 <= d["peak_prob"] <= 1.0 and d["level"] in {"none", "watch", "alert"}
        assert d["alert_threshold"] >= d["watch_threshold"]
        lv = (
            "alert"
            if d["peak_prob"] >= d["alert_threshold"]
            else "watch"
            if d["peak_prob"] >= d["watch_threshold"]
            else "none"
        )
        assert d["level"] == lv
    assert doc["freshness"]["nmmaps"]["last_covered"] == "1999-03-09"  # latency 1 day
    assert doc["freshness"]["admissions"]["staleness_days"] == 1
    html = (out / "forecast.html").read_text()
    assert "data:image/png;base64," in html and "Data freshness" in html and 'src="http' not in html
    assert str(lstm_run) not in html and f"run {lstm_run.name}" in html  # no server path
    assert doc["run_dir"] == lstm_run.name  # forecast.json: the run's name, no server path
    assert str(lstm_run) not in (out / "forecast.json").read_text()


def test_page_decision_view_uses_only_days_known_by_the_asof_date(lstm_run, chicago_table):
    from respicast.report.decision import decision_rows, pooled
    from respicast.trained_run import load_run

    fc = make_forecast(str(lstm_run), ASOF, CFG, table=chicago_table)
    preds = load_run(lstm_run).predictions
    known = preds.filter(pl.col("target_date") <= dt.date(1999, 3, 9))  # latency 1 day
    assert known.height < preds.height  # the test period goes on after the as-of date
    budgets = [1, 2, 4, 6, 8, 12]
    assert fc.decision == pooled(decision_rows(known, budgets))
    assert fc.decision != pooled(decision_rows(preds, budgets))
    assert [r["budget"] for r in fc.decision] == budgets


def test_values_published_after_asof_do_not_change_the_forecast(lstm_run, chicago_table):
    asof = dt.date.fromisoformat(ASOF)
    base = make_forecast(str(lstm_run), ASOF, CFG, table=chicago_table)
    f = chicago_table.frame
    later = pl.col("date") > asof
    num = [c for c, t in f.schema.items() if c != "date" and t.is_numeric()]
    altered = f.with_columns(
        [pl.when(later).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in num]
    )
    again = make_forecast(str(lstm_run), ASOF, CFG, table=_with_frame(chicago_table, altered))
    cols = ["expected", "lower_80", "upper_95", "peak_prob", "peak_threshold", "level"]
    assert base.days.select(cols).equals(again.days.select(cols))
    assert base.driver_records == again.driver_records
    # the check is sensitive: changing the as-of day's own inputs does change it
    now = pl.col("date") == asof
    touched = f.with_columns(
        [pl.when(now).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in num]
    )
    moved = make_forecast(str(lstm_run), ASOF, CFG, table=_with_frame(chicago_table, touched))
    assert not np.allclose(base.days["peak_prob"].to_numpy(), moved.days["peak_prob"].to_numpy())


def _counts_ok(cell, k: int) -> bool:
    if cell is None or cell == "":
        return True
    if cell == f"<{k}":
        return True
    return float(cell) >= k


def test_small_counts_are_suppressed_in_every_file(lstm_run, chicago_table, tmp_path):
    k = 12  # above many daily counts of this series, so both sides are exercised
    fc = make_forecast(str(lstm_run), ASOF, {**CFG, "history_days": 60}, table=chicago_table)
    small = fc.observed.filter(pl.col("admissions") < k).height
    assert small > 5
    paths = write_outputs(fc, tmp_path, k)
    doc = json.loads(paths["json"].read_text())
    for r in doc["observed"]:
        assert _counts_ok(r["admissions"], k)
    count_keys = ["expected", "lower_80", "upper_80", "lower_95", "upper_95", "peak_threshold"]
    for d in doc["forecast"]:
        for key in count_keys:
            assert _counts_ok(d[key], k), (key, d[key])
    assert sum(r["admissions"] == f"<{k}" for r in doc["observed"]) == small
    rows = list(csv.DictReader(paths["csv"].open()))
    for r in rows:
        for key in ["admissions", *count_keys]:
            assert _counts_ok(r[key], k), (key, r[key])
    html = paths["html"].read_text()
    cells = re.findall(r'<span class="count">([^<]*)</span>', html)
    assert cells and all(_counts_ok(c.replace("&lt;", "<"), k) for c in cells)
    assert f"&lt;{k}" in html


def test_a_missing_recent_value_is_filled_and_reported(lstm_run, chicago_table, tmp_path):
    from respicast.harmonize.fill import fill_missing

    asof = dt.date.fromisoformat(ASOF)
    f = chicago_table.frame
    gap = pl.col("date").is_between(asof - dt.timedelta(days=1), asof)
    raw = f.with_columns(
        pl.when(gap).then(None).otherwise(pl.col("nmmaps_pm10")).alias("nmmaps_pm10")
    )
    refilled, _, _ = fill_missing(
        raw.drop("nmmaps_pm10_filled"), ["nmmaps_pm10"], "locf_then_seasonal", 3
    )
    table = _with_frame(chicago_table, refilled.select(f.columns))
    fc = make_forecast(str(lstm_run), ASOF, CFG, table=table)
    pm10 = [x for x in fc.filled if x["column"] == "nmmaps_pm10"]
    assert pm10 and {"1999-03-09", "1999-03-10"} <= set(pm10[0]["recent"])
    assert np.isfinite(fc.days["peak_prob"].to_numpy()).all()
    html = write_outputs(fc, tmp_path, 5)["html"].read_text()
    assert "nmmaps_pm10" in html and "locf_then_seasonal" in html


def test_bad_inputs_give_clear_errors(lstm_run, chicago_table):
    with pytest.raises(ForecastError, match="after the data"):
        make_forecast(str(lstm_run), "2001-06-01", CFG, table=chicago_table)
    with pytest.raises(ForecastError, match="lookback"):
        make_forecast(str(lstm_run), "1987-01-10", CFG, table=chicago_table)
    with pytest.raises(ForecastError, match="YYYY-MM-DD"):
        make_forecast(str(lstm_run), "10/03/1999", CFG, table=chicago_table)
    with pytest.raises(ForecastError, match=r"data\.lookback: trained 28 vs requested 56"):
        make_forecast(str(lstm_run), ASOF, {**CFG, "data": {"lookback": 56}}, table=chicago_table)
    with pytest.raises(ForecastError, match="no such run dir"):
        make_forecast(str(lstm_run / "nope"), ASOF, CFG)
    strict = {"freshness": {"max_staleness_days": {"default": 0}}}
    with pytest.raises(ForecastError, match="too stale.*nmmaps"):
        make_forecast(str(lstm_run), ASOF, strict, table=chicago_table)
    warned = make_forecast(
        str(lstm_run),
        ASOF,
        {"freshness": {**strict["freshness"], "on_stale": "warn"}},
        table=chicago_table,
    )
    assert warned.stale and warned.coverage["nmmaps"]["stale"]


def test_a_file_location_may_change(lstm_run, chicago_table):
    """Newer exports of the same sources: only the path differs, so the run stays usable."""
    from respicast.trained_run import load_run, requested_data_config

    trained = load_run(lstm_run).cfg.data
    moved = requested_data_config(
        trained, {"cache_dir": "/elsewhere", "sources": {"nmmaps": {"path": "/x.csv"}}}
    )
    assert moved.sources.nmmaps.path == "/x.csv"


def test_baseline_run_forecasts_with_its_own_dispersion(tmp_path, chicago_table, train_fn):
    run = train_fn(
        tmp_path / "clim",
        [],
        model={
            "_target_": "respicast.models.baselines.Climatology",
            "name": "climatology",
            "distribution": "nb",
        },
    )
    fc = make_forecast(str(run), ASOF, CFG, table=chicago_table)
    d = fc.days
    assert fc.model == "climatology" and np.isfinite(d["dispersion"].to_numpy()).all()
    assert (d["lower_95"] <= d["lower_80"]).all() and (d["lower_80"] <= d["expected"]).all()
    assert (d["expected"] <= d["upper_80"]).all() and (d["upper_80"] <= d["upper_95"]).all()
    # climatology reads no covariate: no group moves its peak probability
    assert all(abs(r["peak_prob_points"]) < 1e-9 for r in fc.driver_records)


def test_ppv_threshold_and_count_cells():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0], float)
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    assert ppv_threshold(y, p, 0.75, 1) == 0.6  # 3 of the 4 days >= 0.6 were peaks
    assert ppv_threshold(y, p, 0.99, 1) == 0.8
    assert ppv_threshold(y, p, 0.99, 3) is None
    assert count_cell(4.9, 5) == "<5" and count_cell(5.0, 5) == 5 and count_cell(7.26, 5, 1) == 7.3
    assert count_cell(float("nan"), 5) is None


def test_small_simulated_world_train_then_forecast(tmp_path, train_fn):
    """The default data path (simulated Toulouse world, small config), end to end."""
    run = train_fn(
        tmp_path / "run",
        [
            "data=toulouse_sim",
            # the suite's shared small world under outputs/ (simulated once, under a lock)
            "world@data.world.config=small",
            "data.split.val_start=2020-07-01",
            "data.split.test_start=2021-03-01",
            "model=tcn",
        ],
    )
    fc = make_forecast(str(run), "2021-06-15", CFG)
    paths = write_outputs(fc, tmp_path / "fc", 5)
    assert all(p.stat().st_size > 0 for p in paths.values())
    assert {"air", "weather", "pollen", "ili", "admissions"} <= set(fc.coverage)
    assert fc.coverage["ili"]["staleness_days"] <= 10  # weekly, out on the Wednesday after
    assert {"pollution", "pollen", "epidemics", "weather", "calendar", "history"} == set(
        fc.driver_summary
    )
