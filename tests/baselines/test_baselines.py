"""Every baseline fits on training windows only and predicts counts and peak probabilities."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from respicast.models.baselines import (
    GLMDLNM,
    Baseline,
    Climatology,
    LightGBMTSFEL,
    LogisticBaseline,
    Persistence,
)
from respicast.models.baselines.synthetic import make_windowset, split

FAST_LGBM = dict(n_estimators=40, features=["Mean", "Max", "Slope", "Standard deviation"])

MODELS = {
    "climatology": lambda: Climatology(),
    "climatology_week_level": lambda: Climatology(season="week", level_adjust=True),
    "persistence": lambda: Persistence(),
    "persistence_weekly_nb": lambda: Persistence(mode="weekly", prob="nb"),
    "logistic": lambda: LogisticBaseline(),
    "lightgbm_tsfel": lambda: LightGBMTSFEL(**FAST_LGBM),
    "glm_dlnm": lambda: GLMDLNM(time_df_per_year=2),
}


def _copy(ws):
    return replace(ws, **{k: np.array(v) for k, v in vars(ws).items() if isinstance(v, np.ndarray)})


@pytest.fixture(scope="module")
def data():
    return split(make_windowset(n_days=900, effect=0.4, seed=1))


@pytest.fixture(scope="module")
def fitted(data):
    train, _ = data
    return {name: make().fit(train) for name, make in MODELS.items()}


@pytest.mark.parametrize("name", list(MODELS))
def test_shapes_and_probabilities(name, fitted, data):
    _, test = data
    model = fitted[name]
    assert isinstance(model, Baseline)
    mean, prob = model.predict_arrays(test)
    assert mean.shape == prob.shape == (len(test), test.horizon)
    assert np.isfinite(mean).all() and (mean > 0).all()
    defined = ~np.isnan(test.threshold)
    assert np.isnan(prob[~defined]).all()
    assert ((prob[defined] >= 0) & (prob[defined] <= 1)).all()
    # better than chance at horizon 1 on a series with season, weekday and covariate structure
    ok = ~np.isnan(test.y_peak[:, 0])
    assert roc_auc_score(test.y_peak[ok, 0], prob[ok, 0]) > 0.55


@pytest.mark.parametrize("name", list(MODELS))
def test_predictions_ignore_test_labels(name, fitted, data):
    _, test = data
    altered = _copy(test)
    altered.y_count[:] = 999.0
    altered.y_peak[:] = 1.0
    for a, b in zip(
        fitted[name].predict_arrays(test), fitted[name].predict_arrays(altered), strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["climatology", "persistence", "logistic", "glm_dlnm"])
def test_fit_uses_only_the_training_windows(name, data):
    train, test = data
    # refitting on the same training windows, whatever the test windows hold, gives the same model
    a = MODELS[name]().fit(train).predict_arrays(test)
    other_test = _copy(test)
    other_test.y_count[:] = 0.0
    b = MODELS[name]().fit(_copy(train)).predict_arrays(test)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y)
    # and changing training labels does change it
    shifted = _copy(train)
    shifted.y_count[:] = shifted.y_count * 2
    shifted.y_peak[:] = (shifted.y_count > shifted.threshold[:, None]).astype(float)
    c = MODELS[name]().fit(shifted).predict_arrays(test)
    assert not np.allclose(a[0], c[0]) or not np.allclose(a[1], c[1], equal_nan=True)


def test_missing_past_channels_is_a_clear_error(data):
    train, _ = data
    no_past = replace(train, past=train.past[:, :, :0], past_names=[], past_groups=[])
    for model in (LogisticBaseline(), LightGBMTSFEL(**FAST_LGBM), GLMDLNM()):
        with pytest.raises(ValueError, match="past"):
            model.fit(no_past)
    Climatology().fit(no_past)  # needs no covariates
    LogisticBaseline(use_past=False).fit(no_past)


def test_unknown_history_is_a_clear_error(data):
    train, _ = data
    blind = replace(train, history=np.full_like(train.history, np.nan))
    with pytest.raises(ValueError, match="history"):
        Persistence().fit(blind)


def test_bad_hyperparameters_name_the_key():
    with pytest.raises(ValueError, match="climatology.season"):
        Climatology(season="fortnight")
    with pytest.raises(ValueError, match="persistence.mode"):
        Persistence(mode="yesterday")
    with pytest.raises(ValueError, match="glm_dlnm.family"):
        GLMDLNM(family="gaussian")


def test_predict_before_fit_raises(data):
    _, test = data
    with pytest.raises(RuntimeError, match="fit"):
        Climatology().predict_arrays(test)


def test_climatology_learns_the_weekday_effect(fitted):
    model = fitted["climatology"]
    table = model.table_.reshape(12, 7)
    # planted: weekend log-rate -0.2 (exp(-0.2) ~ 0.82)
    ratio = table[:, 5:].mean() / table[:, :5].mean()
    assert 0.72 < ratio < 0.92


def test_weekly_persistence_repeats_the_same_weekday():
    ws = make_windowset(n_days=300, latency=1, seed=2)
    model = Persistence(mode="weekly").fit(ws)
    mean, _ = model.predict_arrays(ws)
    # the last position holds day t-1 (latency 1): day t+h-7 sits at position L-1 + h-7 + 1;
    # for h=7 that day (t) is not known yet, so it takes day t-7
    for h in range(1, 8):
        pos = ws.lookback - 1 + h - 6
        pos = pos if pos <= ws.lookback - 1 else pos - 7
        np.testing.assert_array_equal(mean[:, h - 1], ws.history[:, pos])
    last = Persistence().fit(ws).predict_arrays(ws)[0]
    np.testing.assert_array_equal(last, np.repeat(ws.history[:, -1:], 7, axis=1))


def test_nb_glm_on_equidispersed_counts_falls_back_to_poisson(data):
    """Poisson counts have no overdispersion: the NB's k is infinite and the GLM must not divide
    by its alpha = 1/k = 0 (statsmodels raised ZeroDivisionError)."""
    train, test = data
    rng = np.random.default_rng(3)
    poisson = replace(train, y_count=rng.poisson(5.0, size=train.y_count.shape).astype(float))
    glm = GLMDLNM(family="nb").fit(poisson)
    assert any(np.isinf(k) for _, k in glm.models_)
    mean, prob = glm.predict_arrays(test)
    assert np.isfinite(mean).all() and ((prob >= 0) & (prob <= 1)).all()
