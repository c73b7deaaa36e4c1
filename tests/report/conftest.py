import json
import math
from pathlib import Path

import polars as pl
import pytest
import yaml

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.synthetic import fake_predictions, split_frames

REF = {1: 0.15, 3: 0.15, 7: 0.15}


def make_run(
    run_dir: Path,
    model: str,
    *,
    noise: float,
    groups: str = "copd",
    oracle: float | None = 0.95,
    keep_positives: int | None = None,
    seed: int = 4,
) -> dict:
    """A run dir as respicast-train leaves it: metrics.json, predictions.parquet, .hydra/."""
    frame = fake_predictions(
        horizons=(1, 3, 7), days=500, val_days=250, noise=noise, model=model, seed=seed
    )
    val, test = split_frames(frame)
    if keep_positives is not None:  # thin out the test peaks to make a column unreliable
        test = test.with_columns(
            pl.when(pl.col("peak").cum_sum().over("horizon") <= keep_positives)
            .then(pl.col("peak"))
            .otherwise(0)
            .alias("peak")
        )
    result = evaluate_predictions(val, test, {"bootstrap": {"n": 20}}, REF)
    metrics = dict(result.metrics)
    if oracle is not None:
        metrics["oracle/auroc_h1"], metrics["oracle/brier_h1"] = oracle, 0.05
    (run_dir / ".hydra").mkdir(parents=True)
    clean = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in metrics.items()}
    (run_dir / "metrics.json").write_text(json.dumps(clean))
    pl.concat([result.val, result.test]).write_parquet(run_dir / "predictions.parquet")
    cfg = {"model": {"name": model}, "data": {"groups": groups}}
    (run_dir / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run_dir / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump([f"model={model}", f"data.groups={groups}"])
    )
    return {"metrics": metrics, "result": result}


@pytest.fixture(scope="session")
def run_factory():
    """make_run, for tests that build their own run dirs."""
    return make_run


@pytest.fixture(scope="session")
def three_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("multirun")
    made = {}
    for i, (model, noise) in enumerate([("lstm", 0.05), ("tcn", 0.15), ("climatology", 0.4)]):
        made[model] = make_run(root / str(i), model, noise=noise)
    return root, made
