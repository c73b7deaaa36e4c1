"""Reference values from tsfel itself (serial, one window at a time), for tests and the benchmark.

tsfel is imported lazily: the vectorised features do not need it at run time.
"""

from __future__ import annotations

import numpy as np

# our feature name -> (tsfel function, keyword arguments, index into a tuple result or None)
TSFEL_CALLS: dict[str, tuple[str, dict, int | None]] = {
    "Absolute energy": ("abs_energy", {}, None),
    "Average power": ("average_power", {"fs": None}, None),
    "ECDF Percentile_0": ("ecdf_percentile", {"percentile": [0.2, 0.8]}, 0),
    "ECDF Percentile_1": ("ecdf_percentile", {"percentile": [0.2, 0.8]}, 1),
    "Entropy": ("entropy", {}, None),
    "Histogram mode": ("hist_mode", {"nbins": 10}, None),
    "Interquartile range": ("interq_range", {}, None),
    "Kurtosis": ("kurtosis", {}, None),
    "Max": ("calc_max", {}, None),
    "Mean": ("calc_mean", {}, None),
    "Mean absolute deviation": ("mean_abs_deviation", {}, None),
    "Median": ("calc_median", {}, None),
    "Median absolute deviation": ("median_abs_deviation", {}, None),
    "Min": ("calc_min", {}, None),
    "Peak to peak distance": ("pk_pk_distance", {}, None),
    "Root mean square": ("rms", {}, None),
    "Skewness": ("skewness", {}, None),
    "Standard deviation": ("calc_std", {}, None),
    "Variance": ("calc_var", {}, None),
    "Area under the curve": ("auc", {"fs": None}, None),
    "Autocorrelation": ("autocorr", {}, None),
    "Centroid": ("calc_centroid", {"fs": None}, None),
    "Mean absolute diff": ("mean_abs_diff", {}, None),
    "Mean diff": ("mean_diff", {}, None),
    "Median absolute diff": ("median_abs_diff", {}, None),
    "Median diff": ("median_diff", {}, None),
    "Negative turning points": ("negative_turning", {}, None),
    "Neighbourhood peaks": ("neighbourhood_peaks", {"n": 10}, None),
    "Positive turning points": ("positive_turning", {}, None),
    "Signal distance": ("distance", {}, None),
    "Slope": ("slope", {}, None),
    "Sum absolute diff": ("sum_abs_diff", {}, None),
    "Zero crossing rate": ("zero_cross", {}, None),
}


def tsfel_value(name: str, window: np.ndarray, fs: float = 1.0) -> float:
    """One feature of one window computed by tsfel (None results become NaN)."""
    import tsfel

    func_name, kwargs, index = TSFEL_CALLS[name]
    kwargs = {k: (fs if v is None else v) for k, v in kwargs.items()}
    value = getattr(tsfel, func_name)(np.asarray(window, dtype=float), **kwargs)
    if index is not None:
        value = value[index]
    return np.nan if value is None else float(value)


def tsfel_matrix(windows: np.ndarray, names: list[str], fs: float = 1.0) -> np.ndarray:
    """[N, L] windows -> [N, len(names)], serially with tsfel."""
    return np.array([[tsfel_value(n, w, fs) for n in names] for w in windows])
