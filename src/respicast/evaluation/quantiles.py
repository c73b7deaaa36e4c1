"""Quantiles of every model's count distribution, and where its dispersion comes from.

Every model predicts an expected count per origin and horizon; its count distribution is
Poisson(mean) or negative binomial NB(mean, k) with var = mean + mean²/k (k = inf: Poisson), as
in ``models.count_dist``. The dispersion k travels as a ``dispersion`` column of the predictions
frame: the model's own (deep NB head, baselines fitted with an NB or quasi-Poisson family), else
fitted per horizon on the validation residuals (never on test rows).

``predictions_quantiles.parquet`` (beside predictions.parquet): one row per origin, target date,
horizon, split, fold and quantile level: ``origin_date``, ``target_date``, ``horizon``, ``split``,
``fold``, ``model``, ``quantile_level``, ``value``.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
from scipy import stats

from respicast.models.count_dist import as_k as _k

log = logging.getLogger(__name__)

# the hubverse / RespiCast quantile levels: 0.01, 0.025, 0.05, 0.1, 0.15, ..., 0.9, 0.95, 0.975, 0.99
HUB_LEVELS: tuple[float, ...] = (
    (0.01, 0.025) + tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.975, 0.99)
)
LEVELS_KEY = "evaluation.quantile_levels"


def check_levels(levels, key: str = LEVELS_KEY) -> np.ndarray:
    """Levels as an array; outside (0, 1), unsorted or repeated -> an error naming ``key``."""
    arr = np.asarray(list(levels) if levels is not None else [], dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"config {key}: give a non-empty list of quantile levels, got {levels!r}")
    bad = arr[~((arr > 0) & (arr < 1))]
    if bad.size:
        raise ValueError(f"config {key}: levels must lie in (0, 1), got {bad.tolist()}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"config {key}: levels must be strictly increasing, got {arr.tolist()}")
    return arr


def _apply(fn: str, x: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``fn`` (cdf, ppf, pmf, logpmf) of Poisson rows (k = inf) and NB rows, element-wise."""
    mean = np.clip(mean, 1e-9, None)
    pois = np.isinf(k)
    out = np.empty(np.broadcast(x, mean).shape)
    if pois.any():
        out[pois] = getattr(stats.poisson, fn)(x[pois], mean[pois])
    nb = ~pois
    if nb.any():
        kk = k[nb]
        out[nb] = getattr(stats.nbinom, fn)(x[nb], kk, kk / (kk + mean[nb]))
    return out


def count_fn(fn: str, x, mean, dispersion=None) -> np.ndarray:
    """cdf/ppf/pmf/logpmf of the count distribution; all arguments broadcast together."""
    x, mean = np.broadcast_arrays(np.asarray(x, float), np.asarray(mean, float))
    return _apply(fn, x.copy(), mean.copy(), _k(dispersion, x.shape))


def count_quantiles(mean: np.ndarray, dispersion, levels) -> np.ndarray:
    """[N, L] quantiles (integers, non-decreasing in the level) of each row's count distribution."""
    levels = check_levels(levels)
    mean = np.asarray(mean, float)[:, None]
    k = _k(dispersion, (mean.shape[0],))[:, None]
    q = count_fn("ppf", levels[None, :], mean, k)
    return np.where(np.isfinite(mean), q, np.nan)


def val_dispersion(val: pl.DataFrame) -> dict[int, float]:
    """NB k per horizon fitted on the validation residuals (inf: Poisson, or too few rows)."""
    from respicast.models.baselines.dispersion import fit_nb_dispersion

    out = {}
    ok = val.filter(pl.col("observed").is_not_null() & pl.col("predicted").is_not_null())
    for h in sorted(int(h) for h in val["horizon"].unique().to_list()):
        sub = ok.filter(pl.col("horizon") == h)
        try:
            out[h] = fit_nb_dispersion(sub["observed"].to_numpy(), sub["predicted"].to_numpy())
        except ValueError as err:
            log.warning("h=%d: %s; Poisson count distribution for the proper scores", h, err)
            out[h] = float("inf")
    return out


def ensure_dispersion(val: pl.DataFrame, test: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Frames without a model-given ``dispersion`` get one fitted on ``val`` per horizon (logged);
    rows with a null dispersion inside a given column are an error (a model gives all or none)."""
    have = ["dispersion" in f.columns for f in (val, test)]
    if all(have):
        for f, name in ((val, "val"), (test, "test")):
            n = f.filter(pl.col("dispersion").is_null() | pl.col("dispersion").is_nan()).height
            if n:
                raise ValueError(f"predictions frame {name!r}: {n} row(s) with null 'dispersion'")
        return val, test
    fitted = val_dispersion(val)
    log.info("count dispersion k fitted on val per horizon: %s", fitted)
    expr = pl.col("horizon").replace_strict(fitted, default=float("inf"), return_dtype=pl.Float64)
    return (
        val.drop("dispersion", strict=False).with_columns(expr.alias("dispersion")),
        test.drop("dispersion", strict=False).with_columns(expr.alias("dispersion")),
    )


def quantile_frame(predictions: pl.DataFrame, levels) -> pl.DataFrame:
    """Long quantile table of a predictions frame that holds ``dispersion``."""
    levels = check_levels(levels)
    q = count_quantiles(
        predictions["predicted"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        predictions["dispersion"].cast(pl.Float64).fill_null(np.inf).to_numpy(),
        levels,
    )
    keys = [
        c
        for c in ("origin_date", "target_date", "horizon", "split", "fold", "model")
        if c in predictions.columns
    ]
    base = predictions.select(keys)
    n, nl = q.shape
    return base.select(pl.all().gather(np.repeat(np.arange(n), nl))).with_columns(
        pl.Series("quantile_level", np.tile(levels, n), dtype=pl.Float64),
        pl.Series("value", q.reshape(-1), dtype=pl.Float64).fill_nan(None),
    )
