"""Exact forecast oracle of a simulated world: the true distribution of daily admission totals.

All cells of a day share one Gamma(k, 1/k) frailty and are Poisson given it, so the total over any
set of zones, age bands and outcomes is negative binomial with mean Lambda (sum of the cells' lambda)
and size k: P(Y = y) = NB(y; n=k, p=k/(k+Lambda)). The truth holds the zone-"unknown" cells of
out-of-area patients, which the extraction counts, so the default selection (every zone) describes
the same total as the labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import nbinom

from respicast.world.simulate import read_world_record


def expected_counts(
    world_dir: str | Path,
    target_dates,
    outcomes: Sequence[str] = ("copd", "asthma"),
    zones: Sequence[str] | None = None,
    age_bands: Sequence[str] | None = None,
) -> np.ndarray:
    """Lambda (expected total) on each target date, same shape as target_dates."""
    dates = np.asarray(target_dates, dtype="datetime64[D]")
    path = Path(world_dir) / "truth.parquet"
    truth = pl.scan_parquet(path).filter(pl.col("outcome").is_in(list(outcomes)))
    if zones is not None:
        truth = truth.filter(pl.col("zone").is_in(list(zones)))
    if age_bands is not None:
        truth = truth.filter(pl.col("age_band").is_in(list(age_bands)))
    daily = truth.group_by("date").agg(pl.col("lambda").sum()).sort("date").collect()
    if daily.height == 0:
        raise ValueError(
            f"{path}: no cells for outcomes={list(outcomes)} zones={zones} age_bands={age_bands}"
        )
    known = daily["date"].to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(known, dates.ravel())
    bad = (pos >= known.size) | (known[np.minimum(pos, known.size - 1)] != dates.ravel())
    if bad.any():
        raise ValueError(
            f"{path}: {bad.sum()} target dates outside the world, e.g. {dates.ravel()[bad][0]}"
        )
    return daily["lambda"].to_numpy()[pos].reshape(dates.shape)


def peak_probability(
    world_dir: str | Path,
    target_dates,
    thresholds,
    outcomes: Sequence[str] = ("copd", "asthma"),
    zones: Sequence[str] | None = None,
    age_bands: Sequence[str] | None = None,
) -> np.ndarray:
    """P(total count on each target date > its threshold); nan where the threshold is nan."""
    lam = expected_counts(world_dir, target_dates, outcomes, zones, age_bands)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=float), lam.shape)
    k = float(read_world_record(world_dir)["dispersion_k"])
    prob = nbinom.sf(np.floor(np.nan_to_num(thr, nan=0.0)), k, k / (k + lam))
    return np.where(np.isnan(thr), np.nan, prob)
