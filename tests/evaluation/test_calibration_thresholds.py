import pickle

import numpy as np
import pytest
from scipy import special
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve

from respicast.evaluation.calibration import fit_calibrators, make_calibrator
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


def test_isotonic_matches_sklearn(overconfident):
    y, p = overconfident
    cal = make_calibrator("isotonic").fit(p, y)
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    np.testing.assert_allclose(cal.apply(p), ref.predict(p))


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


def test_platt_never_inverts_the_ranking():
    """A validation period where the model ranks peaks backwards must not flip test predictions."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.6, 2000)
    y = (rng.uniform(size=p.size) < 0.6 - p).astype(float)  # higher p → fewer peaks
    cal = make_calibrator("platt").fit(p, y)
    assert cal.a == 0.0
    out = cal.apply(np.array([0.1, 0.5]))
    assert out[0] == pytest.approx(out[1])  # flat: no ranking, not a reversed one
    assert out[0] == pytest.approx(y.mean(), abs=0.02)
