"""Ablation report on hand-made run dirs: pairing by seed, signs, CIs, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from omegaconf import OmegaConf
from scipy import special

from respicast.evaluation.synthetic import fake_predictions
from respicast.report.ablation import ablation_deltas, load_ablation_runs, run_ablation_report

BASE = fake_predictions(days=600, val_days=250, noise=0.05, model="logistic", seed=1)


def make_run(root: Path, num: int, variant: str, seed: int, logit_noise: float) -> Path:
    """A run dir like respicast-train leaves in an ablation multirun; its probabilities are the
    shared base ones blurred on the logit scale (more blur = a worse variant)."""
    rng = np.random.default_rng(1000 * num + seed)
    logit = special.logit(np.clip(BASE["peak_prob"].to_numpy(), 1e-6, 1 - 1e-6))
    frame = BASE.with_columns(
        peak_prob=pl.Series(special.expit(logit + rng.normal(0, logit_noise, BASE.height)))
    )
    run = root / f"{num}_{variant}_seed{seed}"
    (run / ".hydra").mkdir(parents=True)
    frame.write_parquet(run / "predictions.parquet")
    (run / "metrics.json").write_text('{"test/n_pos_h1": 40}')
    (run / ".hydra" / "config.yaml").write_text(
        yaml.safe_dump({"model": {"name": "logistic"}, "seed": seed})
    )
    (run / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump(
            [f"ablation.variant={variant}", f"seed={seed}", "experiment=ablation_groups"]
        )
    )
    return run


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ablation_sweep")
    num = 0
    for variant, noise in [("full", 0.3), ("drop_useless", 0.3), ("drop_useful", 2.5)]:
        for seed in (42, 43):
            make_run(root, num, variant, seed, noise)
            num += 1
    make_run(root, num, "drop_useful", 99, 2.5)  # no full run with seed 99: left out
    return root


def test_runs_are_labelled_by_variant_and_seed(sweep):
    runs = load_ablation_runs(sweep)
    assert len(runs) == 7
    assert {(r.variant, r.seed) for r in runs} >= {
        ("full", "42"),
        ("drop_useful", "43"),
        ("drop_useful", "99"),
    }
    assert {r.model for r in runs} == {"logistic"}


def test_deltas_separate_a_useful_group_from_a_useless_one(sweep):
    table = ablation_deltas(load_ablation_runs(sweep), horizons=[1, 3], n_boot=100)
    assert table.height == 4 and set(table["variant"]) == {"drop_useless", "drop_useful"}
    row = {(r["variant"], r["horizon"]): r for r in table.iter_rows(named=True)}
    for h in (1, 3):
        useful, useless = row[("drop_useful", h)], row[("drop_useless", h)]
        assert useful["n_seeds"] == 2  # seed 99 had no full run to pair with
        assert useful["dauroc_hi"] < 0 and useful["dbrier_lo"] > 0  # worse than full, CI clear of 0
        assert useless["dauroc_lo"] < 0 < useless["dauroc_hi"]
        assert useful["dauroc"] == pytest.approx(useful["auroc"] - useful["auroc_ref"], abs=1e-9)
        assert np.isfinite(useful["dauroc_seed_sd"])


def test_missing_reference_is_an_error(sweep):
    with pytest.raises(ValueError, match="no 'baseline' run"):
        ablation_deltas(load_ablation_runs(sweep), reference="baseline", n_boot=0)


def test_report_writes_table_and_plot(sweep, tmp_path):
    cfg = OmegaConf.create(
        {
            "runs": str(sweep),
            "reference": "full",
            "horizons": [1, 7],
            "bootstrap": {"n": 50, "seed": 0, "level": 0.9},
        }
    )
    paths = run_ablation_report(cfg, tmp_path)
    assert all(p.exists() for p in paths.values())
    csv = pl.read_csv(paths["csv"])
    assert {
        "variant",
        "horizon",
        "dauroc",
        "dauroc_lo",
        "dauroc_hi",
        "dbrier",
        "dbrier_lo",
        "dbrier_hi",
    } <= set(csv.columns)
    md = paths["md"].read_text()
    assert "drop_useful" in md and "worse than full" in md and "ΔAUROC" in md
    assert paths["png"].stat().st_size > 5000
