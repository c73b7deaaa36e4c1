"""The forecasting GLM: its cross-bases are dlnm's (checked against dlnmpy) and its
autoregressive terms use only counts known at the origin."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from respicast.models.baselines import GLMDLNM
from respicast.models.baselines.crossbasis import logknots
from respicast.models.baselines.synthetic import make_windowset, split


@pytest.fixture(scope="module")
def data():
    return split(make_windowset(n_days=1100, effect=0.3, temp_effect=0.15, seed=11))


@pytest.fixture(scope="module")
def model(data):
    train, _ = data
    return GLMDLNM(time_df_per_year=1).fit(train)


@pytest.mark.parametrize("h", [0, 2, 6])
def test_design_cross_bases_are_dlnm_cross_bases(data, model, h):
    """Same exposure histories, same bases and knots → the columns of dlnm's crossbasis."""
    dlnm = pytest.importorskip("dlnmpy", reason="dlnmpy (dev extra) not installed")
    _, test = data
    design = model.design(test, h)
    offsets = model._column_offsets(h + 1)
    assert model.pollutants_ == ["pm10"] and model.temperature_ == "temp"
    for name, max_lag, lag_df in model._exposures():
        lag = [h + 1, h + 1 + max_lag]  # target-day lags of window positions t .. t-max_lag
        var = model.var_bases_[name]
        argvar = (
            {"fun": "ns", "knots": var.knots, "Boundary.knots": list(var.boundary)}
            if name == "temp"
            else {"fun": "lin"}
        )
        theirs = np.asarray(
            dlnm.crossbasis(
                model.exposure_lags(test, name, max_lag),
                lag=lag,
                argvar=argvar,
                arglag={"fun": "ns", "knots": dlnm.logknots(lag, df=lag_df)},
            ).matrix
        )
        ours = design[:, offsets[name] : offsets[name] + theirs.shape[1]]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
        np.testing.assert_allclose(logknots(lag, lag_df - 2), dlnm.logknots(lag, df=lag_df))


def test_autoregressive_terms_are_log_means_of_known_counts(data, model):
    _, test = data
    gappy = replace(test, history=np.array(test.history))
    i = 40
    gappy.history[i, -2:] = np.nan  # two days not yet published at t
    ar = model.autoregressive_terms(gappy)
    assert ar.shape == (len(test), 3)
    h = test.history[i]
    last = h[-3]  # the unpublished days carry the last known count
    filled = np.r_[h[:-2], last, last]
    np.testing.assert_allclose(ar[i], np.log1p([last, filled[-7:].mean(), filled.mean()]))
    # the design holds them right after the intercept
    np.testing.assert_array_equal(model.design(gappy, 0)[:, 1:4], ar)


def test_prediction_at_an_origin_ignores_every_count_after_it(data, model):
    _, test = data
    i = 200
    mean, prob = model.predict_arrays(test)
    later = replace(
        test,
        history=np.array(test.history),
        y_count=np.full_like(test.y_count, 999.0),
        y_peak=np.ones_like(test.y_peak),
    )
    later.history[i + 1 :] = 999.0  # windows of later origins hold the counts after t_i
    mean2, prob2 = model.predict_arrays(later)
    np.testing.assert_array_equal(mean2[: i + 1], mean[: i + 1])
    np.testing.assert_array_equal(prob2[: i + 1], prob[: i + 1], strict=True)
    # and the history known at t is used: the later origins' forecasts moved
    assert np.all(mean2[i + 1 :, 0] != mean[i + 1 :, 0])


def test_autoregressive_terms_improve_the_count_forecast_of_a_level_shift():
    """A series whose level moves slowly: the forecasting GLM follows it, the plain DLNM not."""
    ws = make_windowset(n_days=1400, effect=0.1, seed=12)
    rng = np.random.default_rng(0)
    n_days = len(ws) + ws.lookback + ws.horizon - 1
    walk = np.exp(np.cumsum(rng.normal(0, 0.03, n_days)))
    walk /= walk[: int(0.7 * n_days)].mean()
    factor_hist = sliding_window_view(walk, ws.lookback)[: len(ws)]
    factor_y = sliding_window_view(walk[ws.lookback :], ws.horizon)[: len(ws)]
    shifted = replace(
        ws,
        history=np.round(ws.history * factor_hist),
        y_count=np.round(ws.y_count * factor_y),
    )
    train, test = split(shifted)
    errors = {}
    for ar in ([], [1, 7, 28]):
        mean, _ = GLMDLNM(autoregressive=ar, time_df_per_year=1).fit(train).predict_arrays(test)
        errors[str(ar)] = np.nanmean(np.abs(mean[:, 0] - test.y_count[:, 0]))
    assert errors["[1, 7, 28]"] < 0.9 * errors["[]"], errors


def test_autoregressive_settings_are_checked(data):
    train, _ = data
    with pytest.raises(ValueError, match="glm_dlnm.autoregressive"):
        GLMDLNM(autoregressive=[0, 7])
    with pytest.raises(ValueError, match="longest autoregressive window"):
        GLMDLNM(autoregressive=[1, 60]).fit(train)
    blind = replace(train, history=np.full_like(train.history, np.nan))
    with pytest.raises(ValueError, match="history"):
        GLMDLNM().fit(blind)
    assert "history" not in GLMDLNM(autoregressive=[]).fit(blind).needs
