"""TSFEL statistical + temporal features, vectorised over many windows at once.

Each function takes ``x`` of shape [N, L] (one window per row, no NaN) and returns [N]. The
definitions follow tsfel 0.2.0 (same names in ``FEATURES``), so values agree with
``tsfel.<function>`` window by window; ``tests/features`` checks each one against tsfel.

Left out on purpose: tsfel's ``ECDF`` and ``ECDF Percentile Count`` (for a fixed window length
they are the same constants on every window) and ``Lempel-Ziv complexity`` (off in tsfel's
default configuration).

One deliberate difference: tsfel's ``ECDF Percentile`` returns the first value when the first and
last values are equal (its constant-signal test is ``sum(diff(x)) == 0``); here it is always the
percentile of the ECDF, which is what the feature is meant to be.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_INV_E = float(np.exp(-1.0))


def _diff(x: np.ndarray) -> np.ndarray:
    return np.diff(x, axis=1)


def _sorted(x: np.ndarray) -> np.ndarray:
    return np.sort(x, axis=1)


def abs_energy(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.sum(x * x, axis=1)


def average_power(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    # energy over the time span (first to last sample), as tsfel
    return np.sum(x * x, axis=1) / ((x.shape[1] - 1) / fs)


def entropy(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Shannon entropy of the empirical distribution of distinct values, normalised by log2(L)."""
    n, length = x.shape
    if length <= 2:  # log2(2) == 1: tsfel defines the entropy as 0
        return np.zeros(n)
    s = _sorted(x)
    new_value = np.ones_like(s, dtype=bool)
    new_value[:, 1:] = s[:, 1:] != s[:, :-1]
    value_id = np.cumsum(new_value, axis=1) - 1  # id of the distinct value within its row
    flat = (np.arange(n)[:, None] * length + value_id).ravel()
    counts = np.bincount(flat, minlength=n * length).reshape(n, length)
    p = counts / length
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    h = -np.sum(terms, axis=1) / np.log2(length)
    return np.where(h == 0, 0.0, h)


def hist_mode(x: np.ndarray, fs: float = 1.0, nbins: int = 10) -> np.ndarray:
    """Midpoint of the fullest of ``nbins`` equal-width bins over [min, max] (first one on ties)."""
    n = x.shape[0]
    lo, hi = x.min(axis=1), x.max(axis=1)
    flat_range = lo == hi  # numpy widens a zero range to +-0.5
    lo = np.where(flat_range, lo - 0.5, lo)
    hi = np.where(flat_range, hi + 0.5, hi)
    edges = np.linspace(lo, hi, nbins + 1, axis=1)  # [N, nbins+1]
    idx = np.floor((x - lo[:, None]) * (nbins / (hi - lo))[:, None]).astype(np.intp)
    idx = np.clip(idx, 0, nbins - 1)
    # correct float rounding against the actual edges (right edge of the last bin is closed)
    rows = np.arange(n)[:, None]
    idx = np.where(x < edges[rows, idx], idx - 1, idx)
    idx = np.where((x >= edges[rows, idx + 1]) & (idx != nbins - 1), idx + 1, idx)
    counts = np.bincount((rows * nbins + idx).ravel(), minlength=n * nbins).reshape(n, nbins)
    best = np.argmax(counts, axis=1)
    r = np.arange(n)
    return (edges[r, best] + edges[r, best + 1]) / 2.0


def interq_range(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    q75, q25 = np.percentile(x, [75, 25], axis=1)
    return q75 - q25


def _central_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = x - x.mean(axis=1, keepdims=True)
    d2 = d * d
    return np.mean(d2, axis=1), np.mean(d2 * d, axis=1), np.mean(d2 * d2, axis=1)


def kurtosis(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Fisher (excess) kurtosis, biased, as scipy.stats.kurtosis; NaN on constant windows."""
    m2, _, m4 = _central_moments(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m4 / (m2 * m2) - 3.0
    return np.where(_near_constant(x, m2), np.nan, out)


def skewness(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Biased skewness, as scipy.stats.skew; NaN on constant windows."""
    m2, m3, _ = _central_moments(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m3 / m2**1.5
    return np.where(_near_constant(x, m2), np.nan, out)


def _near_constant(x: np.ndarray, m2: np.ndarray) -> np.ndarray:
    # scipy's test for "numerically constant": variance below float precision of the mean
    mean = x.mean(axis=1)
    return m2 <= (np.finfo(x.dtype).eps * mean) ** 2


def calc_max(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return x.max(axis=1)


def calc_min(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return x.min(axis=1)


def calc_mean(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return x.mean(axis=1)


def calc_median(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.median(x, axis=1)


def mean_abs_deviation(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.mean(np.abs(x - x.mean(axis=1, keepdims=True)), axis=1)


def median_abs_deviation(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.median(np.abs(x - np.median(x, axis=1, keepdims=True)), axis=1)


def rms(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.sqrt(np.mean(x * x, axis=1))


def calc_std(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return x.std(axis=1)


def calc_var(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return x.var(axis=1)


def pk_pk_distance(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.abs(x.max(axis=1) - x.min(axis=1))


def ecdf_percentile(x: np.ndarray, p: float) -> np.ndarray:
    """Largest sorted value whose ECDF height i/L is <= p."""
    length = x.shape[1]
    heights = np.arange(1, length + 1) / length
    k = int(np.sum(heights <= p))
    if k == 0:
        return np.full(x.shape[0], np.nan)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


# ---- temporal domain ----


def auc(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Trapezoid area of |x| with sample spacing 1/fs."""
    return np.sum(0.5 / fs * np.abs(x[:, :-1] + x[:, 1:]), axis=1)


def autocorr(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """First lag (1..L//3) at which the adjusted ACF drops below 1/e; NaN if none; 1 if constant."""
    n, length = x.shape
    nlags = length // 3
    d = x - x.mean(axis=1, keepdims=True)
    acov0 = np.sum(d * d, axis=1) / length
    first = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for lag in range(nlags, 0, -1):  # descending, so the smallest crossing lag wins
            acov = np.sum(d[:, lag:] * d[:, :-lag], axis=1) / (length - lag)
            first = np.where(acov / acov0 < _INV_E, lag, first)
    constant = np.all(x == x[:, :1], axis=1)
    return np.where(constant, 1.0, first)


def calc_centroid(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Energy-weighted mean time; 0 when the energy or its time moment is 0."""
    energy = x * x
    t = np.arange(x.shape[1]) / fs
    t_energy = energy @ t
    total = energy.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = t_energy / total
    return np.where((total == 0) | (t_energy == 0), 0.0, out)


def negative_turning(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    d = _diff(x)
    return np.sum((d[:, :-1] < 0) & (d[:, 1:] > 0), axis=1).astype(float)


def positive_turning(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    d = _diff(x)
    return np.sum((d[:, :-1] > 0) & (d[:, 1:] < 0), axis=1).astype(float)


def mean_abs_diff(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.mean(np.abs(_diff(x)), axis=1)


def mean_diff(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.mean(_diff(x), axis=1)


def median_abs_diff(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.median(np.abs(_diff(x)), axis=1)


def median_diff(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.median(_diff(x), axis=1)


def neighbourhood_peaks(x: np.ndarray, fs: float = 1.0, n: int = 10) -> np.ndarray:
    """Points strictly above each of their n neighbours on both sides."""
    length = x.shape[1]
    if length <= 2 * n:
        return np.zeros(x.shape[0])
    centre = x[:, n : length - n]
    peak = np.ones_like(centre, dtype=bool)
    for i in range(1, n + 1):
        peak &= centre > x[:, n - i : length - n - i]
        peak &= centre > x[:, n + i : length - n + i]
    return peak.sum(axis=1).astype(float)


def distance(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    d = _diff(x)
    return np.sum(np.sqrt(1.0 + d * d), axis=1)


def slope(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    """Least-squares slope against the sample index."""
    t = np.arange(x.shape[1], dtype=float)
    tc = t - t.mean()
    return (x @ tc) / (tc @ tc)


def sum_abs_diff(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.sum(np.abs(_diff(x)), axis=1)


def zero_cross(x: np.ndarray, fs: float = 1.0) -> np.ndarray:
    return np.sum(_diff(np.sign(x)) != 0, axis=1).astype(float)


FeatureFn = Callable[..., np.ndarray]

# name -> (vectorised function, keyword arguments); names are tsfel's feature names
FEATURES: dict[str, tuple[FeatureFn, dict]] = {
    # statistical
    "Absolute energy": (abs_energy, {}),
    "Average power": (average_power, {}),
    "ECDF Percentile_0": (lambda x, fs=1.0: ecdf_percentile(x, 0.2), {}),
    "ECDF Percentile_1": (lambda x, fs=1.0: ecdf_percentile(x, 0.8), {}),
    "Entropy": (entropy, {}),
    "Histogram mode": (hist_mode, {}),
    "Interquartile range": (interq_range, {}),
    "Kurtosis": (kurtosis, {}),
    "Max": (calc_max, {}),
    "Mean": (calc_mean, {}),
    "Mean absolute deviation": (mean_abs_deviation, {}),
    "Median": (calc_median, {}),
    "Median absolute deviation": (median_abs_deviation, {}),
    "Min": (calc_min, {}),
    "Peak to peak distance": (pk_pk_distance, {}),
    "Root mean square": (rms, {}),
    "Skewness": (skewness, {}),
    "Standard deviation": (calc_std, {}),
    "Variance": (calc_var, {}),
    # temporal
    "Area under the curve": (auc, {}),
    "Autocorrelation": (autocorr, {}),
    "Centroid": (calc_centroid, {}),
    "Mean absolute diff": (mean_abs_diff, {}),
    "Mean diff": (mean_diff, {}),
    "Median absolute diff": (median_abs_diff, {}),
    "Median diff": (median_diff, {}),
    "Negative turning points": (negative_turning, {}),
    "Neighbourhood peaks": (neighbourhood_peaks, {}),
    "Positive turning points": (positive_turning, {}),
    "Signal distance": (distance, {}),
    "Slope": (slope, {}),
    "Sum absolute diff": (sum_abs_diff, {}),
    "Zero crossing rate": (zero_cross, {}),
}


def compute(x: np.ndarray, names: list[str] | None = None, fs: float = 1.0) -> np.ndarray:
    """[N, L] windows -> [N, len(names)] features (all of ``FEATURES`` when names is None)."""
    names = list(FEATURES) if names is None else names
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"features: unknown TSFEL feature(s) {unknown}; known: {list(FEATURES)}")
    x = np.ascontiguousarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] < 3:
        raise ValueError(f"features: windows must be [N, L] with L >= 3, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("features: windows contain NaN; fill them first (see extract.fill_gaps)")
    out = np.empty((x.shape[0], len(names)))
    for j, name in enumerate(names):
        fn, kwargs = FEATURES[name]
        out[:, j] = fn(x, fs=fs, **kwargs)
    return out
