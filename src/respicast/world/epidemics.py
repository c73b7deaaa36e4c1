"""Regional epidemic curves: influenza-like illness, RSV-like autumn waves, COVID-19 admissions.

Curves are daily, in the unit of the surveillance they stand for: ILI and RSV in weekly cases per
100 000 (Sentinelles `inc100`), COVID-19 in daily hospital admissions of the département.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from respicast.world.rng import day_of_year

log = logging.getLogger(__name__)

REAL_ILI = Path(__file__).parent / "data" / "sentinelles_ili_midi_pyrenees.csv"


def _bumps(
    t: np.ndarray, centres: np.ndarray, heights: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    z = (t[:, None] - centres[None, :]) / widths[None, :]
    return (heights[None, :] * np.exp(-0.5 * z**2)).sum(axis=1)


def _years(days: np.ndarray) -> range:
    return range(int(str(days[0])[:4]) - 1, int(str(days[-1])[:4]) + 1)


def ili_curve(
    days: np.ndarray, cfg: dict, rng: np.random.Generator
) -> tuple[np.ndarray, list[dict]]:
    """Simulated ILI: one winter epidemic per season (peak timing and size drawn per season)."""
    t = days.astype(float)
    seasons, centres, heights = [], [], []
    for year in _years(days):  # season `year` = winter year/year+1, peak after 1 January year+1
        week = rng.normal(cfg["ili_peak_week_mean"], cfg["ili_peak_week_sd"])
        size = cfg["ili_peak_median"] * np.exp(rng.normal(0.0, cfg["ili_peak_sdlog"]))
        if year in cfg.get("ili_skip_seasons", []):
            continue
        centre = np.datetime64(f"{year + 1}-01-01", "D").astype(float) + 7 * week
        seasons.append(
            {
                "season": f"{year}-{year + 1}",
                "peak_date": str(np.datetime64(int(centre), "D")),
                "peak_inc100": round(float(size), 1),
            }
        )
        centres.append(centre)
        heights.append(size)
    widths = np.full(len(centres), 7.0 * cfg["ili_width_weeks"])
    return cfg["ili_baseline"] + _bumps(t, np.array(centres), np.array(heights), widths), seasons


def rsv_curve(days: np.ndarray, cfg: dict, rng: np.random.Generator) -> np.ndarray:
    t = days.astype(float)
    centres, heights = [], []
    for year in _years(days):
        doy = rng.normal(cfg["rsv_peak_doy_mean"], cfg["rsv_peak_doy_sd"])
        centres.append(np.datetime64(f"{year}-01-01", "D").astype(float) + doy - 1)
        heights.append(cfg["rsv_peak_median"] * np.exp(rng.normal(0.0, cfg["rsv_peak_sdlog"])))
    widths = np.full(len(centres), 7.0 * cfg["rsv_width_weeks"])
    return cfg["rsv_baseline"] + _bumps(t, np.array(centres), np.array(heights), widths)


def covid_curve(days: np.ndarray, cfg: dict) -> np.ndarray:
    """Expected daily COVID-19 admissions of the département (0 before covid_start)."""
    waves = np.array(
        [[np.datetime64(d, "D").astype(float), h, w] for d, h, w in cfg["covid_waves"]]
    )
    curve = 1.0 + _bumps(days.astype(float), waves[:, 0], waves[:, 1], waves[:, 2])
    return np.where(days >= np.datetime64(cfg["covid_start"], "D"), curve, 0.0)


def read_real_ili(path: Path = REAL_ILI) -> pl.DataFrame:
    """The real Midi-Pyrénées weekly ILI rows (week, inc100, ...); '-' weeks become null."""
    frame = pl.read_csv(path, skip_rows=1, infer_schema=False)
    frame = frame.filter(pl.col("geo_insee") == "73").sort("week")
    numeric = ["inc", "inc_low", "inc_up", "inc100", "inc100_low", "inc100_up"]
    return frame.with_columns(
        pl.col(c).replace({"-": None, "": None}).cast(pl.Int64) for c in numeric
    )


def iso_week_monday(weeks: np.ndarray) -> np.ndarray:
    """datetime64[D] Monday of each ISO week written YYYYWW."""
    years, wk = weeks // 100, weeks % 100
    jan4 = np.array([np.datetime64(f"{y}-01-04", "D") for y in years])
    weekday = (jan4.astype(int) + 3) % 7  # 0 = Monday
    return jan4 - weekday + 7 * (wk - 1)


def real_ili_curve(days: np.ndarray, path: Path = REAL_ILI) -> np.ndarray:
    """Daily ILI curve interpolated through the real weekly inc100 values (placed on Thursdays)."""
    frame = read_real_ili(path)
    gaps = frame.filter(pl.col("inc100").is_null())
    if gaps.height:
        log.info(
            "%s: %d weeks without inc100 ('-') interpolated from neighbours", path, gaps.height
        )
    frame = frame.drop_nulls("inc100")
    mid = iso_week_monday(frame["week"].cast(pl.Int64).to_numpy()) + 3
    if days[0] < mid[0] or days[-1] > mid[-1]:
        raise ValueError(
            f"{path}: real ILI covers {mid[0]}..{mid[-1]}, world needs {days[0]}..{days[-1]}"
        )
    return np.interp(
        days.astype(float), mid.astype(float), frame["inc100"].to_numpy().astype(float)
    )


def seasonal_doy_weight(days: np.ndarray, peak_doy: float) -> np.ndarray:
    return np.cos(2 * np.pi * (day_of_year(days) - peak_doy) / 365.25)
