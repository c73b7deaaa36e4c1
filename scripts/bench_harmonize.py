"""Time source frames -> daily table for Y years x S hourly stations (+ a weekly and a daily source).

Usage: python scripts/bench_harmonize.py [--years 20] [--stations 20] [--scaling]
Prints one line per run: years, stations, hourly rows, seconds (best of --repeat). Target: 20 x 20 <= 5 s
on 2 cores. With --scaling it also runs years in {5,10,20} and stations in {5,10,20} to show growth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl

from respicast.harmonize.build import feature_columns
from respicast.harmonize.calendar import calendar_frame
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import make_area
from respicast.sources.frame import Latency, Site, SourceMeta, finalize

TZ = "Europe/Paris"
T0 = dt.datetime(2000, 1, 2, 23, tzinfo=dt.UTC)  # local midnight, Monday 3 Jan 2000


def _raw(
    times: pl.Series, sites: np.ndarray, variables: np.ndarray, values: np.ndarray, unit: str
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "time": times,
            "site": sites,
            "variable": variables,
            "value": values,
            "unit": unit,
            "quality": "valid",
        }
    ).with_columns(
        value=pl.col("value").fill_nan(None), line=pl.int_range(pl.len(), dtype=pl.Int64)
    )


def make_sources(years: int, stations: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_h = years * 8766
    hours = pl.datetime_range(
        T0, T0 + dt.timedelta(hours=n_h - 1), "1h", eager=True, time_zone="UTC"
    )
    ids = np.array([f"S{i:02d}" for i in range(stations)])
    vals = rng.gamma(4, 6, size=stations * n_h)
    vals[rng.random(vals.size) < 0.05] = np.nan
    air = _raw(
        pl.concat([hours] * stations),
        np.repeat(ids, n_h),
        np.repeat(np.where(np.arange(stations) % 2, "O3", "NO2"), n_h),
        vals,
        "ug/m3",
    )
    sites = {s: Site(s, 43.5 + 0.02 * i, 1.3 + 0.02 * i) for i, s in enumerate(ids)}
    air_meta = SourceMeta(
        "air",
        "atmo",
        "1h",
        Latency(1, 12),
        sites=sites,
        groups={"NO2": "pollution", "O3": "pollution"},
    )
    weeks = pl.datetime_range(
        T0, T0 + dt.timedelta(weeks=years * 52), "1w", eager=True, time_zone="UTC"
    )
    ili = _raw(
        weeks,
        np.full(len(weeks), "73"),
        np.full(len(weeks), "inc100"),
        rng.gamma(3, 50, len(weeks)),
        "per100k",
    )
    ili_meta = SourceMeta(
        "ili",
        "sentinelles",
        "1w",
        Latency(3, 12),
        sites={"73": Site("73")},
        groups={"inc100": "epidemics"},
    )
    days = pl.date_range(T0.date(), T0.date() + dt.timedelta(days=years * 365), "1d", eager=True)
    day_t = days.cast(pl.Datetime("us")).dt.replace_time_zone(TZ).dt.convert_time_zone("UTC")
    pol = _raw(
        day_t,
        np.full(len(days), "TLS"),
        np.full(len(days), "Betula"),
        rng.gamma(2, 30, len(days)),
        "grains/m3",
    )
    pol_meta = SourceMeta(
        "pollen",
        "pollen",
        "1d",
        Latency(3, 12),
        sites={"TLS": Site("TLS", 43.6, 1.44)},
        groups={"Betula": "pollen"},
    )
    return [(air, air_meta), (ili, ili_meta), (pol, pol_meta)], days, n_h * stations


def harmonise(sources, dates: pl.Series) -> pl.DataFrame:
    zones = pl.DataFrame(
        {"zone": ["a", "b"], "population": [1000, 3000], "lat": [43.60, 43.65], "lon": [1.40, 1.45]}
    )
    area = make_area("city", None, zones)
    read = {meta.name: (finalize(raw, meta, TZ, "bench"), meta, {}) for raw, meta in sources}
    table, columns, _ = feature_columns(read, dates, area, {"method": "idw"}, TZ, "interpolate")
    names = [c.name for c in columns]
    table = table.join(calendar_frame(dates), on="date", how="left")
    return fill_missing(table, names)[0]


def run(years: int, stations: int, repeat: int) -> float:
    sources, dates, n_rows = make_sources(years, stations)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        table = harmonise(sources, dates)
        best = min(best, time.perf_counter() - t0)
    print(
        f"years={years:3d} stations={stations:3d} hourly_rows={n_rows:>10,d} table={table.shape} seconds={best:.2f}",
        flush=True,
    )
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scaling", action="store_true")
    args = ap.parse_args()
    run(args.years, args.stations, args.repeat)
    if args.scaling:
        for y in (5, 10):
            run(y, args.stations, args.repeat)
        for s in (5, 10):
            run(args.years, s, args.repeat)


if __name__ == "__main__":
    main()
