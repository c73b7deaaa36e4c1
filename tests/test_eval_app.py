"""respicast-eval: rolling-origin backtest and checkpoint re-scoring, on Chicago NMMAPS."""

from __future__ import annotations

import json

import polars as pl
import pytest

from respicast.cli.evaluate import backtest, checkpoint
from respicast.cli.train import train
from respicast.trained_run import RunError

QUIET = [
    "logger=none",
    "extras.print_config=false",
    "evaluation.bootstrap.n=0",
    "data=chicago_nmmaps",
]
H13 = "evaluation.horizons=[1,3]"  # the horizons the checkpoint test compares


def test_backtest_refits_per_year_and_pools_out_of_sample(compose_app, tmp_path):
    # h1 scored (the horizon checked below): every fold scores and writes only it
    over = [*QUIET, "model=logistic", "backtest.first_test_year=1996", "evaluation.horizons=[1]"]
    cfg = compose_app("eval", tmp_path, over)
    metrics = backtest(cfg)
    assert metrics["backtest/n_folds"] == 5  # 1996 … 2000
    pred = pl.read_parquet(tmp_path / "predictions.parquet").filter(pl.col("split") == "test")
    # each fold tests its own year, no origin twice
    years = pred.group_by("fold").agg(pl.col("origin_date").dt.year().unique().alias("y"))
    assert sorted(len(y) for y in years["y"]) == [1] * 5
    assert pred.filter(pl.col("horizon") == 1)["origin_date"].is_unique().all()
    # pooled positives = the folds' positives
    folds = sum(metrics[f"fold{k}/n_pos_h1"] for k in range(5))
    assert metrics["test/n_pos_h1"] == folds > 20
    # a fold's model never saw its test year: its validation part ends before the test year
    val = pl.read_parquet(tmp_path / "predictions.parquet").filter(pl.col("split") == "val")
    per_fold = (
        val.group_by("fold")
        .agg(pl.col("target_date").max().alias("last_val"))
        .join(pred.group_by("fold").agg(pl.col("origin_date").min().alias("first_test")), on="fold")
    )
    assert (per_fold["last_val"] < per_fold["first_test"]).all()
    assert 0.5 < metrics["test/auroc_h1"] <= 1.0


def test_checkpoint_mode_reproduces_the_run_and_refuses_other_data(compose_app, tmp_path):
    run = tmp_path / "run"
    cfg = compose_app(
        "train",
        run,
        [
            *QUIET,
            "model=tcn",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=3",
            "+trainer.enable_progress_bar=false",
            H13,
        ],
    )
    trained = train(cfg)
    cfg = compose_app(
        "eval", tmp_path / "eval", [*QUIET[:3], "mode=checkpoint", f"run_dir={run}", H13]
    )
    again = checkpoint(cfg)
    assert again["test/auroc_h1"] == pytest.approx(trained["test/auroc_h1"], abs=1e-9)
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())[
        "test/brier_h3"
    ] == pytest.approx(trained["test/brier_h3"])
    cfg = compose_app(
        "eval", tmp_path / "bad", [*QUIET, "mode=checkpoint", f"run_dir={run}", "data.lookback=14"]
    )
    with pytest.raises(RunError, match="data.lookback: trained 28 vs requested 14"):
        checkpoint(cfg)


def test_checkpoint_mode_importance_by_group(compose_app, tmp_path):
    run = tmp_path / "run"
    h1 = "evaluation.horizons=[1]"  # the horizon checked below
    train(compose_app("train", run, [*QUIET, "model=logistic", h1]))
    cfg = compose_app(
        "eval", tmp_path / "eval",
        [*QUIET[:3], "mode=checkpoint", f"run_dir={run}", "importance=groups", "importance_repeats=2", h1],
    )  # fmt: skip
    metrics = checkpoint(cfg)
    imp = pl.read_csv(tmp_path / "eval" / "importance_groups.csv")
    assert {"history", "weather", "pollution", "calendar"} <= set(imp["group"])
    assert metrics["importance/history/delta_auroc_h1"] == pytest.approx(
        imp.filter((pl.col("group") == "history") & (pl.col("horizon") == 1))["delta"][0]
    )
    # the model leans on the admissions history more than on anything else
    h1 = imp.filter(pl.col("horizon") == 1).sort("delta", descending=True)
    assert h1["group"][0] == "history" and h1["delta"][0] > 0.02
