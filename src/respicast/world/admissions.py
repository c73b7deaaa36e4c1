"""Ground truth of the world: expected daily admissions per zone, age band and outcome.

log lambda = log(population x baseline rate) + trend + season + day of week + public holiday
             + sum over effects of beta x (mean over the effect's lags of a transformed exposure).
Counts: a daily frailty G ~ Gamma(k, 1/k) shared by every cell, then Poisson(lambda x G) per cell,
so any sum of cells on a day is exactly negative binomial NB(sum lambda, k).

Patients living outside every zone (``hospital.out_of_area_per_day`` a day on average) are cells of
zone "unknown" (the zone the extraction gives a postcode outside zones.csv): for each age band and
outcome, a fixed share of the in-area lambda with the same drivers, so the truth holds every stay a
correct extraction counts and the oracle describes the same total as the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from respicast.world.epidemics import seasonal_doy_weight
from respicast.world.exposures import LEAD_IN_DAYS
from respicast.world.rng import ar1, stream

OUTCOMES = ("copd", "asthma")
OUT_OF_AREA_ZONE = "unknown"  # what respicast.hospital names the zone of unmapped postcodes
BASE_TERMS = ("baseline", "trend", "season", "day_of_week", "public_holiday", "latent")


@dataclass
class Cells:
    zone: list[str]
    age_band: list[str]
    outcome: list[str]
    log_base: np.ndarray  # log(population x baseline rate per person)


def cells(world: dict) -> Cells:
    zone, band, outcome, log_base = [], [], [], []
    for z, spec in world["zones"].items():
        population = sum(pc["population"] for pc in spec["postcodes"].values())
        for o in OUTCOMES:
            for b in world["age_bands"]:
                rate = world["baseline_per_100k"][o][b]
                if rate <= 0:
                    continue  # e.g. no COPD in children: no cell
                zone.append(z)
                band.append(b)
                outcome.append(o)
                log_base.append(np.log(population * spec["age_shares"][b] * rate / 1e5))
    return Cells(zone, band, outcome, np.array(log_base))


def with_out_of_area(world: dict, c: Cells, daily_lambda: np.ndarray) -> Cells:
    """The in-area cells plus one "unknown"-zone cell per (age band, outcome), sized so that the
    out-of-area cells hold ``hospital.out_of_area_per_day`` stays a day on average."""
    rate = float((world.get("hospital") or {}).get("out_of_area_per_day", 0.0))
    if rate < 0:
        raise ValueError(f"world.hospital.out_of_area_per_day must be >= 0, got {rate}")
    if rate == 0:
        return c
    if OUT_OF_AREA_ZONE in world["zones"]:
        raise ValueError(f"world.zones: {OUT_OF_AREA_ZONE!r} is reserved for out-of-area stays")
    share = rate / float(daily_lambda.mean())
    pairs = list(dict.fromkeys(zip(c.age_band, c.outcome, strict=True)))
    base = np.exp(c.log_base)
    extra = [
        np.log(share * base[(np.array(c.age_band) == b) & (np.array(c.outcome) == o)].sum())
        for b, o in pairs
    ]
    return Cells(
        c.zone + [OUT_OF_AREA_ZONE] * len(pairs),
        c.age_band + [b for b, _ in pairs],
        c.outcome + [o for _, o in pairs],
        np.concatenate([c.log_base, extra]),
    )


def transformed(effect: dict, x: np.ndarray, name: str) -> np.ndarray:
    """The exposure transform the effect's rr refers to (see conf/world/toulouse.yaml)."""
    if "threshold" in effect:
        return np.maximum(x - effect["threshold"], 0.0)
    if "t_ref" in effect:
        span = effect["t_ref"] - effect["t_cold"]
        if span <= 0:
            raise ValueError(f"world.effects.{name}: t_ref must exceed t_cold")
        return (np.maximum(effect["t_ref"] - x, 0.0) / span) ** 2
    if "very_high" in effect:
        return np.log1p(x) / np.log1p(effect["very_high"])
    if "reference" in effect:
        return x / effect["reference"]
    return x


def lagged_mean(x: np.ndarray, lags: list[int], name: str) -> np.ndarray:
    """mean of x[t-hi .. t-lo] for each t of the period (x starts LEAD_IN_DAYS before it)."""
    lo, hi = int(lags[0]), int(lags[1])
    if not 0 <= lo <= hi <= LEAD_IN_DAYS:
        raise ValueError(
            f"world.effects.{name}.lags must satisfy 0 <= lo <= hi <= {LEAD_IN_DAYS}, got {lags}"
        )
    csum = np.concatenate([[0.0], np.cumsum(x)])
    t = np.arange(LEAD_IN_DAYS, x.size)
    return (csum[t - lo + 1] - csum[t - hi]) / (hi - lo + 1)


def effect_covariate(effect: dict, exposures: pl.DataFrame, name: str) -> np.ndarray:
    """Daily covariate over the period whose coefficient is log(rr)/per."""
    driver = effect["driver"]
    if driver not in exposures.columns:
        raise KeyError(
            f"world.effects.{name}.driver: unknown driver {driver!r}; known: {exposures.columns[1:]}"
        )
    return lagged_mean(
        transformed(effect, exposures[driver].to_numpy(), name), effect["lags"], name
    )


def _as_list(v) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def contributions(world: dict, exposures: pl.DataFrame, c: Cells) -> dict[str, np.ndarray]:
    """Additive terms of log lambda, each [n_days, n_cells], keyed by term/driver name."""
    days = exposures["date"].to_numpy()[LEAD_IN_DAYS:].astype("datetime64[D]")
    n, m = days.size, len(c.zone)
    outcome = np.array(c.outcome)
    band = np.array(c.age_band)
    years = (days - days[0]).astype(float) / 365.25
    season = np.stack(
        [
            world["season"][o]["amplitude"]
            * seasonal_doy_weight(days, world["season"][o]["peak_doy"])
            for o in c.outcome
        ],
        axis=1,
    )
    dow = np.asarray(world["day_of_week"], dtype=float)
    if dow.size != 7:
        raise ValueError("world.day_of_week needs 7 values (Monday..Sunday)")
    holiday = exposures["public_holiday"].to_numpy()[LEAD_IN_DAYS:]
    latent = ar1(
        stream(int(world["seed"]), "latent"), n, world["latent"]["ar"], world["latent"]["sd"]
    )
    terms = {
        "baseline": np.broadcast_to(c.log_base, (n, m)),
        "trend": np.broadcast_to((world["trend_per_year"] * years)[:, None], (n, m)),
        "season": season,
        "day_of_week": np.broadcast_to(dow[(days.astype(int) + 3) % 7][:, None], (n, m)),
        "public_holiday": np.broadcast_to((world["public_holiday"] * holiday)[:, None], (n, m)),
        "latent": np.broadcast_to(latent[:, None], (n, m)),
    }
    for name, effect in world["effects"].items():
        beta = np.log(effect["rr"]) / effect["per"]
        applies = np.isin(outcome, _as_list(effect["outcome"]))
        if "ages" in effect:
            applies &= np.isin(band, _as_list(effect["ages"]))
        term = beta * effect_covariate(effect, exposures, name)[:, None] * applies[None, :]
        key = effect["driver"]
        terms[key] = terms[key] + term if key in terms else term
    return terms


def simulate_truth(world: dict, exposures: pl.DataFrame) -> pl.DataFrame:
    """Long truth frame: date, zone, age_band, outcome, lambda, count, contrib_* columns."""
    in_area = cells(world)
    daily = np.exp(sum(contributions(world, exposures, in_area).values())).sum(axis=1)
    c = with_out_of_area(world, in_area, daily)
    terms = contributions(world, exposures, c)
    log_lambda = sum(terms.values())
    lam = np.exp(log_lambda)
    n, m = lam.shape
    k = float(world["dispersion_k"])
    rng = stream(int(world["seed"]), "admissions")
    frailty = rng.gamma(k, 1.0 / k, n)
    counts = rng.poisson(lam * frailty[:, None])
    days = exposures["date"].to_numpy()[LEAD_IN_DAYS:].astype("datetime64[D]")
    return pl.DataFrame(
        {
            "date": np.repeat(days, m),
            "zone": np.tile(c.zone, n),
            "age_band": np.tile(c.age_band, n),
            "outcome": np.tile(c.outcome, n),
            "lambda": lam.ravel(),
            "count": counts.ravel().astype(np.int32),
            **{f"contrib_{name}": np.ascontiguousarray(t).ravel() for name, t in terms.items()},
        }
    ).with_columns(pl.col("date").cast(pl.Date), pl.lit(k).alias("dispersion_k"))
