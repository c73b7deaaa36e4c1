"""Independent random streams per world component, so one component's draws never shift another's."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, component: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(component.encode())])


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) series with marginal standard deviation `sd`."""
    from scipy.signal import lfilter

    eps = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    eps[0] = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -phi], eps)


def day_of_year(days: np.ndarray) -> np.ndarray:
    """1-based day of year of datetime64[D] values."""
    return (days - days.astype("datetime64[Y]")).astype(int) + 1


def run_starts(rng: np.random.Generator, n: int, rate: float, mean_len: float) -> np.ndarray:
    """Boolean mask of n steps covered by outages that start with probability `rate` per step."""
    starts = np.flatnonzero(rng.random(n) < rate)
    lengths = rng.geometric(1.0 / mean_len, starts.size)
    delta = np.zeros(n + 1, dtype=int)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + lengths, n), -1)
    return np.cumsum(delta[:-1]) > 0
