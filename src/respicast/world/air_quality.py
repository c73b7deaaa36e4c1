"""Hourly station measurements in the ATMO Occitanie / Géod'air export layout (one CSV per station).

value(hour) = true daily background x station factor x diurnal profile x log-normal noise; O3 is
scaled so that the noise-free daily maximum 8-hour mean equals the true daily O3 driver.
Gaps are missing rows (outages, isolated hours); invalidated hours keep an aberrant value with
statut_valid=f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from respicast.world.rng import run_starts, stream

COLUMNS = [
    "X",
    "Y",
    "nom_dept",
    "nom_com",
    "insee_com",
    "nom_station",
    "code_station",
    "typologie",
    "influence",
    "nom_poll",
    "id_poll_ue",
    "valeur",
    "unite",
    "metrique",
    "date_debut",
    "date_fin",
    "statut_valid",
    "x_l93",
    "y_l93",
    "ObjectId",
]
POLLUTANTS = {"NO2": ("no2", 8), "PM10": ("pm10", 5), "PM2.5": ("pm25", 6001), "O3": ("o3", 7)}
_H = np.arange(24)
# diurnal shapes by UTC hour, mean 1: traffic peaks for NO2/PM, afternoon photochemistry for O3
DIURNAL = {
    "NO2": 1
    + 0.35 * np.exp(-0.5 * ((_H - 6) / 1.5) ** 2) * 2
    + 0.35 * np.exp(-0.5 * ((_H - 17) / 2) ** 2) * 2
    - 0.3,
    "PM10": 1 + 0.15 * np.cos(2 * np.pi * (_H - 19) / 24),
    "PM2.5": 1 + 0.15 * np.cos(2 * np.pi * (_H - 20) / 24),
    "O3": 1 + 0.55 * np.cos(2 * np.pi * (_H - 14) / 24),
}
DIURNAL = {p: v / v.mean() for p, v in DIURNAL.items()}
O3_MAX8H = max(np.mean(np.roll(DIURNAL["O3"], -s)[:8]) for s in range(17))  # max 8-h mean in a day


def hour_labels(first_day: np.datetime64, n_hours: int) -> pl.Series:
    """ISO-8601 UTC labels of hours 0..n_hours (one more, for date_fin)."""
    hours = np.datetime64(first_day, "h") + np.arange(n_hours + 1)
    return pl.Series(np.datetime_as_string(hours, unit="ms")).str.replace(r"$", "Z")


def write_air_quality(
    world: dict, exposures: pl.DataFrame, days: np.ndarray, out: Path
) -> list[Path]:
    aq = world["air_quality"]
    out.mkdir(parents=True, exist_ok=True)
    true = exposures.filter(pl.col("date").is_between(days[0], days[-1]))
    labels = hour_labels(days[0], days.size * 24)
    paths = []
    for code, st in world["stations"].items():
        rng = stream(int(world["seed"]), f"air_quality/{code}")
        parts = []
        for poll, factor in st["factor"].items():
            if poll not in POLLUTANTS:
                raise ValueError(
                    f"world.stations.{code}.factor: unknown pollutant {poll!r}; known {list(POLLUTANTS)}"
                )
            parts.append(_pollutant_rows(rng, aq, true, poll, factor, days.size, labels))
        frame = _with_station(pl.concat(parts), code, st)
        path = out / f"{code}.csv"
        frame.write_csv(path)
        paths.append(path)
    return paths


def _pollutant_rows(
    rng: np.random.Generator,
    aq: dict,
    true: pl.DataFrame,
    poll: str,
    factor: float,
    n_days: int,
    labels: pl.Series,
) -> pl.DataFrame:
    """The kept hourly rows of one pollutant at one station (pollutant, value, hours, validity)."""
    n_hours = n_days * 24
    day_of_hour = np.repeat(np.arange(n_days), 24)
    driver, poll_id = POLLUTANTS[poll]
    level = true[driver].to_numpy() / (O3_MAX8H if poll == "O3" else 1.0)
    sd = aq["hourly_noise_sd"]
    value = (
        level[day_of_hour]
        * factor
        * np.tile(DIURNAL[poll], n_days)
        * np.exp(rng.normal(-sd * sd / 2, sd, n_hours))
    )
    keep = ~(
        run_starts(rng, n_days, aq["outage_rate"], aq["outage_mean_days"])[day_of_hour]
        | (rng.random(n_hours) < aq["hour_missing"])
    )
    invalid = rng.random(n_hours) < aq["invalid_rate"]
    value = np.where(invalid, value * rng.uniform(0.0, 4.0, n_hours) - 5.0, value)
    idx = np.flatnonzero(keep)
    return pl.DataFrame(
        {
            "nom_poll": pl.Series([poll]).new_from_index(0, idx.size),
            "id_poll_ue": np.full(idx.size, poll_id, dtype=np.int32),
            "valeur": np.round(value[idx], 1),
            "date_debut": labels.gather(idx),
            "date_fin": labels.gather(idx + 1),
            "statut_valid": np.where(invalid[idx], "f", "t"),
        }
    )


def _with_station(frame: pl.DataFrame, code: str, st: dict) -> pl.DataFrame:
    """``frame`` with the station's constant columns added, in the export's column order."""
    return frame.with_columns(
        pl.lit(st["lon"]).alias("X"),
        pl.lit(st["lat"]).alias("Y"),
        pl.lit("HAUTE-GARONNE").alias("nom_dept"),
        pl.lit(st["nom_com"]).alias("nom_com"),
        pl.lit(str(st["insee_com"])).alias("insee_com"),
        pl.lit(st["name"]).alias("nom_station"),
        pl.lit(code).alias("code_station"),
        pl.lit(st["typologie"]).alias("typologie"),
        pl.lit(st["influence"]).alias("influence"),
        pl.lit("ug.m-3").alias("unite"),
        pl.lit("horaire").alias("metrique"),
        pl.lit(st["x_l93"]).alias("x_l93"),
        pl.lit(st["y_l93"]).alias("y_l93"),
        pl.int_range(1, pl.len() + 1).alias("ObjectId"),
    ).select(COLUMNS)
