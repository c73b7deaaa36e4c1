"""RunDir owns the run dir: its file names, their formats, and the config reading order."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import polars as pl
import pytest
from omegaconf import OmegaConf

import respicast
from respicast.run_dir import RunDir, RunError

SRC = Path(respicast.__file__).parent

# file names of a run dir (docs/architecture.md §5-6) and of what the apps write into theirs
FILE_NAMES = (
    "metrics.json",
    "predictions.parquet",
    "predictions_quantiles.parquet",
    "fitted.pkl",
    "config_resolved.yaml",
    "overrides.yaml",
    "last.ckpt",
    "refit.ckpt",
    "importance_groups.csv",
    "metrics.csv",
    "learning_curves.png",
    "report.md",
    "report.html",
    "forecast.json",
    "forecast.csv",
    "forecast.html",
    "comparison.md",
    "comparison.csv",
    "comparison.html",
    "ablation.md",
    "ablation.csv",
    "ablation.html",
    "ablation.png",
)
DIR_NAMES = ("checkpoints", ".hydra", "plots", "fold_")
FILE_RE = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, FILE_NAMES)) + r")(?!\w)")
# a folder alone, or as a path to a file in it; "plots/" alone is a W&B key prefix, not a path
DIR_RE = re.compile(r"(?:^|/)(" + "|".join(map(re.escape, DIR_NAMES)) + r")(?:$|/[^/{]*\.\w+$)")
# modules of other parts of issue 14 still spelling run-dir names; each leaves this list when migrated
PENDING: set[str] = set()  # modules allowed to spell names until they are migrated


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def run_dir_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string literal naming a run-dir file or folder (docstrings aside)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if FILE_RE.search(node.value) or DIR_RE.search(node.value):
                hits.append((node.lineno, node.value))
    return hits


def test_the_scan_finds_what_it_must():
    code = 'p = d / "metrics.json"\nq = d / f"fold_{k}" / "checkpoints"\nr = d / ".hydra" / "x"\ns = "plots/roc.png"\n'
    found = {v for _, v in run_dir_literals(code)}
    assert found == {"metrics.json", "fold_", "checkpoints", ".hydra", "plots/roc.png"}
    quiet = (
        '"""Reads metrics.json."""\nx = "conf/forecast.yaml"\ny = f"plots/{name}"\nz = "fold{k}/"\n'
    )
    assert run_dir_literals(quiet) == []


def test_no_module_but_run_dir_spells_a_run_dir_file_name():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "run_dir.py" or rel in PENDING:
            continue
        hits = run_dir_literals(path.read_text(encoding="utf-8"))
        if hits:
            found[rel] = hits
    assert not found, f"run-dir file names outside respicast/run_dir.py: {found}"


def test_pending_modules_still_need_their_entry():
    for rel in PENDING:
        assert run_dir_literals((SRC / rel).read_text(encoding="utf-8")), (
            f"{rel}: drop it from PENDING"
        )


def test_metrics_round_trip_with_nan_as_null(tmp_path):
    rd = RunDir(tmp_path / "run")
    path = rd.write_metrics({"test/auroc_h1": 0.75, "test/brier_h1": float("nan"), "n": 3})
    assert path == tmp_path / "run" / "metrics.json"
    assert json.loads(path.read_text()) == {"n": 3, "test/auroc_h1": 0.75, "test/brier_h1": None}
    assert list(json.loads(path.read_text())) == sorted(json.loads(path.read_text()))
    assert rd.read_metrics()["test/brier_h1"] is None


def test_bad_metrics_json_names_the_file(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"metrics\.json: not valid JSON"):
        RunDir(tmp_path).read_metrics()


def test_predictions_fitted_and_layout(tmp_path):
    rd = RunDir(tmp_path)
    assert rd.read_predictions() is None and not rd.has_fitted()
    frame = pl.DataFrame({"horizon": [1, 2], "predicted": [1.5, math.inf]})
    rd.write_predictions(frame)
    assert rd.read_predictions().equals(frame)
    rd.write_fitted({"thresholds": {1: 0.3}})
    assert rd.read_fitted() == {"thresholds": {1: 0.3}}
    assert rd.fold(2).checkpoints == tmp_path / "fold_2" / "checkpoints"
    assert rd.last_checkpoint == tmp_path / "checkpoints" / "last.ckpt"
    assert rd.plot("roc") == tmp_path / "plots" / "roc.png"
    assert [p.name for p in rd.forecast_files().values()] == [
        "forecast.json",
        "forecast.csv",
        "forecast.html",
    ]
    assert RunDir.of_checkpoint(rd.last_checkpoint) == rd


def test_config_order_resolved_first_then_hydra(tmp_path):
    rd = RunDir(tmp_path)
    assert rd.read_config() is None
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("model:\n  name: from_hydra\n")
    assert rd.read_config().model.name == "from_hydra"
    rd.write_config(OmegaConf.create({"model": {"name": "resolved", "x": "${model.name}"}}))
    cfg = rd.read_config()
    assert cfg.model.name == "resolved" and "${" not in rd.config_file.read_text()


def test_find_runs_in_path_order_once(tmp_path):
    for rel in ("b", "a", "a/inner"):
        RunDir(tmp_path / rel).write_metrics({})
    (tmp_path / "empty").mkdir()
    found = RunDir.find([tmp_path, tmp_path / "a"])
    assert [r.path.relative_to(tmp_path).as_posix() for r in found] == ["a", "a/inner", "b"]
    with pytest.raises(FileNotFoundError, match="no metrics.json under"):
        RunDir.find([tmp_path / "empty"])


def test_checkpoint_best_last_and_missing(tmp_path):
    import torch

    rd = RunDir(tmp_path / "moved")
    with pytest.raises(RunError, match=r"no checkpoints/last\.ckpt"):
        rd.checkpoint("last")
    with pytest.raises(RunError, match="without any checkpoint"):
        rd.checkpoint()
    rd.checkpoints.mkdir(parents=True)
    for name in ("epoch_001.ckpt", "epoch_004.ckpt"):
        (rd.checkpoints / name).write_bytes(b"")
    assert rd.checkpoint().name == "epoch_004.ckpt"  # no last.ckpt: the newest epoch
    # last.ckpt records the best under the run's old location: found in the moved dir
    old = "/elsewhere/checkpoints/epoch_001.ckpt"
    torch.save({"callbacks": {"ModelCheckpoint{x}": {"best_model_path": old}}}, rd.last_checkpoint)
    assert rd.checkpoint() == rd.checkpoints / "epoch_001.ckpt"
    assert rd.checkpoint("last") == rd.last_checkpoint
