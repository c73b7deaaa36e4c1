"""Predictions frames with a known structure, for tests and demos of evaluation and reports.

Daily counts are Poisson around a seasonal mean; the "model" sees that mean with noise that grows
with the horizon, and its peak probability is deliberately over-confident (``sharpen`` > 1) so
calibration has something to fix.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy import special

from respicast.models.count_dist import exceedance_prob


def fake_predictions(
    start: date = date(2021, 1, 4),
    days: int = 730,
    horizons: tuple[int, ...] = (1, 3, 7),
    *,
    val_days: int = 365,
    peak_quantile: float = 0.85,
    noise: float = 0.08,
    sharpen: float = 2.0,
    model: str = "fake",
    fold: int = 0,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per (target date, horizon); the first ``val_days`` target dates are ``val``, the rest ``test``."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    lam = 12 * np.exp(0.45 * np.cos(2 * np.pi * t / 365.25) + 0.15 * np.sin(2 * np.pi * t / 7))
    observed = rng.poisson(lam).astype(float)
    threshold = float(np.quantile(observed[:val_days], peak_quantile))
    dates = [start + timedelta(days=int(i)) for i in t]
    frames = []
    for h in horizons:
        predicted = lam * np.exp(rng.normal(0, noise * np.sqrt(h), size=days))
        prob = exceedance_prob(predicted, np.full(days, threshold))
        prob = special.expit(sharpen * special.logit(np.clip(prob, 1e-6, 1 - 1e-6)))
        frames.append(
            pl.DataFrame(
                {
                    "origin_date": [d - timedelta(days=h) for d in dates],
                    "target_date": dates,
                    "horizon": np.full(days, h, dtype=np.int32),
                    "observed": observed,
                    "predicted": predicted,
                    "peak": (observed > threshold).astype(np.int8),
                    "peak_prob": prob,
                    "threshold": np.full(days, threshold),
                    "model": [model] * days,
                    "split": np.where(t < val_days, "val", "test"),
                    "fold": np.full(days, fold, dtype=np.int32),
                }
            )
        )
    return pl.concat(frames)


def split_frames(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(val, test) parts of a predictions frame."""
    return frame.filter(pl.col("split") == "val"), frame.filter(pl.col("split") == "test")
