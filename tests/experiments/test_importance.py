"""Permutation importance by group: copies only, exact zeros for unused groups, planted signal found."""

from __future__ import annotations

import numpy as np
import pytest

from respicast.evaluation.importance import blank_group, group_importance, groups_of
from respicast.models.baselines import LogisticBaseline
from respicast.models.baselines.synthetic import make_windowset, split
from respicast.models.forecaster import Prediction


class UsesPollution:
    """A fitted-model stand-in whose peak probability reads only the last pollution value."""

    name = "stub"

    def predict(self, ws):
        j = ws.past_groups.index("pollution")
        p = 1 / (1 + np.exp(-3 * np.asarray(ws.past[:, -1, j], float)))
        prob = np.repeat(p[:, None], ws.horizon, axis=1)
        return Prediction.of(np.ones_like(prob), prob)


@pytest.fixture(scope="module")
def ws():
    return make_windowset(n_days=900, effect=0.8, effect_lag=1, seed=3)


def test_blank_group_copies_and_keeps_each_window_whole(ws):
    before = np.array(ws.past)
    rng = np.random.default_rng(0)
    out = blank_group(ws, "pollution", "permute", rng)
    np.testing.assert_array_equal(np.array(ws.past), before)  # the original is untouched
    j = ws.past_groups.index("pollution")
    others = [i for i, g in enumerate(ws.past_groups) if g != "pollution"]
    np.testing.assert_array_equal(out.past[:, :, others], before[:, :, others])
    # every permuted window is an original window, moved whole to another origin
    rows = {tuple(r) for r in before[:, :, j]}
    assert all(tuple(r) in rows for r in out.past[:, :, j])
    assert not np.array_equal(out.past[:, :, j], before[:, :, j])
    np.testing.assert_array_equal(out.y_peak, ws.y_peak)  # labels never move


def test_blank_group_mean_reference(ws):
    out = blank_group(ws, "weather", "mean")
    idx = [i for i, g in enumerate(ws.past_groups) if g == "weather"]
    assert np.all(out.past[:, :, idx] == 0.0)  # the training mean of scaled channels
    hist = blank_group(ws, "history", "mean").history
    ok = ~np.isnan(ws.history)
    np.testing.assert_allclose(hist[ok], np.broadcast_to(ws.level[:, None], ws.history.shape)[ok])
    cal = blank_group(ws, "calendar", "mean")
    assert np.all(cal.future == 0.0) and np.array_equal(cal.past, ws.past)


def test_groups_and_bad_arguments(ws):
    assert groups_of(ws) == ["history", "pollution", "weather", "calendar"]
    with pytest.raises(ValueError, match="no input"):
        blank_group(ws, "pollen", "mean")
    with pytest.raises(ValueError, match="reference"):
        blank_group(ws, "pollution", "shuffle")
    with pytest.raises(ValueError, match="metric"):
        group_importance(UsesPollution(), ws, metric="accuracy")


def test_unused_groups_have_exactly_zero_importance(ws):
    out = group_importance(UsesPollution(), ws, horizons=(1, 7), n_repeats=2, n_boot=30)
    assert set(out.columns) >= {
        "group",
        "horizon",
        "metric_full",
        "metric_permuted",
        "delta",
        "delta_lo",
        "delta_hi",
    }
    unused = out.filter(out["group"] != "pollution")
    assert np.all(unused["delta"].to_numpy() == 0.0) and np.all(
        unused["delta_hi"].to_numpy() == 0.0
    )
    used = out.filter(out["group"] == "pollution")
    assert np.all(used["delta"].to_numpy() > 0)
    assert used.filter(used["horizon"] == 1)["delta_lo"][0] > 0.1  # lag-1 signal: strongest at h1


@pytest.mark.parametrize(("metric", "reference"), [("auroc", "permute"), ("brier", "mean")])
def test_fitted_logistic_relies_on_the_planted_group_only(metric, reference):
    ws = make_windowset(n_days=2000, effect=0.6, effect_lag=1, seed=1)
    train, test = split(ws)
    model = LogisticBaseline().fit(train)
    out = group_importance(
        model, test, metric=metric, horizons=(1,), n_repeats=3, reference=reference, n_boot=100
    )
    row = {r["group"]: r for r in out.iter_rows(named=True)}
    assert row["pollution"]["delta_lo"] > 0  # the planted pm10 effect (lag 1)
    assert (
        row["weather"]["delta_lo"] <= 0 <= row["weather"]["delta_hi"]
    )  # temperature and noise: no effect
    if metric == "auroc":
        assert row["pollution"]["metric_permuted"] < row["pollution"]["metric_full"] - 0.2
