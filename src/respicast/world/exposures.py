"""The TRUE daily exposures of the world: what the written files are noisy, gappy measurements of.

Pollutants are city background levels (a station at factor 1 measures them without bias): daily means
for NO2, PM10 and PM2.5, daily maximum 8-hour mean for O3. Temperature is the daily mean of the eight
3-hourly SYNOP values. Pollen in grains/m3 per taxon, ILI and RSV in weekly cases per 100 000.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.world import calendar, epidemics
from respicast.world.rng import ar1, day_of_year, stream

LEAD_IN_DAYS = 30  # exposures start this many days before the period, for lagged effects


def day_grid(world: dict) -> tuple[np.ndarray, np.ndarray]:
    """(all days incl. the lead-in, days of the period)."""
    start, end = np.datetime64(world["start"], "D"), np.datetime64(world["end"], "D")
    if end < start:
        raise ValueError(f"world.end {world['end']} is before world.start {world['start']}")
    return np.arange(start - LEAD_IN_DAYS, end + 1), np.arange(start, end + 1)


def _temperature(
    days: np.ndarray, w: dict, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    years = (days - days[0]).astype(float) / 365.25
    clim = w["temp_mean"] - w["temp_amplitude"] * np.cos(
        2 * np.pi * (day_of_year(days) - w["temp_coldest_doy"]) / 365.25
    )
    anomaly = ar1(rng, days.size, w["temp_anomaly_ar"], w["temp_anomaly_sd"])
    return clim + w["temp_trend_per_year"] * years + anomaly, anomaly


def _rain(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wet = rng.random(days.size) < 0.28 + 0.08 * epidemics.seasonal_doy_weight(days, 120)
    return np.where(wet, rng.gamma(0.8, 7.0, days.size), 0.0)


def _pollutants(
    days: np.ndarray, temp_anom: np.ndarray, lockdown: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    winter = epidemics.seasonal_doy_weight(days, 15)
    weekday = (days.astype(int) + 3) % 7
    stagnation = ar1(rng, days.size, 0.75, 0.38)  # shared meteorological dispersion driver
    cold = -temp_anom / 2.8
    pm25 = np.exp(
        np.log(8.5) + 0.35 * winter + 0.12 * cold + stagnation + ar1(rng, days.size, 0.5, 0.18)
    )
    coarse = np.exp(np.log(5.0) + ar1(rng, days.size, 0.6, 0.45))
    pm10 = 1.45 * pm25 + coarse
    weekend = np.where(weekday == 6, -0.3, np.where(weekday == 5, -0.15, 0.0))
    no2 = np.exp(
        np.log(17.0) + 0.3 * winter + weekend + 0.8 * stagnation + ar1(rng, days.size, 0.5, 0.2)
    )
    no2 *= 1.0 - 0.4 * lockdown
    summer = epidemics.seasonal_doy_weight(days, 196)
    o3 = 80.0 + 28.0 * summer + 4.0 * temp_anom + ar1(rng, days.size, 0.6, 12.0)
    return {"no2": no2, "pm10": pm10, "pm25": pm25, "o3": np.clip(o3, 5.0, None)}


def _pollen(
    days: np.ndarray, p: dict, rain: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    out = {}
    doy = day_of_year(days)
    year = days.astype("datetime64[Y]").astype(int)
    n_years = year.max() - year.min() + 1
    for taxon, spec in p["taxa"].items():
        shift = rng.normal(0.0, 7.0, n_years)[year - year.min()]
        size = spec["peak"] * np.exp(rng.normal(0.0, 0.4, n_years))[year - year.min()]
        bell = np.exp(-0.5 * ((doy - spec["peak_doy"] - shift) / spec["spread"]) ** 2)
        daily = np.exp(rng.normal(-0.18, 0.6, days.size)) * np.where(rain > 2.0, 0.4, 1.0)
        out[taxon.lower()] = size * bell * daily
    return out


def true_exposures(world: dict) -> tuple[pl.DataFrame, dict]:
    """Daily exposures over the lead-in and the period, plus what was drawn (epidemic seasons)."""
    days, _ = day_grid(world)
    seed = int(world["seed"])
    ep = world["epidemics"]
    temperature, anomaly = _temperature(days, world["weather"], stream(seed, "temperature"))
    rain = _rain(days, stream(seed, "rain"))
    lockdown = calendar.lockdowns(days, ep["lockdowns"])
    if ep["ili_source"] == "real":
        ili, seasons = epidemics.real_ili_curve(days), []
    elif ep["ili_source"] == "simulated":
        ili, seasons = epidemics.ili_curve(days, ep, stream(seed, "ili"))
    else:
        raise ValueError(
            f"world.epidemics.ili_source must be 'simulated' or 'real', got {ep['ili_source']!r}"
        )
    columns = {
        "date": days,
        "temperature": temperature,
        "rain": rain,
        **_pollutants(days, anomaly, lockdown, stream(seed, "pollutants")),
        **_pollen(days, world["pollen"], rain, stream(seed, "pollen")),
        "ili": ili,
        "rsv": epidemics.rsv_curve(days, ep, stream(seed, "rsv")),
        "covid": epidemics.covid_curve(days, ep),
        "public_holiday": calendar.public_holidays(days),
        "school_return": calendar.school_return_week(days),
        "lockdown": lockdown,
    }
    return pl.DataFrame(columns), {"ili_seasons": seasons}
