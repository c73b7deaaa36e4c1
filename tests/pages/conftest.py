"""A forecast page and a run report built from known synthetic inputs (no training), shared by
the content test and the browser test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.plots import save_run_plots
from respicast.evaluation.synthetic import fake_predictions
from respicast.forecast import Forecast, alerts, drivers, write_outputs
from respicast.report import write_run_report
from respicast.report.decision import decision_rows, pooled

K = 5  # suppress_below
ASOF = dt.date(2024, 2, 14)
RUN_DIR = "/srv/secret/outputs/train/runs/2024-02-01_10-00-00"  # must never reach the page
BUDGET = {"watch_days_per_month": 6, "alert_days_per_month": 2}
# the parts each page must have (element ids on the forecast page, section titles in the report)
FORECAST_IDS = (
    "title", "when", "level-banner", "headline", "how-many", "how-likely", "why-short",
    "data-short", "chart", "days", "levels", "budget", "decision", "why", "reasons", "limits",
    "recent", "freshness", "about",
)  # fmt: skip
REPORT_IDS = (
    "Data", "Sources", "Model", "Metrics (test)", "Calibration (test, before → after)",
    "Decision view", "Oracle ceiling", "Reliability diagram", "Learning curves",
)  # fmt: skip


@pytest.fixture(scope="session")
def page_parts() -> dict[str, tuple[str, ...]]:
    return {"forecast": FORECAST_IDS, "report": REPORT_IDS}


def _predictions() -> pl.DataFrame:
    return fake_predictions(horizons=(1, 2, 3, 4, 5, 6, 7), days=500, val_days=250, seed=3)


def _days(thr: dict, H: int = 7) -> pl.DataFrame:
    dates = [ASOF + dt.timedelta(days=h) for h in range(1, H + 1)]
    expected = np.array([3.2, 4.4, 6.0, 8.5, 9.1, 7.0, 5.5])  # two below K: suppressed
    prob = np.array([0.05, 0.08, 0.15, 0.42, 0.55, 0.3, 0.12])
    out = {"date": dates, "day": [f"{d:%A} {d.day} {d:%b}" for d in dates]}
    out |= {"horizon": np.arange(1, H + 1, dtype=np.int32), "expected": expected}
    for lv, f in ((80, (0.6, 1.5)), (95, (0.4, 1.9))):
        out[f"lower_{lv}"], out[f"upper_{lv}"] = expected * f[0], expected * f[1]
    out |= {
        "peak_threshold": np.full(H, 11.0),
        "usual": np.array([4.1, 6.2, 6.5, 6.4, 6.6, 6.3, 6.0]),
        "peak_prob": prob,
        "peak_prob_raw": prob,
        "watch_threshold": [thr[h]["watch"] for h in range(1, H + 1)],
        "alert_threshold": [thr[h]["alert"] for h in range(1, H + 1)],
        "level": [alerts.level_of(float(prob[h - 1]), thr[h]) for h in range(1, H + 1)],
        "dispersion": np.full(H, 20.0),
    }
    return pl.DataFrame(out)


def make_forecast_fixture() -> Forecast:
    preds = _predictions()
    val = preds.filter(pl.col("split") == "val")
    thr = alerts.level_thresholds({"budget": BUDGET}, {}, val, 7)
    days = _days(thr)
    obs_dates = [ASOF - dt.timedelta(days=i) for i in range(56, 0, -1)]
    observed = np.where(np.arange(56) % 5 == 0, 3.0, 7.0 + np.arange(56) % 4)  # some below K
    groups = ["history", "epidemics", "weather", "calendar"]
    prob = np.vstack([days["peak_prob"].to_numpy()] * 5)
    prob[1] -= 0.06  # history raises the risk by 6 points
    prob[2] -= 0.09  # epidemics by 9
    prob[3] += 0.02  # weather lowers it by 2
    labels = [f"{d:%A} {d.day} {d:%b}" for d in days["date"]]
    records, lines = drivers.driver_table(groups, prob, np.ones_like(prob), labels)
    summary = drivers.group_summary(records)
    coverage = {
        "air": {"last_covered": "2024-02-13", "staleness_days": 1, "max_staleness_days": 14},
        "ili": {"last_covered": "2024-02-04", "staleness_days": 10, "max_staleness_days": 14},
        "covid": {"last_covered": "2023-03-31", "staleness_days": 320, "max_staleness_days": None},
        "admissions": {"last_covered": "2024-02-13", "staleness_days": 1, "max_staleness_days": 7},
    }
    coverage["covid"]["about"] = "the series stopped in 2023: the model sees filled values"
    for c in coverage.values():
        c["columns"] = ["weather_t_min", "weather_t_max", "weather_u_mean"]
    filled = [
        {"column": "pollen_betula", "group": "pollen", "source": "pollen", "days": 3,
         "recent": ["2024-02-13"], "last_filled": "2024-02-13", "left_missing": 0},
    ]  # fmt: skip
    return Forecast(
        asof=ASOF,
        model="logistic",
        run_dir=RUN_DIR,
        area="Toulouse",
        target="admissions",
        days=days,
        observed=pl.DataFrame({"date": obs_dates, "admissions": observed}),
        thresholds=thr,
        driver_records=records,
        driver_lines=lines,
        driver_summary=summary,
        coverage=coverage,
        stale=[],
        filled=filled,
        fill_rule="locf: the last value carried forward for up to 3 days",
        history_gaps=[],
        intervals=[0.8, 0.95],
        notes=["3 input value(s) of the last 28 days were missing as published and were filled"],
        labels={
            "outcome": "COPD and asthma admissions",
            "hospital": "Test Hospital",
            "ward": "respiratory medicine",
            "area": "Toulouse",
            "sources": {"air": "air quality", "covid": "COVID-19 admissions"},
        },
        peak_rule="a day with more admissions than 90 % of the days of the 365 days before",
        decision=pooled(decision_rows(preds, [1, 2, 4, 6, 8, 12])),
        budgets=BUDGET,
        val_period=f"{val['target_date'].min()} to {val['target_date'].max()}",
        reasons=drivers.summary_lines(summary, 1.0, 3),
    )


@pytest.fixture(scope="session")
def forecast_fixture() -> Forecast:
    return make_forecast_fixture()


@pytest.fixture(scope="session")
def forecast_page(forecast_fixture, tmp_path_factory) -> Path:
    return write_outputs(forecast_fixture, tmp_path_factory.mktemp("fc"), K)["html"]


@pytest.fixture(scope="session")
def report_page(tmp_path_factory) -> Path:
    """A run report from synthetic val/test predictions, with a CSV learning curve."""
    run = tmp_path_factory.mktemp("run")
    preds = _predictions()
    val, test = preds.filter(pl.col("split") == "val"), preds.filter(pl.col("split") == "test")
    res = evaluate_predictions(val, test, {"bootstrap": {"n": 20}}, {h: 0.15 for h in range(1, 8)})
    curves = run / "csv" / "version_0"
    curves.mkdir(parents=True)
    rows = ["epoch,step,train/loss,val/loss"] + [
        f"{e},{10 * e},{1.0 / (e + 1):.4f},{0.5 + (e - 6) ** 2 / 50:.4f}" for e in range(12)
    ]
    (curves / "metrics.csv").write_text("\n".join(rows) + "\n")
    (run / "config_resolved.yaml").write_text(
        "seed: 1\nmodel:\n  name: lstm\n  hidden_size: 64\n  dropout: 0.1\ntrainer:\n  max_epochs: 12\n"
    )
    plots = save_run_plots(res.test, run / "plots", res.thresholds)
    summary = {
        "period": "2021-01-04 … 2022-05-18",
        "days": 500,
        "groups": ["history", "weather"],
        "sources": {
            "weather": {
                "kind": "synop",
                "resolution": "3h",
                "files": ["a", "b"],
                "sites": {"x": 1},
                "period": ["2021-01-04T00:00", "2022-05-18T21:00"],
            },
        },  # fmt: skip
        "missingness": {"weather_t_mean": 0.02, "weather_u_mean": 0.05},
        "filled": {"weather_t_mean": 7, "weather_u_mean": 12},
        "split": {"train": "a..b (10 origins)", "val": "c..d (5 origins)"},
    }
    _, html = write_run_report(
        run,
        metrics=res.metrics,
        test=res.test,
        plots=plots,
        data_summary=summary,
        model_name="lstm",
        oracle={"auroc_h1": 0.95, "brier_h1": 0.05},
        predictions=preds,
    )
    return html
