"""A synthetic WindowSet with known structure, for tests, benchmarks and demos.

Daily counts ~ NB(λ, k) with log λ = base + yearly season + day of week + ``effect`` × pm10 lagged
``effect_lag`` days + ``temp_effect`` × temp; windows are strided views like the real dataset.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from respicast.dataset.windows import WindowSet


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    e = rng.normal(size=n) * np.sqrt(1 - phi**2)
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def _trailing_year(
    known: np.ndarray, lookback: int, peak_quantile: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per day, the level (mean) and peak threshold (quantile) of the trailing year of counts."""
    year = 365
    padded = np.concatenate([np.full(year - 1, np.nan), known])
    trailing = sliding_window_view(padded, year)
    enough = np.sum(~np.isnan(trailing), axis=1) >= 90
    with warnings.catch_warnings():  # all-NaN first days are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.where(enough, np.nanmean(trailing, axis=1), np.nan)
        threshold = np.where(enough, np.nanquantile(trailing, peak_quantile, axis=1), np.nan)
    level = np.where(np.isnan(level), np.nanmean(known[:lookback]), level)
    return level, threshold


def _past_inputs(
    rng: np.random.Generator, pm10: np.ndarray, temp: np.ndarray, n_noise: int
) -> tuple[np.ndarray, list[str], list[str]]:
    """pm10, temp and ``n_noise`` AR(1) noise channels, scaled on the first 70 %; names, groups."""
    n_days = pm10.size
    cov = [pm10, temp] + [_ar1(rng, n_days, 0.5) for _ in range(n_noise)]
    past_names = ["pm10", "temp"] + [f"noise_{i}" for i in range(n_noise)]
    past_groups = ["pollution", "weather"] + ["weather"] * n_noise
    train_part = int(0.7 * n_days)
    past_daily = np.stack(cov, axis=1)
    past_daily = (past_daily - past_daily[:train_part].mean(0)) / past_daily[:train_part].std(0)
    return past_daily, past_names, past_groups


def _calendar(dow: np.ndarray, doy: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The daily known-future channels (day of week, day of year, holidays) and their names."""
    holiday = ((doy == 0) | (doy == 358)).astype(float)  # ~1 Jan, ~25 Dec
    school = ((doy >= 185) & (doy < 243)).astype(float)
    future_daily = np.stack(
        [
            np.sin(2 * np.pi * dow / 7),
            np.cos(2 * np.pi * dow / 7),
            np.sin(2 * np.pi * doy / 365.25),
            np.cos(2 * np.pi * doy / 365.25),
            holiday,
            school,
        ],
        axis=1,
    )
    future_names = ["dow_sin", "dow_cos", "doy_sin", "doy_cos", "public_holiday", "school_holiday"]
    return future_daily, future_names


def make_windowset(
    n_days: int = 1500,
    lookback: int = 28,
    horizon: int = 7,
    n_noise: int = 2,
    effect: float = 0.3,
    effect_lag: int = 2,
    temp_effect: float = 0.0,
    base: float = 12.0,
    dispersion: float = 30.0,
    latency: int = 1,
    peak_quantile: float = 0.9,
    seed: int = 0,
    start: str = "2010-01-01",
) -> WindowSet:
    rng = np.random.default_rng(seed)
    dates = np.datetime64(start, "D") + np.arange(n_days)
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    dow = (dates.astype(np.int64) + 3) % 7
    season = 0.25 * np.cos(2 * np.pi * (doy - 15) / 365.25)
    temp = -np.cos(2 * np.pi * (doy - 15) / 365.25) + 0.5 * _ar1(rng, n_days, 0.8)
    pm10 = _ar1(rng, n_days, 0.6)
    lagged = np.concatenate([np.zeros(effect_lag), pm10[: n_days - effect_lag]])
    log_mu = np.log(base) + season + np.where(dow >= 5, -0.2, 0.0) + effect * lagged
    log_mu = log_mu + temp_effect * (temp - temp.mean())
    mu = np.exp(log_mu)
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu)).astype(float)

    known = np.concatenate([np.full(latency, np.nan), counts[: n_days - latency]])
    level, threshold = _trailing_year(known, lookback, peak_quantile)

    past_daily, past_names, past_groups = _past_inputs(rng, pm10, temp, n_noise)

    future_daily, future_names = _calendar(dow, doy)

    n = n_days - lookback - horizon + 1
    origin_idx = np.arange(lookback - 1, lookback - 1 + n)
    y_count = sliding_window_view(counts[lookback:], horizon)[:n]
    thr = threshold[origin_idx]
    y_peak = np.where(np.isnan(thr)[:, None], np.nan, (y_count > thr[:, None]).astype(float))
    return WindowSet(
        origins=dates[origin_idx],
        history=sliding_window_view(known, lookback)[:n],
        past=np.moveaxis(sliding_window_view(past_daily, lookback, axis=0), -1, 1)[:n],
        future=np.moveaxis(sliding_window_view(future_daily[lookback:], horizon, axis=0), -1, 1)[
            :n
        ],
        level=level[origin_idx],
        threshold=thr,
        y_count=y_count,
        y_peak=y_peak,
        past_names=past_names,
        future_names=future_names,
        past_groups=past_groups,
        future_groups=["calendar"] * len(future_names),
    )


def split(ws: WindowSet, train_frac: float = 0.7) -> tuple[WindowSet, WindowSet]:
    """Contiguous train / test split of the origins."""
    cut = int(len(ws) * train_frac)
    return ws.slice(0, cut), ws.slice(cut, len(ws))
