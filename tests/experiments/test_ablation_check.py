"""The ablation finds a planted effect and only that one (slow: a real multirun on a simulated world).

World conf/world/ablation_check.yaml: grass pollen has no effect, influenza a strong one on COPD.
The logistic baseline is trained full, without epidemics and without pollen; the ablation report
must put drop_epidemics' ΔAUROC interval below 0 and drop_pollen's around 0. Permutation
importance on the full run's test windows must find the model relying on epidemics.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytestmark = pytest.mark.slow

HORIZONS = [1, 3]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ablation_check")
    cmd = [
        sys.executable, "-m", "respicast.cli.train", "-m", "experiment=ablation_groups",
        "ablation.variant=full,drop_epidemics,drop_pollen", "seed=42", "model.C=0.02",
        "world@data.world.config=ablation_check", "data.world.dir=${paths.data_dir}/world/ablation_check",
        "+data.target.latency_days=14", "data.split.val_start=2015-01-01", "data.split.test_start=2016-07-01",
        "extras.print_config=false", f"hydra.sweep.dir={root}/sweep",
    ]  # fmt: skip
    out = subprocess.run(
        cmd,
        env={**os.environ, "RESPICAST_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return root / "sweep"


def test_ablation_separates_planted_from_absent_effects(sweep, tmp_path):
    import polars as pl

    from respicast.report.ablation import run_ablation_report

    cfg = OmegaConf.create(
        {
            "runs": str(sweep),
            "reference": "full",
            "horizons": HORIZONS,
            "bootstrap": {"n": 200, "seed": 0, "level": 0.95},
        }
    )
    paths = run_ablation_report(cfg, tmp_path)
    table = pl.read_csv(paths["csv"])
    print(table.drop("model", "n_seeds"))
    for r in table.iter_rows(named=True):
        if r["variant"] == "drop_epidemics":  # strong planted effect: dropping it costs AUROC
            assert r["dauroc_hi"] < 0, r
            assert r["dbrier_lo"] > 0, r
        else:  # no planted effect: no detectable cost
            assert r["variant"] == "drop_pollen"
            assert r["dauroc_lo"] <= 0 <= r["dauroc_hi"], r


def test_permutation_importance_finds_the_epidemics(sweep):
    from respicast.dataset.datamodule import WindowDataModule
    from respicast.evaluation.importance import group_importance

    full = next(p for p in sweep.iterdir() if p.name.endswith("_full_seed42"))
    cfg = OmegaConf.load(full / "config_resolved.yaml")
    dm = WindowDataModule(cfg.data, seed=42)
    dm.setup()
    with open(full / "fitted.pkl", "rb") as f:
        fitted = pickle.load(f)
    out = group_importance(
        fitted["baseline"],
        dm.part("test"),
        horizons=HORIZONS,
        n_repeats=3,
        n_boot=100,
        calibrators=fitted["calibrators"],
    )
    print(out)
    epi = out.filter(out["group"] == "epidemics")
    assert (epi["delta_lo"] > 0).all(), epi
