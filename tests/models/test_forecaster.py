"""The Forecaster protocol: what predict returns, which class a config builds, save and load."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from omegaconf import OmegaConf

from respicast.models.baselines import GLMDLNM, Climatology, LogisticBaseline, Persistence
from respicast.models.baselines.synthetic import make_windowset, split
from respicast.models.deep import DeepForecaster
from respicast.models.forecaster import Prediction, forecaster_class
from respicast.models.predict import predictions_frame
from respicast.run_dir import RunDir, RunError


@pytest.fixture(scope="module")
def data():
    return split(make_windowset(n_days=700, effect=0.4, seed=2))


def test_baseline_prediction_carries_its_own_count_distribution(data):
    train, test = data
    clim = Climatology().fit(train)
    pred = clim.predict(test)
    counts, probs = clim.predict_arrays(test)
    np.testing.assert_array_equal(pred.counts, counts)
    np.testing.assert_array_equal(pred.peak_prob, probs)
    assert pred.dispersion.shape == counts.shape
    assert np.all(pred.dispersion == clim.dispersion_) and np.isfinite(clim.dispersion_)
    assert np.all(np.isinf(Climatology(distribution="poisson").fit(train).predict(test).dispersion))
    glm = GLMDLNM(time_df_per_year=2, family="quasipoisson").fit(train).predict(test)
    assert glm.dispersion.shape == counts.shape
    # quasi-Poisson: k = mean / (phi - 1) grows with the mean, row by row
    h = 0
    order = np.argsort(glm.counts[:, h])
    assert np.all(np.diff(glm.dispersion[order, h]) >= 0) or np.all(np.isinf(glm.dispersion))


def test_classifiers_leave_the_dispersion_to_the_evaluation(data):
    train, test = data
    assert LogisticBaseline().fit(train).predict(test).dispersion is None
    assert Persistence().fit(train).predict(test).dispersion is None  # empirical frequencies
    assert Persistence(prob="nb").fit(train).predict(test).dispersion is not None


def test_predictions_frame_has_a_dispersion_column_only_when_given(data):
    _, test = data
    n, h = test.y_count.shape
    plain = Prediction.of(np.ones((n, h)), np.full((n, h), 0.5))
    assert "dispersion" not in predictions_frame(test, plain, model="m", split="test").columns
    per_h = Prediction.of(np.ones((n, h)), np.full((n, h), 0.5), np.arange(1.0, h + 1))
    frame = predictions_frame(test, per_h, model="m", split="test")
    assert frame.filter(frame["horizon"] == 2)["dispersion"].unique().to_list() == [2.0]


def test_rows_without_a_threshold_get_a_null_probability_and_label(data):
    # a series still short of history (weekly OSCOUR panel): nan from the model becomes null,
    # which evaluation counts as unlabelled; a nan where a threshold exists stays an error
    _, test = data
    n, h = test.y_count.shape
    ws = dataclasses.replace(test, threshold=np.where(np.arange(n) < 5, np.nan, test.threshold))
    prob = np.where(np.isfinite(ws.threshold)[:, None], 0.3, np.nan) * np.ones((n, h))
    frame = predictions_frame(ws, Prediction.of(np.ones((n, h)), prob), model="m", split="test")
    assert frame["peak_prob"].null_count() == 5 * h
    assert frame.filter(pl.col("peak_prob").is_null())["threshold"].is_nan().all()
    assert not frame["peak_prob"].is_nan().any()
    prob[7] = np.nan  # a model failure on a row with a threshold is not hidden
    frame = predictions_frame(ws, Prediction.of(np.ones((n, h)), prob), model="m", split="test")
    assert frame["peak_prob"].is_nan().sum() == h


def test_the_config_target_decides_the_forecaster():
    deep = OmegaConf.create({"_target_": "respicast.models.module.ForecastModule"})
    assert forecaster_class(deep) is DeepForecaster
    base = OmegaConf.create({"_target_": "respicast.models.baselines.Climatology"})
    assert forecaster_class(base) is Climatology
    with pytest.raises(ValueError, match="model._target_='no.such.Model'"):
        forecaster_class(OmegaConf.create({"_target_": "no.such.Model"}))


def test_baseline_saves_beside_the_fitted_state_and_loads_back(data, tmp_path):
    train, test = data
    model = Climatology().fit(train)
    rd = RunDir(tmp_path)
    rd.write_fitted({"calibrators": None, "thresholds": {1: 0.5}})
    model.save(rd)
    cfg = OmegaConf.create({"model": {"name": "climatology"}})
    back = Climatology.load(rd, cfg=cfg, dm=None, checkpoint=None)
    assert rd.read_fitted()["thresholds"] == {1: 0.5}  # saving kept the run's other state
    np.testing.assert_array_equal(back.predict(test).counts, model.predict(test).counts)
    with pytest.raises(RunError, match="holds no fitted Persistence"):
        Persistence.load(rd, cfg=cfg, dm=None, checkpoint=None)


def test_refit_is_a_new_model_fitted_on_the_given_windows_alone(data):
    train, test = data
    first = Climatology().fit(test)
    again = first.refit(train)
    assert again is not first
    np.testing.assert_allclose(
        again.predict(test).counts, Climatology().fit(train).predict(test).counts
    )
