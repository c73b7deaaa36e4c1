"""Alert levels follow the ward's budget of watch/alert days a month on validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from respicast.evaluation.synthetic import fake_predictions
from respicast.forecast import alerts
from respicast.report.decision import decision_rows, pooled


@pytest.fixture(scope="module")
def val() -> pl.DataFrame:
    frame = fake_predictions(horizons=(1, 3), days=600, val_days=400, seed=5)
    return frame.filter(pl.col("split") == "val")


def _days_a_month(val: pl.DataFrame, h: int, thr: float) -> float:
    p = val.filter(pl.col("horizon") == h)["peak_prob"].to_numpy()
    return float(np.mean(p >= thr) * alerts.DAYS_PER_MONTH)


@pytest.mark.parametrize("watch,alert", [(6, 2), (10, 4), (3, 1)])
def test_levels_ring_within_the_budget_on_validation(val, watch, alert):
    budget = {"watch_days_per_month": watch, "alert_days_per_month": alert}
    thr = alerts.level_thresholds({"budget": budget}, {}, val, 3)
    for h in (1, 3):
        t = thr[h]
        assert t["alert"] >= t["watch"]
        assert _days_a_month(val, h, t["watch"]) <= watch
        assert _days_a_month(val, h, t["alert"]) <= alert
        # the lowest such threshold: one step lower would break the budget
        p = np.sort(val.filter(pl.col("horizon") == h)["peak_prob"].unique().to_numpy())
        below = p[p < t["watch"]]
        assert below.size == 0 or _days_a_month(val, h, below[-1]) > watch
        assert t["watch_rule"] == f"at most {watch} watch days a month on validation"
        assert t["watch_val"]["per_month"] == pytest.approx(_days_a_month(val, h, t["watch"]))


def test_a_bigger_budget_lowers_the_bar(val):
    small = alerts.level_thresholds(
        {"budget": {"watch_days_per_month": 2, "alert_days_per_month": 1}}, {}, val, 1
    )
    big = alerts.level_thresholds(
        {"budget": {"watch_days_per_month": 9, "alert_days_per_month": 4}}, {}, val, 1
    )
    assert big[1]["watch"] < small[1]["watch"] and big[1]["alert"] < small[1]["alert"]
    assert big[1]["watch_val"]["caught"] > small[1]["watch_val"]["caught"]


def test_bad_budget_and_other_rules(val):
    with pytest.raises(ValueError, match=r"forecast\.alert\.budget: 40 days a month"):
        alerts.level_thresholds({"budget": {"watch_days_per_month": 40}}, {}, val, 1)
    fixed = alerts.level_thresholds({"watch": 0.2, "alert": 0.4}, {}, val, 1)[1]
    assert (fixed["watch"], fixed["alert"]) == (0.2, 0.4)
    fitted = alerts.level_thresholds(
        {"watch": "fitted", "alert": 0.1}, {"thresholds": {1: 0.3}}, val, 1
    )[1]
    assert fitted["watch"] == 0.3 and fitted["alert"] == 0.3  # raised to the watch threshold
    assert fitted["alert_rule"].endswith("raised to the watch threshold")
    none = alerts.level_thresholds({}, {}, None, 1)[1]  # no validation data: the fallbacks
    assert none["watch"] == 0.5 and "no validation data" in none["watch_rule"]


def test_decision_rows_trade_peaks_for_false_alerts():
    frame = fake_predictions(horizons=(1, 3), days=600, val_days=400, seed=5)
    rows = decision_rows(frame, [1, 4, 12])
    for h in (1, 3):
        sub = [r for r in rows if r["horizon"] == h]
        assert [r["budget"] for r in sub] == [1, 4, 12]
        assert all(r["val_alerts_per_month"] <= r["budget"] + 1e-9 for r in sub)
        caught = [r["val_caught"] for r in sub]
        false = [r["val_false_per_month"] for r in sub]
        assert caught == sorted(caught) and false == sorted(false) and caught[-1] > caught[0]
        # false alerts are alert days without a peak
        for r in sub:
            assert r["val_false_per_month"] <= r["val_alerts_per_month"] + 1e-9
    mean = pooled(rows)
    assert [r["horizons"] for r in mean] == [2, 2, 2]
    one = [r for r in rows if r["budget"] == 4]
    assert mean[1]["test_caught"] == pytest.approx(np.mean([r["test_caught"] for r in one]))
