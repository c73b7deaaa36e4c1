"""Planted effects are recoverable: a Poisson GLM on the simulated counts with the TRUE exposures.

The world is the 12-year default with 20x the baseline rates and a near-Poisson frailty, so the
estimates are precise enough that recovering a coefficient is a real test. Each effect's covariate
is recomputed here from exposures.parquet (lagged mean of the transformed exposure); calendar,
trend, season and latent terms enter as a known offset.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from respicast.cli import CONFIG_DIR
from respicast.world import load_world_config
from respicast.world.admissions import BASE_TERMS, simulate_truth
from respicast.world.exposures import LEAD_IN_DAYS, true_exposures

Z99 = 2.576


def _transform(effect: dict, x: np.ndarray) -> np.ndarray:
    if "threshold" in effect:
        return np.clip(x - effect["threshold"], 0, None)
    if "t_ref" in effect:
        return (np.clip(effect["t_ref"] - x, 0, None) / (effect["t_ref"] - effect["t_cold"])) ** 2
    if "very_high" in effect:
        return np.log(1 + x) / np.log(1 + effect["very_high"])
    return x / effect.get("reference", 1.0)


def _covariate(effect: dict, exposures: pl.DataFrame) -> np.ndarray:
    lo, hi = effect["lags"]
    x = pl.Series(_transform(effect, exposures[effect["driver"]].to_numpy()))
    return x.shift(lo).rolling_mean(hi - lo + 1).to_numpy()[LEAD_IN_DAYS:]


def _fit(world: dict, outcome: str):
    exposures, _ = true_exposures(world)
    truth = simulate_truth(world, exposures).filter(pl.col("outcome") == outcome)
    cells = (
        truth.group_by("date", "age_band", maintain_order=True)
        .agg(
            pl.col("count").sum(),
            pl.col("contrib_baseline").exp().sum().log().alias("log_base"),
            *[pl.col(f"contrib_{t}").first() for t in BASE_TERMS if t != "baseline"],
        )
        .sort("age_band", "date")
    )
    effects = {n: e for n, e in world["effects"].items() if outcome in np.atleast_1d(e["outcome"])}
    bands = cells["age_band"].to_numpy()
    n_days = cells.height // cells["age_band"].n_unique()
    columns = {}
    for name, effect in effects.items():
        cov = np.tile(_covariate(effect, exposures), cells.height // n_days)
        columns[name] = cov * np.isin(bands, effect.get("ages", np.unique(bands)))
    design = np.column_stack(list(columns.values()))
    offset = (
        cells["log_base"].to_numpy()
        + cells.select(pl.sum_horizontal([f"contrib_{t}" for t in BASE_TERMS if t != "baseline"]))
        .to_series()
        .to_numpy()
    )
    result = sm.GLM(
        cells["count"].to_numpy(), design, family=sm.families.Poisson(), offset=offset
    ).fit()
    return {name: (result.params[i], result.bse[i]) for i, name in enumerate(columns)}


@pytest.fixture(scope="module")
def strong_world() -> dict:
    world = load_world_config("toulouse", CONFIG_DIR)
    world["baseline_per_100k"] = {
        o: {b: 20 * r for b, r in rates.items()} for o, rates in world["baseline_per_100k"].items()
    }
    world["dispersion_k"] = 1e6
    world["effects"]["no2_asthma"]["rr"] = 1.0  # switched off: must come out as no effect
    return world


@pytest.mark.parametrize("outcome", ["copd", "asthma"])
def test_glm_recovers_planted_coefficients(strong_world, outcome):
    estimates = _fit(strong_world, outcome)
    assert estimates
    for name, (beta_hat, se) in estimates.items():
        effect = strong_world["effects"][name]
        beta = np.log(effect["rr"]) / effect["per"]
        assert abs(beta_hat - beta) < Z99 * se, (name, beta, beta_hat, se)
        if beta != 0 and abs(beta) > 4 * se:  # well-powered effects are also distinguishable from 0
            assert abs(beta_hat) > Z99 * se, (name, beta_hat, se)
    if outcome == "asthma":
        beta_hat, se = estimates["no2_asthma"]
        assert abs(beta_hat) < Z99 * se
