"""How an ensemble's member count distributions become one: ``model.combine``.

Every member gives, per origin and horizon, an expected count mu_i and an NB dispersion k_i
(k = inf: Poisson), and the evaluation reads one (mean, k) per row back from the ensemble
(quantiles, WIS, CRPS, coverage all come from NB(mean, k)). Both combinations below therefore
end in a moment-matched NB: the NB with the combined distribution's mean and variance.

``linear_pool``: the mixture sum_i w_i NB(mu_i, k_i). Exact: its mean and its peak probability
(the weighted mean of the members' own peak probabilities, a classifier head's included).
Approximated: its shape, by the NB of the mixture's mean and variance.

``quantile_average`` (Vincentization): the combined quantile function is Q(p) = sum_i w_i Q_i(p),
Q_i the member's NB quantile function, i.e. the distribution of sum_i w_i Q_i(U), U ~ U(0, 1).
- ``averaged_quantiles``: Q at any levels, exact (scipy's NB quantiles, weighted);
- mean: sum_i w_i mu_i, exact;
- variance: sum_ij w_i w_j rho_ij sd_i sd_j with the members' exact sd_i and the correlation
  rho_ij of Q_i(U) and Q_j(U) estimated on a grid of GRID mid-point levels (exact for one member
  and for identical members, rho = 1; approximated otherwise);
- peak probability: P(Q(U) > threshold), the exceedance of the averaged variable itself, found by
  bisection on the level where Q crosses the threshold (to 1e-10, with exact quantiles); it is
  not a weighted mean of the members' peak probabilities, and a member's own peak head (a deep
  net's classifier) plays no part: only its count distribution does. The averaged variable is
  not integer-valued, so the threshold is compared as it is (no floor): for one member this is
  that member's P(Y > threshold);
- shape: reported as the NB of that mean and variance (the evaluation's quantiles are those of
  this NB, not the exact averaged quantiles).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from respicast.evaluation.quantiles import count_fn

COMBINES = ("linear_pool", "quantile_average")
GRID = 64  # mid-point levels for the correlations (the tests' example: variance within 2e-4)
BISECT = 36  # halvings of the level bracket: widths below 1e-10


def count_ppf(p, mu, k) -> np.ndarray:
    """NB / Poisson quantiles min{y: F(y) >= p}, as scipy's ppf but several times faster: a
    Cornish-Fisher guess, a bracket lo < q <= hi with F(lo) < p <= F(hi) grown by doubling steps,
    then integer bisection, all with the CDF (special functions). Arguments broadcast; p outside
    (0, 1) or a NaN mean give NaN."""
    p, mu, k = np.broadcast_arrays(*(np.asarray(a, float) for a in (p, mu, k)))
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(mu) & (p > 0) & (p < 1)
    p, mu, k = p[ok], np.clip(mu[ok], 1e-9, None), k[ok]
    pois = np.isinf(k)
    kk = np.where(pois, 1.0, k)
    prob = kk / (kk + mu)

    def reaches(q, i):  # F(q) >= p for the elements i; F(-1) = 0
        qq = np.maximum(q, 0.0)
        c = np.where(pois[i], special.pdtr(qq, mu[i]), special.betainc(kk[i], qq + 1, prob[i]))
        return (q >= 0) & (c >= p[i])

    var = member_variance(mu, k)
    z = special.ndtri(p)
    skew = (2 * var - mu) / (mu * np.sqrt(var))
    guess = mu + np.sqrt(var) * (z + np.clip(skew, 0, 3) * (z**2 - 1) / 6)
    guess = np.maximum(np.round(np.nan_to_num(guess, nan=0.0, posinf=0.0)), 0.0)
    at = reaches(guess, np.arange(p.size))
    lo, hi = np.where(at, guess - 1, guess), np.where(at, guess, guess + 1)
    step = np.ones_like(guess)
    grow = np.flatnonzero(at & (lo >= 0))  # F(lo) may still reach p: move lo down
    while grow.size:
        r = reaches(lo[grow], grow)
        hi[grow[r]] = lo[grow[r]]
        step[grow] *= 2
        lo[grow[r]] = np.maximum(lo[grow[r]] - step[grow[r]], -1.0)
        grow = grow[r & (lo[grow] >= 0)]
    grow = np.flatnonzero(~at)  # F(hi) may not reach p yet: move hi up
    while grow.size:
        r = reaches(hi[grow], grow)
        lo[grow[~r]] = hi[grow[~r]]
        step[grow] *= 2
        hi[grow[~r]] += step[grow[~r]]
        grow = grow[~r]
    act = np.flatnonzero(hi - lo > 1)
    while act.size:
        mid = np.floor((lo[act] + hi[act]) / 2)
        r = reaches(mid, act)
        hi[act[r]], lo[act[~r]] = mid[r], mid[~r]
        act = act[hi[act] - lo[act] > 1]
    out[ok] = hi
    return out


def member_variance(mu: np.ndarray, k: np.ndarray) -> np.ndarray:
    """NB variance mu + mu^2 / k (k = inf: Poisson, mu)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return mu + np.where(np.isinf(k), 0.0, mu**2 / k)


def moment_matched_k(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """k = mean^2 / (var - mean); inf (Poisson) when not overdispersed."""
    excess = var - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(excess > 1e-12 * np.maximum(mean, 1.0), mean**2 / excess, np.inf)


def linear_pool(
    w: np.ndarray, mu: np.ndarray, k: np.ndarray, prob: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, peak probability and moment-matched NB k of the mixture sum_i w_i NB(mu_i, k_i).

    w [M, 1, H] (or broadcastable), mu/k/prob [M, N, H]. The mixture's variance is
    sum_i w_i (var_i + mu_i^2) - mean^2. A peak probability that is NaN for one member
    (undefined threshold) is NaN for the pool."""
    mean = np.sum(w * mu, axis=0)
    var = np.sum(w * (member_variance(mu, k) + mu**2), axis=0) - mean**2
    return mean, np.sum(w * prob, axis=0), moment_matched_k(mean, var)


def averaged_quantiles(w: np.ndarray, mu: np.ndarray, k: np.ndarray, levels) -> np.ndarray:
    """[..., L] Vincentized quantiles sum_i w_i Q_i(level): w [M] or broadcastable to mu [M, ...]."""
    levels = np.asarray(levels, float)
    mu_, k_ = np.asarray(mu, float)[..., None], np.asarray(k, float)[..., None]
    q = count_ppf(levels, mu_, k_)  # [M, ..., L]
    w = np.asarray(w, float).reshape(np.shape(w) + (1,) * (q.ndim - np.ndim(w)))
    return np.sum(w * q, axis=0)


def quantile_cov(mu: np.ndarray, k: np.ndarray, grid: int = GRID) -> np.ndarray:
    """[M, M, N, H] covariances of the members' quantile functions Q_i(U), Q_j(U): exact
    variances on the diagonal, grid-estimated correlations off it (module docstring)."""
    m = mu.shape[0]
    sd = np.sqrt(member_variance(mu, k))
    levels = (np.arange(grid) + 0.5) / grid
    q = count_ppf(levels, mu[..., None], k[..., None])  # [M, N, H, G]
    q = q - q.mean(axis=-1, keepdims=True)
    g_sd = np.sqrt(np.mean(q**2, axis=-1))
    cov = np.empty((m, m, *mu.shape[1:]))
    for i in range(m):
        cov[i, i] = sd[i] ** 2
        for j in range(i + 1, m):
            denom = g_sd[i] * g_sd[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                # quantile functions rise together: rho >= 0; a flat grid (tiny means) reads 1
                rho = np.where(denom > 0, np.mean(q[i] * q[j], axis=-1) / denom, 1.0)
            cov[i, j] = cov[j, i] = np.clip(rho, 0.0, 1.0) * sd[i] * sd[j]
    return cov


def exceedance(w: np.ndarray, mu: np.ndarray, k: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """[N, H] P(sum_i w_i Q_i(U) > threshold) (NaN where the threshold is NaN).

    The crossing level p* = sup{p: Q(p) <= t} lies between the members' own ones, F_i(floor t):
    below all of them every Q_i(p) <= floor t, above all of them every Q_i(p) > t. Bisection
    inside that bracket, evaluating Q with exact quantiles."""
    w = np.broadcast_to(w, mu.shape)
    t = np.broadcast_to(np.asarray(threshold, float), mu.shape[1:])
    ok = np.isfinite(t) & np.all(np.isfinite(mu), axis=0)
    out = np.full(mu.shape[1:], np.nan)
    if not ok.any():
        return out
    mu, k, w, t = mu[:, ok], k[:, ok], w[:, ok], t[ok]
    own = count_fn("cdf", np.floor(t)[None], mu, k)  # [M, n]
    lo, hi = own.min(axis=0), own.max(axis=0)
    for _ in range(BISECT):
        act = hi - lo > 1e-10
        if not act.any():
            break
        mid = 0.5 * (lo[act] + hi[act])
        q = np.sum(w[:, act] * count_ppf(mid[None], mu[:, act], k[:, act]), axis=0)
        below = q <= t[act]
        lo[act] = np.where(below, mid, lo[act])
        hi[act] = np.where(below, hi[act], mid)
    out[ok] = 1.0 - lo
    return out


def quantile_average(
    w: np.ndarray, mu: np.ndarray, k: np.ndarray, threshold: np.ndarray, cov=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, peak probability and moment-matched NB k of the Vincentized members (module
    docstring). w [M, 1, H] (or broadcastable), mu/k [M, N, H], threshold [N] or [N, H]."""
    cov = quantile_cov(mu, k) if cov is None else cov
    w_full = np.broadcast_to(w, mu.shape)
    mean = np.sum(w_full * mu, axis=0)
    var = np.einsum("i...,ij...,j...->...", w_full, cov, w_full)
    t = np.asarray(threshold, float)
    t = t[:, None] if t.ndim == 1 else t
    return mean, exceedance(w_full, mu, k, t), moment_matched_k(mean, var)


def simplex_grid(m: int, step: float) -> np.ndarray:
    """[G, m] every weight vector on the simplex whose entries are multiples of ``step``."""
    n = round(1 / step)

    def parts(total: int, k: int):
        if k == 1:
            yield (total,)
            return
        for first in range(total, -1, -1):
            for rest in parts(total - first, k - 1):
                yield (first, *rest)

    return np.array(list(parts(n, m)), dtype=float) / n


def min_wis_weights(
    mu: np.ndarray, k: np.ndarray, y: np.ndarray, combine: str = "linear_pool"
) -> np.ndarray:
    """[M] weights of the combination with the lowest mean WIS (hub levels) on these rows.

    mu, k [M, N] (members' means and NB k), y [N] observed (NaN rows ignored). WIS is scored on
    the combination's moment-matched NB, as the evaluation scores it. Its quantiles are integers,
    so WIS is a step function of the weights: the search is a simplex grid (step 0.05 up to 3
    members, 0.1 beyond), and among equal scores the most even weights win."""
    from respicast.evaluation.proper_scores import wis_parts
    from respicast.evaluation.quantiles import HUB_LEVELS, count_quantiles

    if combine not in COMBINES:
        raise ValueError(f"model.combine={combine!r}: choose one of {COMBINES}")
    ok = np.isfinite(y) & np.all(np.isfinite(mu), axis=0)
    mu, k, y = mu[:, ok], k[:, ok], y[ok]
    m = mu.shape[0]
    # the quantile average's variance is w' C w: C once, then each weight vector is cheap
    cov = quantile_cov(mu, k) if combine == "quantile_average" else None
    best, best_w = np.inf, np.full(m, 1.0 / m)
    for w in simplex_grid(m, 0.05 if m <= 3 else 0.1):
        if cov is None:
            mean, _, k_comb = linear_pool(w[:, None], mu, k, np.zeros_like(mu))
        else:
            mean = w @ mu
            k_comb = moment_matched_k(mean, np.einsum("i,ijn,j->n", w, cov, w))
        score = float(
            np.mean(wis_parts(y, count_quantiles(mean, k_comb, HUB_LEVELS), HUB_LEVELS)["wis"])
        )
        score += 1e-9 * float(np.sum((w - 1.0 / m) ** 2))  # ties: the most even weights
        if score < best:
            best, best_w = score, w
    return best_w
