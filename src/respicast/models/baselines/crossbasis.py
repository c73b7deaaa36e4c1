"""Bases for distributed-lag (non-linear) models, after the definitions of R's ``dlnm``.

``ns_basis`` is a natural cubic spline basis built like R's ``splines::ns`` (cubic B-splines on
the augmented knots, projected onto the null space of the second derivatives at both boundary
knots; linear beyond the boundaries). The projection is a Householder QR here, so columns may
differ from R's by an invertible linear map: the span, and so every fitted curve, is the same.

A cross-basis (Gasparrini 2011, J Stat Softw 43(8)) is the row-wise tensor product of an exposure
basis and a lag basis: column (i, j) = Σ_l B_exp_i(x_{t-l}) · B_lag_j(l).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline

log = logging.getLogger(__name__)


def _bspline_columns(x: np.ndarray, knots: np.ndarray, deriv: int = 0) -> np.ndarray:
    """[len(x), n_basis] cubic B-spline basis (or its derivative) on the augmented knots."""
    n_basis = len(knots) - 4
    out = np.empty((len(x), n_basis))
    for j in range(n_basis):
        coef = np.zeros(n_basis)
        coef[j] = 1.0
        spline = BSpline(knots, coef, 3, extrapolate=False)
        out[:, j] = spline.derivative(deriv)(x) if deriv else spline(x)
    return np.nan_to_num(out)


def _inside_boundary(knots: np.ndarray, boundary: tuple[float, float]) -> np.ndarray:
    """Quantile knots that tie with a boundary (an exposure with a floor) moved inside.

    As splines::ns does: by 1/8 of the gap to the nearest knot strictly inside; an error when
    every knot ties with that boundary.
    """
    knots = np.array(knots, dtype=float)
    lo, hi = boundary
    for pivot, side in ((lo, 1.0), (hi, -1.0)):
        tied = knots == pivot
        if not tied.any():
            continue
        others = knots[(knots - pivot) * side > 0]
        if others.size == 0:
            raise ValueError(
                f"natural spline: every quantile knot equals the boundary {pivot}; give knots"
            )
        nearest = others.min() if side > 0 else others.max()
        log.warning("natural spline: %d knot(s) at the boundary %g moved inside", tied.sum(), pivot)
        knots[tied] = pivot + (nearest - pivot) / 8
    return knots


@dataclass
class NaturalSpline:
    """Natural cubic spline basis with fixed knots (``fit`` on training values, then ``__call__``)."""

    df: int | None = None
    knots: np.ndarray | None = None  # interior knots; from quantiles of x when None
    boundary: tuple[float, float] | None = None
    intercept: bool = False

    def fit(self, x: np.ndarray) -> NaturalSpline:
        x = np.asarray(x, dtype=float)
        x = x[~np.isnan(x)]
        if x.size == 0:
            raise ValueError("natural spline: no finite value to place knots on")
        if self.boundary is None:
            self.boundary = (float(x.min()), float(x.max()))
        if self.knots is None:
            if self.df is None:
                raise ValueError("natural spline: give df or knots")
            n_inner = self.df - 1 - int(self.intercept)
            if n_inner < 0:
                raise ValueError(f"natural spline: df={self.df} too small")
            probs = np.linspace(0, 1, n_inner + 2)[1:-1]
            # quantiles of the values within the boundary knots (ends included), as splines::ns
            inside = x[(x >= self.boundary[0]) & (x <= self.boundary[1])]
            self.knots = _inside_boundary(np.quantile(inside, probs), self.boundary)
        self.knots = np.asarray(self.knots, dtype=float)
        lo, hi = self.boundary
        aug = np.concatenate([[lo] * 4, np.sort(self.knots), [hi] * 4])
        const = _bspline_columns(np.array([lo, hi]), aug, deriv=2)  # [2, n_basis]
        first = 0 if self.intercept else 1
        q, _ = np.linalg.qr(const[:, first:].T, mode="complete")
        self._aug, self._first, self._proj = aug, first, q[:, 2:]
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float).ravel()
        lo, hi = self.boundary
        inside = np.clip(x, lo, hi)
        # the natural spline is linear beyond the boundary knots: value + slope × distance
        basis = _bspline_columns(inside, self._aug)
        slope = _bspline_columns(inside, self._aug, deriv=1)
        basis = basis + slope * (x - inside)[:, None]
        out = basis[:, self._first :] @ self._proj
        return np.where(np.isnan(x)[:, None], np.nan, out)

    @property
    def n_columns(self) -> int:
        return self._proj.shape[1]


class Linear:
    """Linear exposure basis (dlnm's ``lin``): the exposure itself."""

    n_columns = 1

    def fit(self, x: np.ndarray) -> Linear:
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float).reshape(-1, 1)


def integer_lag_basis(lags: np.ndarray) -> np.ndarray:
    """One indicator per lag (dlnm's ``integer``): an unconstrained lag structure."""
    return np.eye(len(lags))


def logknots(lag_range: tuple[float, float], n_knots: int) -> np.ndarray:
    """Lag knots equally spaced on the log scale, as dlnm's ``logknots`` (R, Gasparrini).

    For lags lo..hi (span L = hi - lo): knot i = lo + exp(i (1 + log L) / (n_knots + 1) - 1),
    i = 1..n_knots; more knots at short lags, where effects change fastest.
    """
    lo, hi = float(lag_range[0]), float(lag_range[1])
    if hi - lo <= 0:
        raise ValueError(f"logknots: lag range {lo}..{hi} must have a positive span")
    if n_knots < 1:
        return np.empty(0)
    i = np.arange(1, n_knots + 1)
    return lo + np.exp(i * (1 + np.log(hi - lo)) / (n_knots + 1) - 1)


def lag_basis(lags: np.ndarray, df: int | None) -> np.ndarray:
    """[n_lags, J] lag basis: ``integer`` when df is None, else a natural spline with intercept.

    As dlnm's ``arglag = list(fun = "ns", knots = logknots(lag, df = df))``: df - 2 interior
    knots from :func:`logknots`, boundary knots at the first and last lag.
    """
    lags = np.asarray(lags, dtype=float)
    if df is None or df >= len(lags):
        return integer_lag_basis(lags)
    if df < 2:
        raise ValueError(f"lag basis: df={df}; a natural spline with intercept needs df >= 2")
    lo, hi = float(lags.min()), float(lags.max())
    knots = logknots((lo, hi), df - 2)  # intercept=True: df = interior knots + 2
    ns = NaturalSpline(knots=knots, boundary=(lo, hi), intercept=True).fit(lags)
    return ns(lags)


def crossbasis(exposure_lags: np.ndarray, var_basis, lag_b: np.ndarray) -> np.ndarray:
    """[N, I*J] cross-basis from exposures [N, n_lags] (column l = exposure at lag l).

    Column i*J + j = Σ_l B_var_i(x[:, l]) · B_lag[l, j] (dlnm's order: v1.l1, v1.l2, ...).
    """
    n, n_lags = exposure_lags.shape
    if lag_b.shape[0] != n_lags:
        raise ValueError(
            f"crossbasis: {n_lags} lag columns but a lag basis of {lag_b.shape[0]} rows"
        )
    bv = var_basis(exposure_lags.reshape(-1)).reshape(n, n_lags, -1)  # [N, lags, I]
    return np.einsum("nli,lj->nij", bv, lag_b).reshape(n, -1)
