"""Proper scores of a count forecast: WIS (and its parts), CRPS, log score, interval coverage, PIT.

Each row of a predictions frame is a count distribution (``predicted`` mean, ``dispersion`` k;
see ``evaluation.quantiles``) and an observed count. Scores are computed per row, then averaged
per horizon, with week-block bootstrap CIs (``evaluation.bootstrap``). All are negatively
oriented (lower is better) except coverage. A central interval of a count distribution holds
at least its nominal mass (about 86 % for an "80 %" interval of a Poisson of mean 6), so
``cover80_expected`` (the forecast's own mean mass of that interval) is the coverage a calibrated
forecast reaches; the nominal level is only reached for large counts. ``pit_cover80`` is the
coverage of the randomised 80 % interval: the share of days whose randomised PIT lies in
[0.10, 0.90], i.e. the interval's inner counts always and its two end counts with the probability
that brings its mass to exactly 80 %; a calibrated forecast covers the nominal share, so it is the
coverage to compare with 80 % (Czado, Gneiting & Held 2009).

CRPS is exact for a discrete distribution, CRPS(F, y) = sum_{s>=0} (F(s) - 1{s >= y})², summed
over the support between the 1e-10 and 1 - 1e-10 quantiles (outside, F is 0 or 1 and each term
is 0 or 1): scoringrules 0.10's closed forms return NaN for a
large NB size and negative values for a Poisson mean above ~25, so they are only used as a
cross-check in the tests.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from respicast.evaluation.bootstrap import bootstrap_cis, iso_week_ids
from respicast.evaluation.quantiles import LEVELS_KEY, check_levels, count_fn, count_quantiles

log = logging.getLogger(__name__)

COVER_LEVELS = (0.5, 0.8, 0.95)
WIS_PARTS = ("wis", "wis_dispersion", "wis_overprediction", "wis_underprediction")
COVERS = tuple(f"cover{round(100 * c)}" for c in COVER_LEVELS)
PIT_COVERS = tuple(f"pit_{c}" for c in COVERS)
SCORES = (
    *WIS_PARTS,
    "crps",
    "logscore",
    *COVERS,
    *(f"{c}_expected" for c in COVERS),
    *PIT_COVERS,
)
_TAIL = 1e-10  # CRPS support truncated where the upper tail mass falls below this
_MAX_SUPPORT = 1_000_000  # beyond: CRPS by quantiles (_crps_by_quantiles)
_N_TAU = 2000
_CELLS = 4_000_000  # grid cells of one CRPS chunk (32 MB of float64)
_CHUNK = 1024  # rows per CRPS block (memory: rows x support)


def interval_pairs(levels, key: str = LEVELS_KEY) -> tuple[np.ndarray, np.ndarray, int]:
    """Indices (lower, upper) of the central intervals and of the median: WIS needs levels
    symmetric about 0.5 that include 0.5."""
    lv = check_levels(levels, key)
    mid = np.flatnonzero(np.isclose(lv, 0.5))
    symmetric = lv.size % 2 == 1 and np.allclose(lv + lv[::-1], 1.0)
    if mid.size != 1 or not symmetric:
        raise ValueError(
            f"config {key}: WIS needs levels symmetric about 0.5 that include 0.5, got {lv.tolist()}"
        )
    m = int(mid[0])
    return np.arange(m), np.arange(lv.size - 1, m, -1), m


def wis_parts(y: np.ndarray, q: np.ndarray, levels) -> dict[str, np.ndarray]:
    """Weighted interval score per row and its dispersion / over- / under-prediction parts.

    Bracher, Ray, Gneiting & Reich (2021), "Evaluating epidemic forecasts in an interval format",
    PLoS Comput Biol 17(2): e1008618, eq. (2)-(3): WIS = (w0 |y - m| + sum_k w_k IS_{alpha_k}) /
    (K + 1/2) with w0 = 1/2, w_k = alpha_k / 2 and IS_a = (u - l) + 2/a (l - y)+ + 2/a (y - u)+.
    The median's term counts as over- or under-prediction, as in scoringutils.
    """
    lo_i, hi_i, m = interval_pairs(levels)
    lv = check_levels(levels)
    y = np.asarray(y, float)[:, None]
    lo, hi, alpha = q[:, lo_i], q[:, hi_i], 2 * lv[lo_i][None, :]
    med = q[:, m]
    norm = lo_i.size + 0.5
    disp = np.sum(alpha / 2 * (hi - lo), axis=1) / norm
    over = (np.sum(np.clip(lo - y, 0, None), axis=1) + 0.5 * np.clip(med - y[:, 0], 0, None)) / norm
    under = (
        np.sum(np.clip(y - hi, 0, None), axis=1) + 0.5 * np.clip(y[:, 0] - med, 0, None)
    ) / norm
    return {
        "wis": disp + over + under,
        "wis_dispersion": disp,
        "wis_overprediction": over,
        "wis_underprediction": under,
    }


def crps_from_cdf(y: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """CRPS of distributions on 0..S-1 given by their CDF rows [N, S] (F(S-1) ~ 1)."""
    support = np.arange(cdf.shape[1])[None, :]
    step = (support >= np.asarray(y, float)[:, None]).astype(float)
    return np.sum((cdf - step) ** 2, axis=1)


def _cdf_on(lo: np.ndarray, width: int, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """[R, width] CDF of each row's Poisson/NB at lo, lo+1, ...: its pmf at lo, then the pmf
    ratio p(x+1)/p(x) cumulated in logs (one pass; scipy's cdf per cell is ~100x slower)."""
    x = lo[:, None] + np.arange(width - 1)[None, :]
    m = np.clip(mean, 1e-9, None)[:, None]
    kk = k[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(
            np.isinf(kk),
            np.log(m) - np.log1p(x),
            np.log((x + kk) / (x + 1)) + np.log(m / (kk + m)),
        )
    logp0 = count_fn("logpmf", lo, mean, k)[:, None]
    logp = logp0 + np.concatenate([np.zeros((len(lo), 1)), np.cumsum(step, axis=1)], axis=1)
    before = count_fn("cdf", lo - 1, mean, k)[:, None]
    return np.minimum(before + np.cumsum(np.exp(logp), axis=1), 1.0)


def crps_counts(y: np.ndarray, mean: np.ndarray, dispersion) -> np.ndarray:
    """CRPS of Poisson/NB(mean, k) counts at integer observations ``y``: the exact sum over the
    support where tail masses exceed _TAIL, plus the outside counts where F is 0 or 1 (those
    terms are 1 for s in [y, lo) and in [hi, y))."""
    y, mean = np.asarray(y, float), np.asarray(mean, float)
    k = np.broadcast_to(np.asarray(np.inf if dispersion is None else dispersion, float), y.shape)
    out = np.full(y.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(y) & np.isfinite(mean))
    if not ok.size:
        return out
    lo = np.maximum(count_fn("ppf", _TAIL, mean[ok], k[ok]) - 1, 0).astype(np.int64)
    hi = count_fn("ppf", 1 - _TAIL, mean[ok], k[ok]).astype(np.int64) + 2
    wide = (hi - lo) > _MAX_SUPPORT
    if wide.any():  # an absurd forecast (mean of millions): the quantile form, bounded memory
        rows = ok[wide]
        out[rows] = _crps_by_quantiles(y[rows], mean[rows], k[rows])
        log.warning(
            "CRPS of %d row(s) whose count support exceeds %d (mean up to %.3g) approximated by "
            "%d quantiles",
            rows.size,
            _MAX_SUPPORT,
            float(np.max(mean[rows])),
            _N_TAU,
        )
        ok, lo, hi = ok[~wide], lo[~wide], hi[~wide]
    # rows by support width, cut into chunks of at most _CELLS grid cells: one heavy-tailed row
    # (a small k) must not widen the grid of every other row
    order = np.argsort(hi - lo, kind="stable")
    ok, lo, hi = ok[order], lo[order], hi[order]
    width = hi - lo
    start = 0
    while start < ok.size:
        stop = start + 1
        while (
            stop < ok.size and stop - start < _CHUNK and (stop + 1 - start) * width[stop] <= _CELLS
        ):
            stop += 1
        rows, lo_r, w = ok[start:stop], lo[start:stop], int(width[stop - 1])
        cdf = _cdf_on(lo_r, w, mean[rows], k[rows])
        yr = y[rows]
        support = lo_r[:, None] + np.arange(w)[None, :]
        inside = np.sum((cdf - (support >= yr[:, None])) ** 2, axis=1)
        out[rows] = inside + np.maximum(lo_r - yr, 0) + np.maximum(yr - (lo_r + w), 0)
        start = stop
    return out


def _crps_by_quantiles(y: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """CRPS = 2 * integral over tau of the pinball loss of F^-1(tau), by the midpoint rule."""
    tau = (np.arange(_N_TAU) + 0.5) / _N_TAU
    out = np.empty(y.shape)
    for i in range(y.size):
        q = count_fn("ppf", tau, np.full(_N_TAU, mean[i]), np.full(_N_TAU, k[i]))
        out[i] = 2 * np.mean(((y[i] < q).astype(float) - tau) * (q - y[i]))
    return out


def log_score(y: np.ndarray, mean: np.ndarray, dispersion) -> np.ndarray:
    """-log P(Y = y) (natural log): lower is better."""
    return -count_fn("logpmf", y, mean, dispersion)


def central_interval(mean: np.ndarray, dispersion, level: float) -> tuple[np.ndarray, ...]:
    """(lo, hi, mass): the central ``level`` interval [F⁻¹((1-l)/2), F⁻¹((1+l)/2)] and the
    probability the forecast gives it (>= level for counts)."""
    lo = count_fn("ppf", (1 - level) / 2, mean, dispersion)
    hi = count_fn("ppf", (1 + level) / 2, mean, dispersion)
    mass = count_fn("cdf", hi, mean, dispersion) - count_fn("cdf", lo - 1, mean, dispersion)
    return lo, hi, mass


def central_coverage(y: np.ndarray, mean: np.ndarray, dispersion, level: float) -> np.ndarray:
    """1.0 when y lies in the central ``level`` interval, NaN where y is missing."""
    lo, hi, _ = central_interval(mean, dispersion, level)
    y = np.asarray(y, float)
    return np.where(np.isfinite(y), ((y >= lo) & (y <= hi)).astype(float), np.nan)


def randomized_pit(y: np.ndarray, mean: np.ndarray, dispersion, seed: int = 0) -> np.ndarray:
    """Randomised PIT F(y-1) + V P(Y = y), V ~ U(0, 1): uniform when the forecast is calibrated
    (Czado, Gneiting & Held 2009, Biometrics 65: 1254-1261)."""
    v = np.random.default_rng(seed).uniform(size=np.shape(y))
    below = count_fn("cdf", np.asarray(y, float) - 1, mean, dispersion)
    return below + v * count_fn("pmf", y, mean, dispersion)


def pit_coverage(pit: np.ndarray, level: float) -> np.ndarray:
    """1.0 when the randomised PIT lies in the central ``level`` band, NaN where it is missing."""
    lo, hi = (1 - level) / 2, (1 + level) / 2
    return np.where(np.isfinite(pit), ((pit >= lo) & (pit <= hi)).astype(float), np.nan)


def observed_counts(observed: np.ndarray, where: str) -> np.ndarray:
    """Observed values as integer counts; non-integers are rounded, the repair logged."""
    y = np.asarray(observed, float)
    frac = np.isfinite(y) & (np.abs(y - np.round(y)) > 1e-9)
    if frac.any():
        log.warning(
            "%s: %d non-integer observed count(s) rounded for the proper scores", where, frac.sum()
        )
    return np.round(y)


def row_scores(frame: pl.DataFrame, levels, where: str = "predictions") -> dict[str, np.ndarray]:
    """Every score of ``SCORES`` per row of a frame with observed, predicted and dispersion."""
    y = observed_counts(frame["observed"].cast(pl.Float64).fill_null(np.nan).to_numpy(), where)
    mean = frame["predicted"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    k = frame["dispersion"].cast(pl.Float64).fill_null(np.inf).to_numpy()
    ok = np.isfinite(y) & np.isfinite(mean)
    out = wis_parts(y, count_quantiles(mean, k, levels), levels)
    out["crps"] = crps_counts(y, mean, k)
    out["logscore"] = log_score(y, mean, k)
    pit = randomized_pit(np.where(ok, y, 0.0), np.where(ok, mean, 1.0), k)
    for c in COVER_LEVELS:
        out[f"cover{round(100 * c)}"] = central_coverage(y, mean, k, c)
        out[f"cover{round(100 * c)}_expected"] = central_interval(mean, k, c)[2]
        out[f"pit_cover{round(100 * c)}"] = pit_coverage(pit, c)
    return {name: np.where(ok, v, np.nan) for name, v in out.items()}


def _means(scores: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, float]:
    return {
        name: float(np.nanmean(v[idx])) if np.isfinite(v[idx]).any() else float("nan")
        for name, v in scores.items()
    }


def horizon_scores(
    frame: pl.DataFrame, levels, bootstrap, seed: int, where: str
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Mean scores of one split at one horizon (pooled over folds), and their CIs from
    ``bootstrap.n`` week-block resamples of the target dates ({} when n = 0)."""
    scores = row_scores(frame, levels, where)
    point = _means(scores, np.arange(frame.height))
    if bootstrap.n <= 0 or not frame.height:
        return point, {}
    cis = bootstrap_cis(
        lambda idx: _means(scores, idx),
        iso_week_ids(frame["target_date"]),
        bootstrap.n,
        seed,
        bootstrap.level,
    )
    return point, cis
