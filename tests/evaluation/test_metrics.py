import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from respicast.evaluation import metrics as M


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    p = rng.beta(1, 5, size=600)
    y = (rng.random(600) < special.expit(0.4 + 0.7 * special.logit(p))).astype(float)
    return y, p


def test_ranking_metrics_match_sklearn(scored):
    y, p = scored
    assert M.auroc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-6)
    assert M.auprc(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=1e-6)


def test_brier_and_skill_match_sklearn(scored):
    y, p = scored
    ref = y.mean()
    assert M.brier(y, p) == pytest.approx(skm.brier_score_loss(y, p))
    expected = 1 - skm.brier_score_loss(y, p) / skm.brier_score_loss(y, np.full_like(p, ref))
    assert M.brier_skill(y, p, ref) == pytest.approx(expected)


def test_single_class_gives_nan_not_half():
    y = np.zeros(50)
    p = np.linspace(0, 1, 50)
    assert np.isnan(M.auroc(y, p))
    assert np.isnan(M.auprc(y, p))
    assert np.isnan(M.calibration_intercept_slope(y, p)[1])


def test_ece_equal_frequency_hand_checked():
    # 4 rows, 2 bins: {0.1, 0.2} with y {0, 1} -> |0.15 - 0.5| ; {0.7, 0.9} with y {1, 1} -> |0.8 - 1|
    p = np.array([0.9, 0.1, 0.7, 0.2])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    assert M.ece_equal_frequency(y, p, n_bins=2) == pytest.approx(0.5 * 0.35 + 0.5 * 0.2)


def test_ece_zero_when_each_bin_matches_its_frequency():
    p = np.repeat([0.25, 0.75], 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=float)
    assert M.ece_equal_frequency(y, p, n_bins=2) == pytest.approx(0.0)


def test_calibration_slope_matches_sklearn_and_intercept_matches_glm_offset(scored):
    y, p = scored
    intercept, slope = M.calibration_intercept_slope(y, p)
    lp = special.logit(p).reshape(-1, 1)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(lp, y)
    assert slope == pytest.approx(lr.coef_[0, 0], abs=1e-3)
    glm = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp[:, 0]).fit()
    assert intercept == pytest.approx(glm.params[0], abs=1e-3)
    # the data were drawn with slope 0.7: the fit must see probabilities as too extreme
    assert slope < 1


def test_confusion_matches_sklearn(scored):
    y, p = scored
    thr = 0.2
    out = M.confusion_at(y, p, thr)
    tn, fp, fn, tp = skm.confusion_matrix(y, (p >= thr).astype(int)).ravel()
    assert (out["tn"], out["fp"], out["fn"], out["tp"]) == (tn, fp, fn, tp)
    assert out["sensitivity"] == pytest.approx(skm.recall_score(y, p >= thr))
    assert out["ppv"] == pytest.approx(skm.precision_score(y, p >= thr))
    assert out["specificity"] == pytest.approx(tn / (tn + fp))


def test_ppv_nan_without_alerts():
    out = M.confusion_at(np.array([0.0, 1.0]), np.array([0.1, 0.2]), 0.9)
    assert np.isnan(out["ppv"]) and out["sensitivity"] == 0.0


def test_count_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    mu = rng.gamma(5, 2, size=300)
    obs = rng.poisson(mu).astype(float)
    assert M.mae(obs, mu) == pytest.approx(skm.mean_absolute_error(obs, mu))
    assert M.poisson_deviance(obs, mu) == pytest.approx(
        skm.mean_poisson_deviance(obs, mu), rel=1e-9
    )


def test_reliability_bins_counts_sum_to_rows(scored):
    y, p = scored
    bins = M.reliability_bins(y, p, 10)
    assert sum(b[2] for b in bins) == y.size
    assert [b[0] for b in bins] == sorted(b[0] for b in bins)
