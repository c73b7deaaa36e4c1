"""Count distributions shared by every model that predicts an expected count.

A peak is ``count > threshold``; models that only predict a mean (climatology, GLM, ...) turn it into
a peak probability with the survival function of their count distribution.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# above this k an NB is a Poisson to double precision, and scipy's nbinom loses accuracy
POISSON_K = 1e8


def as_k(dispersion, shape) -> np.ndarray:
    """NB k as an array of ``shape``; null/NaN/None/huge -> inf (Poisson)."""
    if dispersion is None:
        return np.full(shape, np.inf)
    k = np.broadcast_to(np.asarray(dispersion, dtype=float), shape).copy()
    k[~np.isfinite(k) | (k > POISSON_K)] = np.inf
    return k


def exceedance_prob(
    mean: np.ndarray, threshold: np.ndarray, dispersion: float | np.ndarray | None = None
) -> np.ndarray:
    """P(Y > threshold) for Y ~ Poisson(mean), or NB(mean, dispersion k) with var = mean + mean²/k.

    NaN thresholds (peak undefined) give NaN.
    """
    mean = np.clip(np.asarray(mean, dtype=float), 1e-9, None)
    thr = np.asarray(threshold, dtype=float)
    # counts are integers: P(Y > 4.3) = P(Y >= 5) = sf(4)
    k_int = np.floor(thr)
    if dispersion is None or np.all(np.isinf(dispersion)):
        p = stats.poisson.sf(k_int, mean)
    else:
        k = np.asarray(dispersion, dtype=float)
        p = stats.nbinom.sf(k_int, k, k / (k + mean))
    return np.where(np.isnan(thr), np.nan, p)


def quantiles(
    mean: np.ndarray, q: float, dispersion: float | np.ndarray | None = None
) -> np.ndarray:
    """q-quantile of the count distribution (prediction intervals)."""
    mean = np.clip(np.asarray(mean, dtype=float), 1e-9, None)
    if dispersion is None:
        return stats.poisson.ppf(q, mean)
    k = np.asarray(dispersion, dtype=float)
    return stats.nbinom.ppf(q, k, k / (k + mean))
