"""Panel benchmarks (issue 15): window-building time, and with --skill the two skill targets.

Usage: python scripts/bench_panel.py [--series 100] [--years 12] [--lookback 56] [--horizon 7]
       python scripts/bench_panel.py --sweep 10,30,100   (one child process per series count)
       python scripts/bench_panel.py --skill [--data toulouse_sim_panel_small] [--model tcn]
                                     [--max-epochs N] [--n-boot 1000] [--limit-series N]
                                     [--target both|series|total]
                                     [--save-dir DIR] [--extra OVERRIDE ...]

Timing mode: PanelTable -> PanelWindows for S daily series x Y years. Prints one JSON line per
run: build seconds (best of --repeat), peak RSS (ru_maxrss, the whole process: imports +
synthetic frame + build), batch time, and the bytes the window buffers hold.
Targets: 100 x 12 builds in <= 10 s with peak RSS <= 2 GiB on 2 cores.

Skill mode (--skill), on the simulated panel of --data (respicast-train's config, logger off):
1. global vs per-series: the deep net fitted once over every leaf series (the panel built with
   data.totals=[]) against the same net config fitted on each leaf series alone; both scored on
   the identical test rows (keys, origin, horizon): pooled AUROC per horizon (1, 3, 7), the
   paired delta AUROC (global - per-series) with a 95 % CI from a block bootstrap over ISO weeks
   of target_date, n_pos, and the macro AUROC (mean over the series with both classes).
2. city total: the net fitted over the panel *with* its city total series ("all|all|all"); the
   total's peak probability bottom-up (evaluation.coherence.bottom_up: a negative binomial of
   the parts' summed means) and direct (the total series' own rows), against the city-only
   model (the same net on --city-data, one series of the same world) on identical origins and
   on the rows whose peak labels agree (observed counts, thresholds and labels are compared and
   their mismatches printed); paired delta AUROC bottom-up - city and direct - city, with CIs.
Peak probabilities are the nets' raw ones (fit_and_predict: no calibration). Every fit is seeded
with cfg.seed. Prints a table, then one JSON line with every number.
Run time, shared 2-core machine (torch on 1 thread), model defaults (tcn: trainer.max_epochs 30,
early stopping on val/loss, refit on train + val): 12.5 min wall; the global net 205 s, 35
per-series nets 236 s (7 s each), the global net with the total 283 s, the city net 5 s, panel
build + bootstraps (1000 resamples) ~20 s. --max-epochs caps every fit (default: the trainer's);
--limit-series N fits the first N series only (a timing probe; target 2 is then skipped).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

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


# -- skill mode (--skill) -------------------------------------------------------------------------
HORIZONS = (1, 3, 7)
TOTAL = "all"


def paired_auroc_delta(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, weeks: np.ndarray, n: int, seed: int = 0
) -> tuple[float, float, float]:
    """AUROC(a) - AUROC(b) on the same rows, with a 95 % CI from ``n`` resamples of whole blocks
    (``weeks``: a block id per row, e.g. iso_week_ids of target_date); (nan, nan) CI when n = 0."""
    from respicast.evaluation.bootstrap import percentile_ci, resamples, week_blocks
    from respicast.evaluation.metrics import auroc

    point = auroc(y, a) - auroc(y, b)
    draws = [auroc(y[i], a[i]) - auroc(y[i], b[i]) for i in resamples(week_blocks(weeks), n, seed)]
    lo, hi = percentile_ci(np.array(draws)) if n else (float("nan"), float("nan"))
    return point, lo, hi


def compose_train(data: str, model: str, max_epochs: int | None, out_dir: str, extra: list[str]):
    """respicast-train's config for one data/model pair (logger and progress bar off)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from respicast.cli import CONFIG_DIR  # importing respicast.cli registers the resolvers

    overrides = [f"data={data}", f"model={model}", "logger=none", "extras.print_config=false"]
    overrides += ["+trainer.enable_progress_bar=false", *extra]
    if max_epochs is not None:
        overrides.append(f"trainer.max_epochs={max_epochs}")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = cfg.paths.log_dir = cfg.hydra.runtime.output_dir = out_dir
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    return cfg


def fit_test(cfg, dm, out_dir: str, label: str, timings: dict) -> pl.DataFrame:
    """Seed, fit (checkpoints in a run dir of its own) and return the test predictions."""
    from lightning.pytorch import seed_everything
    from omegaconf import open_dict

    from respicast.training import fit_and_predict

    with open_dict(cfg):
        cfg.paths.output_dir = out_dir
    seed_everything(cfg.seed, workers=True)
    t0 = time.perf_counter()
    _, preds = fit_and_predict(cfg, dm)
    timings[label] = round(time.perf_counter() - t0, 1)
    print(f"  fit {label}: {timings[label]} s", file=sys.stderr, flush=True)
    return preds["test"].filter(pl.col("horizon").is_in(HORIZONS))


def _save(frame: pl.DataFrame, args: argparse.Namespace, name: str) -> None:
    """Test predictions to --save-dir/<name>.parquet, for a look at them after the run."""
    if args.save_dir:
        Path(args.save_dir).mkdir(parents=True, exist_ok=True)
        frame.write_parquet(Path(args.save_dir) / f"{name}.parquet")


def only_series(panel: PanelTable, key: dict) -> PanelTable:
    """The panel restricted to one series (its frame rows and static row)."""
    import dataclasses

    cond = [pl.col(k) == v for k, v in key.items()]
    return dataclasses.replace(
        panel,
        frame=panel.frame.filter(*cond),
        static=panel.static_frame().filter(*cond),
        meta={**panel.meta, "n_series": 1},
    )


def _check_same(joined: pl.DataFrame, cols: list[str], where: str) -> dict[str, int]:
    """Rows where a column of the left frame differs from its ``_r`` twin (null-aware)."""
    out = {}
    for c in cols:
        a, b = pl.col(c), pl.col(f"{c}_r")
        differ = (a != b) | (a.is_null() != b.is_null())
        if c in ("threshold", "observed"):
            differ = ((a - b).abs() > 1e-9) | (a.is_null() != b.is_null())
        out[c] = int(joined.select(differ.fill_null(False).sum()).item())
    if any(out.values()):
        print(f"  {where}: rows that differ {out}", file=sys.stderr)
    return out


def score_pair(joined: pl.DataFrame, a: str, b: str, n_boot: int, keys=None) -> dict:
    """Per horizon: AUROC of columns a and b on the joined rows, their paired delta with its CI,
    n, n_pos; with ``keys`` also the macro AUROC over the series that have both classes."""
    from respicast.evaluation.bootstrap import iso_week_ids
    from respicast.evaluation.metrics import auroc

    out = {}
    for h in HORIZONS:
        g = joined.filter(pl.col("horizon") == h)
        y = g["peak"].to_numpy().astype(int)
        pa, pb = g[a].to_numpy(), g[b].to_numpy()
        d, lo, hi = paired_auroc_delta(y, pa, pb, iso_week_ids(g["target_date"]), n_boot)
        row = {"n": len(g), "n_pos": int(y.sum()), a: auroc(y, pa), b: auroc(y, pb)}
        row |= {"delta": d, "lo": lo, "hi": hi}
        if keys:
            per = [
                (
                    auroc(s["peak"].to_numpy().astype(int), s[a].to_numpy()),
                    auroc(s["peak"].to_numpy().astype(int), s[b].to_numpy()),
                )
                for _, s in g.group_by(keys, maintain_order=True)
            ]
            per = np.array(per, dtype=float).reshape(-1, 2)
            ok = np.isfinite(per).all(axis=1)
            row |= {f"macro_{a}": float(per[ok, 0].mean()) if ok.any() else float("nan")}
            row |= {f"macro_{b}": float(per[ok, 1].mean()) if ok.any() else float("nan")}
            row |= {"macro_series": int(ok.sum()), "series": len(per)}
        out[f"h{h}"] = row
    return out


def skill_global_vs_series(cfg, panel: PanelTable, args, tmp: str, timings: dict) -> dict:
    """Target 1: one global net over every leaf series against one net per series."""
    from respicast.dataset.panel_datamodule import PanelDataModule

    keys = list(panel.keys)
    series = panel.static_frame().select(keys).rows(named=True)
    if args.limit_series:
        series = series[: args.limit_series]
    glob = fit_test(
        cfg, PanelDataModule(cfg.data, panel, cfg.seed), f"{tmp}/global", "global", timings
    )
    parts = []
    for i, key in enumerate(series):
        dm = PanelDataModule(cfg.data, only_series(panel, key), cfg.seed)
        parts.append(fit_test(cfg, dm, f"{tmp}/series{i}", f"series{i}", timings))
    per = pl.concat(parts, how="vertical_relaxed")
    _save(glob, args, "global")
    _save(per, args, "per_series")
    on = [*keys, "origin_date", "horizon"]
    cols = ["target_date", "observed", "peak", "threshold"]
    joined = glob.select(*on, *cols, global_prob="peak_prob").join(
        per.select(*on, *cols, series_prob="peak_prob"), on=on, how="inner", suffix="_r"
    )
    mismatch = _check_same(joined, cols[1:], "global vs per-series")
    lost = {"global_rows": glob.height, "series_rows": per.height, "joined": joined.height}
    joined = joined.filter(pl.col("peak").is_not_null() & (pl.col("peak") == pl.col("peak_r")))
    return {
        "rows": lost,
        "mismatch": mismatch,
        "n_series": len(series),
        **score_pair(joined, "global_prob", "series_prob", args.n_boot, keys),
    }


def skill_city_total(cfg, panel: PanelTable, args, tmp: str, timings: dict) -> dict:
    """Target 2: the city total bottom-up and direct against the city-only model."""
    from omegaconf import open_dict

    from respicast.dataset.panel_datamodule import PanelDataModule, make_datamodule
    from respicast.evaluation.coherence import bottom_up
    from respicast.harmonize.panel import add_totals

    keys = list(panel.keys)
    over = [keys]
    with open_dict(cfg):
        cfg.data.totals = over
    with_tot = add_totals(panel, over)
    test = fit_test(
        cfg,
        PanelDataModule(cfg.data, with_tot, cfg.seed),
        f"{tmp}/global_total",
        "global+total",
        timings,
    )
    _save(test, args, "global_total")
    tot = bottom_up(test, keys).filter(pl.all_horizontal([pl.col(k) == TOTAL for k in keys]))
    city_cfg = compose_train(args.city_data, args.model, args.max_epochs, f"{tmp}/city", args.extra)
    city = fit_test(
        city_cfg, make_datamodule(city_cfg.data, city_cfg.seed), f"{tmp}/city", "city", timings
    )
    _save(city, args, "city")
    on = ["origin_date", "horizon"]
    cols = ["target_date", "observed", "peak", "threshold"]
    joined = tot.select(*on, *cols, "peak_prob", "bottom_up_prob").join(
        city.select(*on, *cols, city_prob="peak_prob"), on=on, how="inner", suffix="_r"
    )
    mismatch = _check_same(joined, cols[1:], "total series vs city-only")
    rows = {"total_rows": tot.height, "city_rows": city.height, "joined": joined.height}
    both = joined.filter(pl.col("peak").is_not_null() & pl.col("peak_r").is_not_null())
    rows["labelled_both"] = both.height
    joined = both.filter(pl.col("peak") == pl.col("peak_r"))
    rows["labels_agree"] = joined.height
    joined = joined.rename({"peak_prob": "direct_prob"})
    return {
        "rows": rows,
        "mismatch": mismatch,
        "bottom_up_vs_city": score_pair(joined, "bottom_up_prob", "city_prob", args.n_boot),
        "direct_vs_city": score_pair(joined, "direct_prob", "city_prob", args.n_boot),
    }


def _f(x: float) -> str:
    return "  nan" if not np.isfinite(x) else f"{x:.3f}"


def _d(r: dict) -> str:
    return f"{r['delta']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}]"


def skill_table(res: dict) -> str:
    lines = _series_lines(res) if "global_vs_series" in res else []
    if "city_total" in res:
        lines += _total_lines(res)
    lines.append(f"fit seconds: {res['timings_summary']}")
    return "\n".join(lines)


def _series_lines(res: dict) -> list[str]:
    g = res["global_vs_series"]
    lines = [
        f"1. global vs per-series ({g['n_series']} leaf series, {res['model']}, test rows "
        f"{g['rows']['joined']}; raw peak_prob)",
        "  h | n     | n_pos | AUROC global | AUROC per-series | ΔAUROC (95% CI)          | "
        "macro global | macro per-series (series)",
    ]
    for h in HORIZONS:
        r = g[f"h{h}"]
        lines.append(
            f"  {h} | {r['n']:<5} | {r['n_pos']:<5} | {_f(r['global_prob']):>12} | "
            f"{_f(r['series_prob']):>16} | {_d(r):<24} | {_f(r['macro_global_prob']):>12} | "
            f"{_f(r['macro_series_prob'])} ({r['macro_series']}/{r['series']})"
        )
    return lines


def _total_lines(res: dict) -> list[str]:
    c = res["city_total"]
    lines = [
        f"2. city total (rows {c['rows']}; mismatching {c['mismatch']})",
        "  h | n   | n_pos | AUROC bottom-up | direct | city  | Δ bottom-up − city       | "
        "Δ direct − city",
    ]
    for h in HORIZONS:
        b, d = c["bottom_up_vs_city"][f"h{h}"], c["direct_vs_city"][f"h{h}"]
        lines.append(
            f"  {h} | {b['n']:<3} | {b['n_pos']:<5} | {_f(b['bottom_up_prob']):>15} | "
            f"{_f(d['direct_prob']):>6} | {_f(b['city_prob'])} | {_d(b):<24} | {_d(d)}"
        )
    return lines


def run_skill(args: argparse.Namespace) -> None:
    import logging
    import tempfile

    from omegaconf import open_dict

    from respicast.harmonize.panel import build_panel_table

    for name in ("lightning", "lightning.pytorch", "respicast"):
        logging.getLogger(name).setLevel(logging.WARNING)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_panel_skill_") as tmp:
        cfg = compose_train(args.data, args.model, args.max_epochs, f"{tmp}/run", args.extra)
        from respicast.utils.setup import setup_run

        setup_run(cfg)  # torch threads as respicast-train sets them
        with open_dict(cfg):
            cfg.data.totals = []
        t0 = time.perf_counter()
        panel = build_panel_table(cfg.data)
        timings["build_panel"] = round(time.perf_counter() - t0, 1)
        res = {
            "data": args.data,
            "city_data": args.city_data,
            "model": args.model,
            "max_epochs": int(cfg.trainer.max_epochs),
            "refit": bool(cfg.get("refit")),
            "seed": int(cfg.seed),
            "n_boot": args.n_boot,
        }
        if args.target in ("both", "series"):
            res["global_vs_series"] = skill_global_vs_series(cfg, panel, args, tmp, timings)
        if not args.limit_series and args.target in ("both", "total"):
            res["city_total"] = skill_city_total(cfg, panel, args, tmp, timings)
    series_s = [v for k, v in timings.items() if k.startswith("series")]
    res["timings"] = timings
    res["timings_summary"] = {
        "global": timings.get("global"),
        "per_series_total": round(sum(series_s), 1),
        "per_series_mean": round(float(np.mean(series_s)), 1) if series_s else None,
        "global+total": timings.get("global+total"),
        "city": timings.get("city"),
        "wall": round(time.perf_counter() - t_all, 1),
    }
    if "city_total" in res or "global_vs_series" in res:
        print(skill_table(res))
    print(json.dumps(res, default=float))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--years", type=int, default=12)
    ap.add_argument("--lookback", type=int, default=56)
    ap.add_argument("--horizon", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sweep", default="", help="comma-separated series counts, one process each")
    ap.add_argument("--skill", action="store_true", help="the skill targets (see above)")
    ap.add_argument("--data", default="toulouse_sim_panel_small", help="--skill: panel data config")
    ap.add_argument("--city-data", default="toulouse_sim_small", help="--skill: city-only config")
    ap.add_argument("--model", default="tcn", help="--skill: model config")
    ap.add_argument("--max-epochs", type=int, default=None, help="--skill: default the trainer's")
    ap.add_argument("--n-boot", type=int, default=1000, help="--skill: bootstrap resamples")
    ap.add_argument("--limit-series", type=int, default=0, help="--skill: first N series only")
    ap.add_argument(
        "--target", choices=("both", "series", "total"), default="both", help="--skill: which"
    )
    ap.add_argument("--save-dir", default="", help="--skill: write the test predictions here")
    ap.add_argument("--extra", nargs="*", default=[], help="--skill: more config overrides")
    args = ap.parse_args()
    if args.skill:
        run_skill(args)
        return
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
