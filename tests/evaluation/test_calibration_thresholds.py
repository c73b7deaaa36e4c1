import logging
import pickle

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

from respicast.evaluation.calibration import (
    SLOPE_BOUNDS,
    fit_calibrators,
    log_loss,
    make_calibrator,
)
from respicast.evaluation.config import load_config
from respicast.evaluation.evaluate import evaluate_predictions
from respicast.evaluation.thresholds import FALLBACK_THRESHOLD, choose_threshold


@pytest.fixture
def overconfident():
    rng = np.random.default_rng(7)
    z = rng.normal(-1.5, 1.2, size=3000)
    y = (rng.random(z.size) < special.expit(z)).astype(float)
    p = special.expit(2.5 * z)  # true temperature 2.5
    return y, p


def test_platt_matches_sklearn_unpenalised_logistic(overconfident):
    y, p = overconfident
    cal = make_calibrator("platt").fit(p, y)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(special.logit(p)[:, None], y)
    assert cal.a == pytest.approx(lr.coef_[0, 0], abs=1e-3)
    assert cal.b == pytest.approx(lr.intercept_[0], abs=1e-3)


def test_temperature_recovers_planted_value(overconfident):
    y, p = overconfident
    cal = make_calibrator("temperature").fit(p, y)
    assert cal.temperature == pytest.approx(2.5, rel=0.1)


def test_isotonic_passes_through_sklearn_blocks_and_rises_between(overconfident):
    y, p = overconfident
    cal = make_calibrator("isotonic").fit(p, y)
    step = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    # at each block centre, the value of sklearn's step function there
    np.testing.assert_allclose(cal.apply(cal.x_), step.predict(cal.x_), atol=1e-5)
    grid = np.linspace(p.min(), p.max(), 5000)
    assert np.all(np.diff(cal.apply(grid)) > 0)
    assert np.unique(step.predict(grid)).size < grid.size / 2  # sklearn ties: flat steps


def test_horizon_calibrators_pickle_and_fall_back_on_single_class(overconfident, caplog):
    y, p = overconfident
    cals = fit_calibrators({1: p, 2: p[:50]}, {1: y, 2: np.zeros(50)}, "platt")
    assert cals.fallback_horizons == [2]
    assert "keeping raw probabilities" in caplog.text
    again = pickle.loads(pickle.dumps(cals))
    np.testing.assert_allclose(again.apply(p[:10], 1), cals.apply(p[:10], 1))
    np.testing.assert_allclose(again.apply(p[:10], 2), p[:10])
    out = cals.apply(np.array([np.nan, 0.3]), 1)
    assert np.isnan(out[0]) and np.isfinite(out[1])
    with pytest.raises(KeyError, match="horizon 5"):
        cals.apply(p, 5)


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="evaluation.calibration.*'beta'"):
        make_calibrator("beta")


def test_youden_matches_sklearn_roc(overconfident):
    y, p = overconfident
    fpr, tpr, thr = roc_curve(y, p)
    assert choose_threshold(y, p, "youden") == pytest.approx(thr[np.argmax(tpr - fpr)])


def test_target_sensitivity_is_highest_threshold_reaching_target(overconfident):
    y, p = overconfident
    thr = choose_threshold(y, p, "target_sensitivity", target_sensitivity=0.8)
    sens = lambda t: np.mean(p[y == 1] >= t)  # noqa: E731
    assert sens(thr) >= 0.8
    above = np.unique(p[p > thr])
    assert above.size == 0 or sens(above.min()) < 0.8


def test_alert_budget_respects_fraction(overconfident):
    y, p = overconfident
    thr = choose_threshold(y, p, "alert_budget", alert_budget=0.1)
    assert np.mean(p >= thr) <= 0.1
    assert np.mean(p >= np.max(p[p < thr])) > 0.1


def test_label_rule_without_positive_falls_back(caplog):
    thr = choose_threshold(np.zeros(10), np.linspace(0, 1, 10), "youden")
    assert thr == FALLBACK_THRESHOLD
    assert "needs positives" in caplog.text


def test_platt_never_inverts_nor_flattens_the_ranking(caplog):
    """A validation period where the model ranks peaks backwards must not flip test predictions,
    nor make them all equal: the slope stops at its positive lower bound."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.6, 2000)
    y = (rng.uniform(size=p.size) < 0.6 - p).astype(float)  # higher p → fewer peaks
    cal = make_calibrator("platt").fit(p, y)
    assert cal.a == pytest.approx(SLOPE_BOUNDS[0])
    assert "lower bound" in caplog.text
    out = cal.apply(np.array([0.1, 0.5]))
    assert out[0] < out[1]


# ---- recalibration never lowers AUROC -------------------------------------------------------

FITTED_AND_NONE = ["none", "platt", "temperature", "isotonic"]


def _relation(kind: str, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Validation labels whose relation to p is random, reversed, constant or right."""
    u = rng.uniform(size=p.size)
    rate = {"random": np.full(p.size, 0.2), "reversed": 1 - p, "right": p}.get(kind)
    if kind == "constant":
        return (np.arange(p.size) % 7 == 0).astype(float)  # labels unrelated to order
    return (u < rate).astype(float)


# model outputs: probabilities on a 1e-9 grid (float32 nets and NB tails are coarser), with
# exact 0 and 1 and many ties allowed
_probs = st.lists(
    st.one_of(
        st.floats(0.0, 1.0).map(lambda v: round(v, 9)),
        st.sampled_from([0.0, 1.0, 1e-9, 1 - 1e-9, 0.5]),
    ),
    min_size=2,
    max_size=300,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    val_p=_probs,
    test_p=_probs,
    kind=st.sampled_from(["random", "reversed", "constant", "right"]),
    seed=st.integers(0, 2**16),
)
def test_every_calibrator_keeps_the_test_auroc(val_p, test_p, kind, seed):
    rng = np.random.default_rng(seed)
    val_p, test_p = np.array(val_p), np.array(test_p)
    y_val = _relation(kind, val_p, rng)
    y_val[:2] = [0.0, 1.0]  # both classes, so every calibrator is fitted
    y_test = (rng.uniform(size=test_p.size) < 0.3).astype(float)
    y_test[:2] = [0.0, 1.0]
    for method in [*FITTED_AND_NONE, "auto"]:
        cals = fit_calibrators({1: val_p}, {1: y_val}, method)
        out = cals.apply(test_p, 1)
        assert np.all((out >= 0) & (out <= 1))
        # strictly increasing on the distinct test values: no tie created, none reversed
        uniq = np.unique(test_p)
        assert np.all(np.diff(cals.apply(uniq, 1)) > 0), method
        assert roc_auc_score(y_test, out) == roc_auc_score(y_test, test_p), method


def test_auto_keeps_raw_probabilities_with_two_positives(caplog):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.0, 0.3, 400)
    y = np.zeros(p.size)
    y[[50, 300]] = 1.0
    with caplog.at_level(logging.INFO, logger="respicast.evaluation.calibration"):
        cals = fit_calibrators({1: p * 3}, {1: y}, "auto")  # badly calibrated, but 2 peaks
    assert cals.chosen == {1: "none"}
    assert "2 peaks of 400 rows" in caplog.text
    np.testing.assert_array_equal(cals.apply(p, 1), p)


def test_auto_fits_a_calibrator_when_validation_supports_it(overconfident):
    y, p = overconfident
    cals = fit_calibrators({1: p}, {1: y}, "auto")
    assert cals.chosen[1] == "platt"
    assert set(cals.cv_log_loss[1]) == {"none", "platt", "temperature", "isotonic"}
    losses = cals.cv_log_loss[1]
    assert losses[cals.chosen[1]] < losses["none"]
    assert cals.by_horizon[1].name == cals.chosen[1]


def test_auto_does_no_harm_to_already_calibrated_probabilities():
    """On calibrated input, whatever auto picks costs (almost) nothing on new data."""
    extra = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        p = special.expit(rng.normal(-2.3, 0.8, 1400))
        y = (rng.uniform(size=p.size) < p).astype(float)
        cals = fit_calibrators({1: p[:700]}, {1: y[:700]}, "auto")
        q = cals.apply(p[700:], 1)
        extra.append(np.mean(log_loss(y[700:], q) - log_loss(y[700:], p[700:])))
    assert np.mean(extra) < 0.002, extra


def test_auto_through_evaluate_predictions_keeps_the_test_auroc():
    rng = np.random.default_rng(5)

    def frame(n: int, start: str) -> pl.DataFrame:
        z = rng.normal(-1.5, 1.0, n)
        peak = (rng.uniform(size=n) < special.expit(z)).astype(float)
        return pl.DataFrame(
            {
                "target_date": np.datetime64(start) + np.arange(n),
                "horizon": [1] * n,
                "observed": rng.poisson(5, n).astype(float),
                "predicted": np.full(n, 5.0),
                "peak": peak,
                "peak_prob": special.expit(2.5 * z),  # overconfident
            }
        )

    val, test = frame(600, "2021-01-01"), frame(600, "2023-01-01")
    res = evaluate_predictions(val, test, {"bootstrap": {"n": 0}}, {1: 0.2})
    assert load_config({}).calibration == "auto"
    assert res.calibrators.chosen[1] != "none"
    assert res.metrics["test/auroc_h1"] == res.metrics["test/auroc_raw_h1"]
    assert abs(res.metrics["test/cal_slope_h1"] - 1) < abs(res.metrics["test/cal_slope_raw_h1"] - 1)


def test_calibration_method_is_checked():
    with pytest.raises(ValueError, match="evaluation.calibration.*'beta'"):
        load_config({"calibration": "beta"})
    with pytest.raises(ValueError, match="evaluation.calibration.*'beta'"):
        fit_calibrators({1: np.array([0.1, 0.2])}, {1: np.array([0.0, 1.0])}, "beta")
