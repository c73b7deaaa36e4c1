"""The GLM recovers a planted lagged covariate effect; LightGBM uses a strong covariate signal."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from respicast.models.baselines import GLMDLNM, Climatology, LightGBMTSFEL
from respicast.models.baselines.synthetic import make_windowset, split


def test_glm_recovers_a_planted_lag_two_effect():
    ws = make_windowset(n_days=2000, effect=0.3, effect_lag=2, seed=4)
    train, _ = split(ws, 0.8)
    model = GLMDLNM(pollutant_lag_df=None, temperature=None, time_df_per_year=1).fit(train)
    # horizon 1: target-day lags 1..8; the planted effect sits at lag 2 (index 1)
    curve = model.lag_response("pm10", h=1)
    assert curve.shape == (8,)
    scale = train.past[:, -1, 0].std()  # pm10 is standardised on a slightly different period
    assert abs(curve[1] - 0.3 * scale) < 0.06
    others = np.delete(curve, 1)
    assert np.max(np.abs(others)) < 0.06
    # horizon 3 no longer sees lag 2 (target-day lags 3..10, unknown day t+1 holds it): the
    # nearest known exposure (lag 3) stands in, shrunk by pm10's AR(1) coefficient 0.6
    far = model.lag_response("pm10", h=3)
    assert 0.6 * 0.3 * scale - 0.07 < far[0] < 0.6 * 0.3 * scale + 0.07
    assert np.max(np.abs(far[1:])) < 0.06


def test_glm_needs_a_long_enough_lookback():
    ws = make_windowset(n_days=300, lookback=14)
    with pytest.raises(ValueError, match="lookback 14 < 22"):
        GLMDLNM().fit(ws)
    with pytest.raises(ValueError, match="past_names lacks \\['no2'\\]"):
        GLMDLNM(pollutants=["no2"], temperature=None).fit(ws)


def test_lightgbm_beats_climatology_with_a_strong_covariate():
    ws = make_windowset(n_days=1400, effect=0.7, effect_lag=1, seed=5)
    train, test = split(ws)
    ok = ~np.isnan(test.y_peak[:, 0])
    auc = {}
    for model in (
        Climatology(),
        LightGBMTSFEL(n_estimators=80, features=["Mean", "Max", "Slope", "Standard deviation"]),
    ):
        _, prob = model.fit(train).predict_arrays(test)
        auc[model.name] = roc_auc_score(test.y_peak[ok, 0], prob[ok, 0])
    assert auc["lightgbm_tsfel"] > auc["climatology"] + 0.1, auc


def test_lightgbm_is_deterministic():
    ws = make_windowset(n_days=500, seed=6)
    train, test = split(ws)
    a = (
        LightGBMTSFEL(n_estimators=20, features=["Mean", "Slope"], seed=3)
        .fit(train)
        .predict_arrays(test)
    )
    b = (
        LightGBMTSFEL(n_estimators=20, features=["Mean", "Slope"], seed=3)
        .fit(train)
        .predict_arrays(test)
    )
    np.testing.assert_array_equal(a[1], b[1])
