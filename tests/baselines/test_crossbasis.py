"""Cross-basis and natural-spline bases against their documented definitions and against dlnmpy.

dlnmpy (a Python port of R's dlnm, test-only dependency in the ``dev`` extra) builds the same
cross-bases: same exposure series, same bases and knots → same columns to 1e-10. The documented
definition is also checked by hand on a Chicago NMMAPS excerpt (tests/fixtures/baselines, see
SOURCE.txt), and the natural spline against patsy's natural cubic regression spline (same space).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import patsy
import pytest

from respicast.models.baselines.crossbasis import (
    Linear,
    NaturalSpline,
    crossbasis,
    lag_basis,
    logknots,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "baselines" / "chicago_nmmaps_excerpt.csv"


@pytest.fixture(scope="module")
def chicago():
    data = np.genfromtxt(FIXTURE, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return {name: np.asarray(data[name]) for name in ("temp", "o3", "resp")}


def _lag_matrix(x: np.ndarray, max_lag: int) -> np.ndarray:
    """[T - max_lag, max_lag + 1]: row t holds x_t, x_{t-1}, ..., x_{t-max_lag}."""
    return np.stack([x[max_lag - lag : len(x) - lag] for lag in range(max_lag + 1)], axis=1)


def test_crossbasis_is_the_documented_tensor_product(chicago):
    temp = chicago["temp"]
    max_lag = 5
    var_b = NaturalSpline(df=3).fit(temp)
    lag_b = lag_basis(np.arange(max_lag + 1), df=3)
    x = _lag_matrix(temp, max_lag)
    cb = crossbasis(x, var_b, lag_b)
    n_var, n_lag = 3, lag_b.shape[1]
    assert cb.shape == (len(x), n_var * n_lag)
    # by hand: column (i, j) = sum over lags l of B_var_i(x_{t-l}) * B_lag_j(l)
    for t in (0, 17, len(x) - 1):
        for i in range(n_var):
            for j in range(n_lag):
                expected = sum(
                    var_b(np.array([temp[max_lag + t - lag]]))[0, i] * lag_b[lag, j]
                    for lag in range(max_lag + 1)
                )
                assert cb[t, i * n_lag + j] == pytest.approx(expected, abs=1e-12)


def test_linear_exposure_with_integer_lags_is_the_lag_matrix(chicago):
    o3 = chicago["o3"]
    x = _lag_matrix(o3, 7)
    np.testing.assert_allclose(crossbasis(x, Linear(), lag_basis(np.arange(8), None)), x)
    # with a lag spline, each column is the lag-weighted sum of exposures
    lag_b = lag_basis(np.arange(8), df=3)
    np.testing.assert_allclose(crossbasis(x, Linear(), lag_b), x @ lag_b)


def test_lag_basis_spans_constant_and_linear_lag_curves():
    lags = np.arange(1, 23)
    b = lag_basis(lags, df=4)
    for curve in (np.ones_like(lags, dtype=float), lags.astype(float)):
        _, res, *_ = np.linalg.lstsq(b, curve, rcond=None)
        assert res[0] < 1e-18


def test_natural_spline_spans_the_same_space_as_patsy_cr(chicago):
    temp = chicago["temp"]
    ns = NaturalSpline(df=5, intercept=True).fit(temp)
    ours = ns(temp)
    lo, hi = ns.boundary
    theirs = patsy.dmatrix(
        "cr(x, knots=k, lower_bound=lo, upper_bound=hi) - 1",
        {"x": temp, "k": ns.knots, "lo": lo, "hi": hi},
    )
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape
    for a, b in ((ours, theirs), (theirs, ours)):
        coef, *_ = np.linalg.lstsq(a, b, rcond=None)
        np.testing.assert_allclose(a @ coef, b, atol=1e-9)


def test_natural_spline_is_linear_beyond_the_boundary(chicago):
    ns = NaturalSpline(df=4).fit(chicago["temp"])
    lo, hi = ns.boundary
    for side in (np.array([lo - 9, lo - 6, lo - 3, lo]), np.array([hi, hi + 3, hi + 6, hi + 9])):
        second_diff = np.diff(ns(side), n=2, axis=0)
        np.testing.assert_allclose(second_diff, 0, atol=1e-10)


# ---- against dlnmpy (R's dlnm) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dlnm():
    return pytest.importorskip("dlnmpy", reason="dlnmpy (dev extra) not installed")


@pytest.mark.parametrize(("lag_range", "n_knots"), [((0, 21), 2), ((1, 8), 1), ((3, 24), 3)])
def test_logknots_match_dlnm(dlnm, lag_range, n_knots):
    np.testing.assert_allclose(
        logknots(lag_range, n_knots), dlnm.logknots(list(lag_range), n_knots), rtol=0, atol=1e-12
    )


def _shifted(x: np.ndarray, first_lag: int, last_lag: int) -> np.ndarray:
    """[T, n_lags]: row t holds x_{t-first_lag} .. x_{t-last_lag} (NaN before the series)."""
    out = np.full((len(x), last_lag - first_lag + 1), np.nan)
    for j, lag in enumerate(range(first_lag, last_lag + 1)):
        out[lag:, j] = x[: len(x) - lag]
    return out


@pytest.mark.parametrize(("first_lag", "max_lag", "lag_df"), [(0, 21, 4), (1, 7, 3), (3, 7, 3)])
def test_crossbasis_matches_dlnm_on_a_time_series(dlnm, chicago, first_lag, max_lag, lag_df):
    """crossbasis(temp, lag=c(a, b), argvar=list(fun="ns", df=3),
    arglag=list(fun="ns", knots=logknots(c(a, b), df=lag_df))) and the same with fun="lin"."""
    lag = (first_lag, first_lag + max_lag)
    lag_knots = dlnm.logknots(list(lag), df=lag_df)
    ours_lag = lag_basis(np.arange(lag[0], lag[1] + 1), lag_df)
    for name, var_basis, argvar in (
        ("temp", NaturalSpline(df=3), {"fun": "ns", "df": 3}),
        ("o3", Linear(), {"fun": "lin"}),
    ):
        x = chicago[name]
        theirs = np.asarray(
            dlnm.crossbasis(
                x, lag=list(lag), argvar=argvar, arglag={"fun": "ns", "knots": lag_knots}
            ).matrix
        )
        ours = crossbasis(_shifted(x, *lag), var_basis.fit(x), ours_lag)
        rows = slice(lag[1], None)  # dlnm leaves the first max-lag rows NaN
        assert np.isnan(theirs[: lag[1]]).all()
        np.testing.assert_allclose(ours[rows], theirs[rows], rtol=0, atol=1e-10)


def test_knots_tied_with_the_boundary_are_moved_inside_as_dlnm_does(dlnm, caplog):
    floor = np.r_[np.zeros(60), np.linspace(0.5, 9, 40)]  # rainfall-like: 60 % at the floor
    ns = NaturalSpline(df=4).fit(floor)
    assert ns.knots.min() > 0
    assert "2 knot(s) at the boundary 0 moved inside" in caplog.text
    with pytest.warns(UserWarning, match="shoving"):
        theirs, attrs = dlnm.ns(floor, df=4)
    np.testing.assert_allclose(ns.knots, attrs["knots"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ns(floor), theirs, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="every quantile knot equals the boundary"):
        NaturalSpline(df=2).fit(np.r_[np.zeros(90), np.ones(3)])
