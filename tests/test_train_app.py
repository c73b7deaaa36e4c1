"""respicast-train end to end on real public data (Chicago NMMAPS), kept small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from respicast.cli.train import train

SMALL = [
    "data=chicago_nmmaps",
    "logger=none",
    "extras.print_config=false",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=4",
    "+trainer.limit_val_batches=3",
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
]
PRED_COLUMNS = {
    "origin_date",
    "target_date",
    "horizon",
    "observed",
    "predicted",
    "peak",
    "peak_prob",
    "model",
}


@pytest.fixture
def run_app(compose_app):
    """Train in-process with the small settings above; returns the run's metrics."""

    def run(out_dir: Path, overrides: list[str]) -> dict:
        return train(compose_app("train", out_dir, [*SMALL, *overrides]))

    return run


@pytest.mark.parametrize("model", ["lstm", "cnn1d", "cnn_lstm", "tcn"])
def test_each_deep_model_writes_the_run_files(run_app, model, tmp_path):
    metrics = run_app(tmp_path, [f"model={model}"])
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test/auroc_h1", "test/brier_h1", "test/mae_h1", "test/auroc_h7", "test/n_pos_h1"):
        assert key in saved and saved[key] == pytest.approx(metrics[key], nan_ok=True)
    assert 0.0 <= saved["test/auroc_h1"] <= 1.0 and saved["test/mae_h1"] > 0
    pred = pl.read_parquet(tmp_path / "predictions.parquet")
    assert PRED_COLUMNS <= set(pred.columns)
    assert set(pred["model"].unique()) == {model} and set(pred["horizon"].unique()) == set(
        range(1, 8)
    )
    assert ((pred["target_date"] - pred["origin_date"]).dt.total_days() == pred["horizon"]).all()
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert (tmp_path / "config_resolved.yaml").exists() and (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    "model",
    [
        "climatology",
        "persistence",
        "logistic",
        "glm_dlnm",
        pytest.param("lightgbm_tsfel", marks=pytest.mark.slow),
    ],
)
def test_each_baseline_runs_through_the_same_app(run_app, model, tmp_path):
    metrics = run_app(tmp_path, [f"model={model}"])
    pred = pl.read_parquet(tmp_path / "predictions.parquet")
    assert PRED_COLUMNS <= set(pred.columns) and set(pred["model"].unique()) == {model}
    assert (
        0.5 < metrics["test/auroc_h1"] <= 1.0
    )  # every baseline ranks peaks better than chance here
    assert (tmp_path / "fitted.pkl").exists() and not (tmp_path / "checkpoints").exists()


def test_same_seed_same_metrics(run_app, tmp_path):
    scored = "evaluation.horizons=[1,3]"  # the horizons compared below
    a = run_app(tmp_path / "a", ["model=tcn", "seed=7", scored])
    b = run_app(tmp_path / "b", ["model=tcn", "seed=7", scored])
    assert a["test/auroc_h1"] == b["test/auroc_h1"] and a["test/mae_h3"] == b["test/mae_h3"]


def test_resumed_run_ends_like_an_uninterrupted_one(run_app, tmp_path):
    """Stop after epoch 1 (as a killed run leaves last.ckpt), resume to epoch 2: same metrics."""
    full = run_app(
        tmp_path / "full",
        [
            "model=lstm",
            "trainer.max_epochs=2",
            "evaluation.horizons=[1,7]",  # the horizons compared below
            "callbacks=none",
            "+callbacks.step_seed={_target_: respicast.utils.callbacks.StepSeed, seed: 42}",
            "+callbacks.last={_target_: lightning.pytorch.callbacks.ModelCheckpoint, dirpath: ${paths.output_dir}/checkpoints, save_last: true}",
        ],
    )
    common = [
        "model=lstm",
        "evaluation.horizons=[1,7]",
        "callbacks=none",
        "+callbacks.step_seed={_target_: respicast.utils.callbacks.StepSeed, seed: 42}",
        "+callbacks.last={_target_: lightning.pytorch.callbacks.ModelCheckpoint, dirpath: ${paths.output_dir}/checkpoints, save_last: true}",
    ]
    run_app(tmp_path / "first", [*common, "trainer.max_epochs=1"])
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = run_app(tmp_path / "resumed", [*common, "trainer.max_epochs=2", f"ckpt_path={last}"])
    for key in ("test/auroc_h1", "test/brier_h1", "test/mae_h7"):
        assert resumed[key] == pytest.approx(full[key], abs=1e-9), key


# slow: the README's small multirun runs verbatim in the fast suite (tests/test_readme_commands.py)
@pytest.mark.slow
def test_multirun_writes_one_run_dir_per_model(tmp_path):
    env = {**os.environ, "RESPICAST_ROOT": str(tmp_path)}
    cmd = [
        sys.executable,
        "-m",
        "respicast.cli.train",
        "-m",
        "model=lstm,tcn",
        *SMALL,
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = sorted((tmp_path / "sweep").glob("*/metrics.json"))
    assert len(runs) == 2
    models = {pl.read_parquet(r.parent / "predictions.parquet")["model"][0] for r in runs}
    assert models == {"lstm", "tcn"}


def test_simulated_world_run_reports_the_oracle_ceiling(run_app, tmp_path):
    """The default data path (world → readers → SQL → harmonise), on the 3-year world."""
    metrics = run_app(
        tmp_path / "run",
        # one horizon scored: the data path and the oracle, not each horizon's scores, are tested
        [
            "data=toulouse_sim_small",
            "model=logistic",
            f"paths.root_dir={tmp_path}",
            "evaluation.horizons=[1]",
        ],
    )
    assert (tmp_path / "outputs" / "data" / "world" / "small_seed2024" / "truth.parquet").exists()
    assert 0.6 < metrics["oracle/auroc_h1"] <= 1.0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "oracle" in report.lower()
    for picture in ("roc", "reliability", "confusion", "timeseries_h1"):
        assert (tmp_path / "run" / "plots" / f"{picture}.png").exists()
