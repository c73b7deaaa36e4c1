"""Time PanelTable -> PanelWindows for S daily series x Y years (issue 15).

Usage: python scripts/bench_panel.py [--series 100] [--years 12] [--lookback 56] [--horizon 7]
       python scripts/bench_panel.py --sweep 10,30,100   (one child process per series count)
Prints one JSON line per run: build seconds (best of --repeat), peak RSS (ru_maxrss, the whole
process: imports + synthetic frame + build), batch time, and the bytes the window buffers hold.
Targets: 100 x 12 builds in <= 10 s with peak RSS <= 2 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import polars as pl

from respicast.dataset.panel import PanelTable, build_panel_windows, panel_train_end
from respicast.table import Column

OUTCOMES = ("resp", "cardio")
AGES = ("0-64", "65+")
PEAK = {"method": "trailing_quantile", "q": 0.9, "window_days": 365, "min_periods": 180}


def synth_panel(n_series: int, years: int, seed: int = 0) -> PanelTable:
    """Poisson counts with a winter season, a lagged pollution effect and a weekly cycle; series
    named zone x outcome x age band (4 series per zone), with a population each."""
    rng = np.random.default_rng(seed)
    n_days = int(round(years * 365.25))
    t = np.arange(n_days)
    s = np.arange(n_series)
    season = np.cos(2 * np.pi * t / 365.25)
    pm = rng.normal(size=(n_series, n_days))
    temp = 12 + 8 * np.sin(2 * np.pi * t / 365.25) + rng.normal(size=(n_series, n_days))
    scale = rng.uniform(2, 40, size=(n_series, 1))
    lam = scale * np.exp(0.4 * season + 0.2 * np.roll(pm, 2, axis=1) - 0.05 * (t % 7 >= 5))
    zone = np.array([f"z{i // 4:03d}" for i in s])
    outcome = np.array([OUTCOMES[i % 2] for i in s])
    age = np.array([AGES[(i // 2) % 2] for i in s])
    start = np.datetime64("2010-01-01")
    frame = pl.DataFrame(
        {
            "zone": np.repeat(zone, n_days),
            "outcome": np.repeat(outcome, n_days),
            "age_band": np.repeat(age, n_days),
            "date": np.tile(start + t.astype("timedelta64[D]"), n_series),
            "admissions": rng.poisson(lam).ravel(),
            "pm25": pm.ravel(),
            "pm25_filled": (rng.random(n_series * n_days) < 0.05),
            "temp": temp.ravel(),
            "dow_sin": np.tile(np.sin(2 * np.pi * t / 7), n_series),
            "dow_cos": np.tile(np.cos(2 * np.pi * t / 7), n_series),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    static = pl.DataFrame(
        {"zone": zone, "outcome": outcome, "age_band": age, "population": scale[:, 0] * 1e4}
    )
    columns = [
        Column("pm25", "pollution", mask="pm25_filled"),
        Column("temp", "weather"),
        Column("dow_sin", "calendar", known_future=True),
        Column("dow_cos", "calendar", known_future=True),
    ]
    return PanelTable(
        frame=frame,
        target="admissions",
        columns=columns,
        keys=["zone", "outcome", "age_band"],
        static=static,
    )


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_once(args: argparse.Namespace) -> dict:
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    panel = synth_panel(args.series, args.years)
    synth_s = time.perf_counter() - t0
    n_days = panel.frame.height // args.series
    val_start = np.datetime64("2010-01-01") + np.timedelta64(int(n_days * 0.65), "D")
    test_start = val_start + np.timedelta64(int(n_days * 0.15), "D")
    train_end = panel_train_end(val_start, lookback=args.lookback, horizon=args.horizon)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        pw = build_panel_windows(
            panel, lookback=args.lookback, horizon=args.horizon, peak=PEAK, train_end_day=train_end
        )
        parts = pw.split_by_dates(val_start, test_start)
        times.append(time.perf_counter() - t0)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(100):
        pw.batch(rng.choice(parts["train"], size=256, replace=False))
    batch_ms = (time.perf_counter() - t0) * 1000 / 100
    return {
        "series": args.series,
        "years": args.years,
        "lookback": args.lookback,
        "rows": panel.frame.height,
        "origins": len(pw),
        "synth_s": round(synth_s, 2),
        "build_s": round(min(times), 2),
        "batch256_ms": round(batch_ms, 2),
        "buffers_mib": round(pw.storage_nbytes() / 2**20, 1),
        "rss_imports_mib": round(rss0),
        "peak_rss_mib": round(_rss_mib()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--years", type=int, default=12)
    ap.add_argument("--lookback", type=int, default=56)
    ap.add_argument("--horizon", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sweep", default="", help="comma-separated series counts, one process each")
    args = ap.parse_args()
    if not args.sweep:
        print(json.dumps(run_once(args)))
        return
    for n in [int(x) for x in args.sweep.split(",")]:
        cmd = [sys.executable, __file__, "--series", str(n), "--years", str(args.years)]
        cmd += ["--lookback", str(args.lookback), "--horizon", str(args.horizon)]
        cmd += ["--repeat", str(args.repeat)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
