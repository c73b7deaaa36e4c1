"""Ensemble benchmark: the ensemble of the best deep model and the best baseline against its members.

Usage:
  python scripts/bench_ensemble.py                      # default world + Chicago NMMAPS
  python scripts/bench_ensemble.py --datasets default --out outputs/bench_ensemble

For each dataset, three `respicast-eval` backtests (pooled rolling origin, every fold refit; the
same folds as scripts/bench_skill.py): the baseline member (the forecasting GLM), the deep member
(the best deep model of the skill table on that dataset) and `model=ensemble` with those two as
members (weights: the config's default), and climatology as the reference. The table scores each
on the SAME test rows: pooled AUROC of the peak probability, mean WIS (hub quantile levels), the
80 % / 95 % coverage of the central intervals of whole counts and of the randomised PIT intervals
(pit80/pit95: for counts, the interval of whole counts holds more than its level by construction),
the paired differences ensemble - member with week-block bootstrap 95 % CIs (ΔAUROC > 0 and
ΔWIS < 0 favour the ensemble), and each model's ΔWIS against climatology with its CI (issue 16's
target: the best model's WIS below climatology's). Runs whose metrics.json exists are reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from respicast.evaluation.bootstrap import iso_week_ids, percentile_ci, resamples, week_blocks
from respicast.evaluation.metrics import auroc
from respicast.evaluation.proper_scores import row_scores
from respicast.evaluation.quantiles import HUB_LEVELS

HORIZONS = (1, 3, 7)
KEY = ["origin_date", "horizon"]
# dataset -> (data overrides, deep member); the deep member is the skill table's best deep model
DATASETS = {
    "default": ([], "lstm"),
    "chicago": (["data=chicago_nmmaps", "backtest.first_test_year=1994"], "lstm"),
}
BASELINE = "glm_dlnm"
REFERENCE = "climatology"


def plan(dataset: str) -> dict[str, list[str]]:
    """Row label -> respicast-eval overrides."""
    data, deep = DATASETS[dataset]
    return {
        BASELINE: [f"model={BASELINE}", *data],
        REFERENCE: [f"model={REFERENCE}", *data],
        deep: [f"model={deep}", *data],
        "ensemble": ["model=ensemble", f"model@model.members.net={deep}", *data],
    }


def run_one(run_dir: Path, overrides: list[str]) -> None:
    if (run_dir / "metrics.json").exists():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = ["respicast-eval", "logger=none", "torch_threads=1", f"hydra.run.dir={run_dir}"]
    with open(run_dir / "bench.log", "w") as log:
        rc = subprocess.call([*cmd, *overrides], stdout=log, stderr=subprocess.STDOUT)
    if rc != 0:
        print(
            f"FAILED ({rc}): {' '.join(cmd + overrides)}; see {run_dir}/bench.log", file=sys.stderr
        )


def test_rows(run_dir: Path) -> pl.DataFrame:
    frame = pl.read_parquet(run_dir / "predictions.parquet").filter(
        (pl.col("split") == "test") & pl.col("horizon").is_in(HORIZONS)
    )
    frame = frame.filter(pl.col("peak").is_not_null() & pl.col("observed").is_not_null())
    scores = row_scores(frame, HUB_LEVELS, str(run_dir))
    return frame.select(*KEY, "target_date", "peak", "peak_prob").with_columns(
        wis=scores["wis"],
        cover80=scores["cover80"],
        cover95=scores["cover95"],
        pit80=scores["pit_cover80"],
        pit95=scores["pit_cover95"],
    )


def paired(y, a, b, wis_a, wis_b, weeks, n: int) -> tuple[tuple, tuple]:
    """(ΔAUROC a - b, ΔWIS a - b), each (point, lo, hi), on the same rows."""
    d_auc = [auroc(y, a) - auroc(y, b)]
    d_wis = [float(np.mean(wis_a - wis_b))]
    for i in resamples(week_blocks(weeks), n, seed=0):
        d_auc.append(auroc(y[i], a[i]) - auroc(y[i], b[i]))
        d_wis.append(float(np.mean(wis_a[i] - wis_b[i])))
    return (
        (d_auc[0], *percentile_ci(np.array(d_auc[1:]))),
        (d_wis[0], *percentile_ci(np.array(d_wis[1:]))),
    )


def _ci(t: tuple) -> str:
    return f"{t[0]:+.3f} [{t[1]:+.3f}, {t[2]:+.3f}]"


def table(dataset: str, runs: dict[str, Path], n_boot: int) -> str:
    frames = {label: test_rows(d) for label, d in runs.items()}
    shared = frames["ensemble"].select(KEY)
    for f in frames.values():
        shared = shared.join(f.select(KEY), on=KEY)
    lines = [
        f"### {dataset}: ensemble vs its members (pooled backtest, same test rows)",
        "",
        "| model | h | AUROC | WIS | cover80 / 95 | pit80 / 95 | ΔAUROC ens − model "
        "| ΔWIS ens − model | ΔWIS model − climatology |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for h in HORIZONS:
        rows = {
            lb: f.join(shared, on=KEY).filter(pl.col("horizon") == h).sort("origin_date")
            for lb, f in frames.items()
        }
        ens = rows["ensemble"]
        y, weeks = ens["peak"].to_numpy().astype(int), iso_week_ids(ens["target_date"])
        ref = rows[REFERENCE]
        for label, g in rows.items():
            p, w = g["peak_prob"].to_numpy(), g["wis"].to_numpy()
            d_auc, d_wis, d_ref = ("—", "—", "—")
            if label != "ensemble":
                da, dw = paired(
                    y, ens["peak_prob"].to_numpy(), p, ens["wis"].to_numpy(), w, weeks, n_boot
                )
                d_auc, d_wis = _ci(da), _ci(dw)
            if label != REFERENCE:
                _, dr = paired(
                    y, p, ref["peak_prob"].to_numpy(), w, ref["wis"].to_numpy(), weeks, n_boot
                )
                d_ref = _ci(dr)
            cover = " / ".join(f"{np.mean(g[c].to_numpy()):.3f}" for c in ("cover80", "cover95"))
            pit = " / ".join(f"{np.mean(g[c].to_numpy()):.3f}" for c in ("pit80", "pit95"))
            lines.append(
                f"| {label} | {h} | {auroc(y, p):.3f} | {np.mean(w):.3f} | {cover} | {pit} "
                f"| {d_auc} | {d_wis} | {d_ref} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--out", type=Path, default=Path("outputs/bench_ensemble"))
    ap.add_argument("--jobs", type=int, default=2, help="backtests run in parallel")
    ap.add_argument("--boot", type=int, default=500, help="week-block bootstrap resamples")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.time()
    jobs = [(args.out / ds / lb, o) for ds in args.datasets for lb, o in plan(ds).items()]
    with ThreadPoolExecutor(args.jobs) as pool:
        # the first run of a dataset simulates or reads its data: once, before the others
        list(pool.map(lambda j: run_one(*j), [j for j in jobs if j[0].name == BASELINE]))
        list(pool.map(lambda j: run_one(*j), [j for j in jobs if j[0].name != BASELINE]))
    parts = [f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"]
    for ds in args.datasets:
        parts.append(table(ds, {lb: args.out / ds / lb for lb in plan(ds)}, args.boot))
    parts.append(f"Backtests {(time.time() - t0) / 60:.1f} min wall ({args.jobs} in parallel).")
    text = "\n\n".join(parts)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_ensemble.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
