"""Météo-France SYNOP records of station 07630 (Toulouse-Blagnac): 3-hourly, monthly files.

Format written: `weather/synop.YYYYMM.csv`, `;`-separated, header `numer_sta;date;pmer;t;td;u;ff;rr3;pres`,
date YYYYMMDDHHMMSS UTC at 00, 03, ..., 21 h; t/td in kelvin, u in %, pmer/pres in Pa, ff in m/s,
rr3 in mm over the previous 3 hours; a missing value is written `mq`. The zero-mean diurnal cycle
makes the mean of a day's eight noise-free temperatures equal to the true daily temperature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from respicast.world.rng import ar1, stream

HEADER = ["numer_sta", "date", "pmer", "t", "td", "u", "ff", "rr3", "pres"]
SYNOP_HOURS = np.arange(0, 24, 3)


def write_weather(world: dict, exposures: pl.DataFrame, days: np.ndarray, out: Path) -> list[Path]:
    w = world["weather"]
    rng = stream(int(world["seed"]), "weather")
    out.mkdir(parents=True, exist_ok=True)
    true = exposures.filter(pl.col("date").is_between(days[0], days[-1]))
    n = days.size * 8
    day = np.repeat(np.arange(days.size), 8)
    hours = np.tile(SYNOP_HOURS, days.size)
    t_c = (
        true["temperature"].to_numpy()[day]
        - 4.5 * np.cos(2 * np.pi * (hours - 14) / 24)
        + rng.normal(0, 0.3, n)
    )
    td_c = t_c - rng.gamma(2.0, 2.2, n)
    u = 100 * np.exp(17.625 * td_c / (243.04 + td_c) - 17.625 * t_c / (243.04 + t_c))
    pmer = 101600 + ar1(rng, n, 0.97, 800.0)
    weights = rng.gamma(0.4, 1.0, n).reshape(-1, 8)
    rr3 = (true["rain"].to_numpy()[:, None] * weights / weights.sum(axis=1, keepdims=True)).ravel()
    values = {
        "pmer": np.round(pmer, -1),
        "t": np.round(t_c + 273.15, 2),
        "td": np.round(td_c + 273.15, 2),
        "u": np.round(u),
        "ff": np.round(rng.gamma(2.0, 1.6, n), 1),
        "rr3": np.round(rr3, 1),
        "pres": np.round(pmer - 1750 + rng.normal(0, 20, n), -1),
    }
    stamps = np.datetime64(days[0], "h") + np.arange(days.size * 24)[::3]
    text = np.char.replace(
        np.char.replace(np.char.replace(np.datetime_as_string(stamps, unit="s"), "-", ""), "T", ""),
        ":",
        "",
    )
    frame = pl.DataFrame({"numer_sta": np.full(n, w["station"]), "date": text})
    for name, v in values.items():
        missing = rng.random(n) < w["missing"]
        frame = frame.with_columns(
            pl.when(pl.lit(missing))
            .then(pl.lit("mq"))
            .otherwise(pl.lit(v).cast(pl.Utf8))
            .alias(name)
        )
    frame = frame.with_columns(pl.col("date").str.slice(0, 6).alias("_month"))
    paths = []
    for (month,), part in frame.partition_by("_month", as_dict=True, maintain_order=True).items():
        path = out / f"synop.{month}.csv"
        part.select(HEADER).write_csv(path, separator=";")
        paths.append(path)
    return paths
