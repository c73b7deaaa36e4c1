"""Negative-binomial dispersion fitted to counts around a model's mean (var = mu + mu²/k)."""

from __future__ import annotations

import numpy as np
from scipy import optimize, special


def nb_loglik(y: np.ndarray, mu: np.ndarray, k: float) -> float:
    p = k / (k + mu)
    return float(
        np.sum(
            special.gammaln(y + k)
            - special.gammaln(k)
            - special.gammaln(y + 1)
            + k * np.log(p)
            + y * np.log1p(-p)
        )
    )


def fit_nb_dispersion(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood k given fitted means; ``inf`` (Poisson) when there is no overdispersion."""
    y = np.asarray(y, dtype=float).ravel()
    mu = np.clip(np.asarray(mu, dtype=float).ravel(), 1e-9, None)
    ok = ~(np.isnan(y) | np.isnan(mu))
    y, mu = y[ok], mu[ok]
    if y.size < 10:
        raise ValueError(f"dispersion: need at least 10 observed counts, got {y.size}")
    # Pearson excess over Poisson; none means Poisson fits as well as any NB
    if np.sum((y - mu) ** 2 - mu) <= 0:
        return float("inf")
    res = optimize.minimize_scalar(
        lambda logk: -nb_loglik(y, mu, float(np.exp(logk))),
        bounds=(np.log(1e-2), np.log(1e6)),
        method="bounded",
    )
    return float(np.exp(res.x))
