"""Runs are traceable: the W&B offline run and the CSV logger carry the composed config, flattened,
and a run name, group and tags that say which model, data, seed and sweep the run is."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict, read_write

from respicast.cli.train import train
from respicast.utils.tracking import flat_config, logger_config, run_identity

TINY = [
    "data=chicago_nmmaps",
    "extras.print_config=false",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=2",
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
]
KEYS = ("model.name", "data.lookback", "data.groups", "seed")


def read_wandb_records(run_file: Path) -> list:
    """The records of an offline run's .wandb file (LevelDB log format: 32 KiB blocks of chunks,
    each with a 7-byte header crc32c/length/type; wandb's own 7-byte file header first)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, chunks, records = run_file.read_bytes(), 7, b"", []
    assert data[:4] == b":W&B", f"{run_file} is not a W&B run file"
    while pos + 7 <= len(data):
        room = 32768 - pos % 32768
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7]) if room >= 7 else (0, 0, 0)
        if room < 7 or (length == 0 and kind == 0):  # block trailer or padding
            pos += room
            continue
        chunks += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST chunk: one record complete
            record = pb.Record()
            record.ParseFromString(chunks)
            records.append(record)
            chunks = b""
    return records


def wandb_run(out_dir: Path) -> tuple[object, dict]:
    """The offline run's run record and its config as {key: value}."""
    import json

    (run_file,) = out_dir.glob("wandb/offline-run-*/run-*.wandb")
    records = read_wandb_records(run_file)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    config = {
        item.key: json.loads(item.value_json)
        for r in records
        if r.WhichOneof("record_type") == "config"
        for item in r.config.update
    }
    return run, config


def test_flat_config_has_dotted_keys_and_no_hydra_node(compose_app, tmp_path):
    cfg = compose_app("train", tmp_path, ["data=chicago_nmmaps", "model=lstm", "seed=3"])
    flat = flat_config(cfg)
    assert flat["model.name"] == "lstm" and flat["seed"] == 3
    assert flat["data.lookback"] == cfg.data.lookback and flat["data.groups"] == list(
        cfg.data.groups
    )
    assert flat["paths.output_dir"] == str(tmp_path)  # interpolations resolved
    assert not any(k.startswith("hydra.") for k in flat)
    assert not any(isinstance(v, dict) and v for v in flat.values())


def test_run_name_group_and_tags_for_single_multirun_and_optuna(compose_app, tmp_path):
    cfg = compose_app("train", tmp_path, ["data=chicago_nmmaps", "model=tcn", "seed=7"])
    single = run_identity(cfg)
    assert single.name == "tcn-chicago_nmmaps-s7" and single.group == "chicago_nmmaps"
    assert single.tags == (*cfg.tags, "tcn", "chicago_nmmaps")

    with open_dict(cfg), read_write(cfg.hydra):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.sweep.dir = str(tmp_path / "multiruns" / "2026-01-02_03-04-05")
        cfg.hydra.job.num = 4
    HydraConfig().set_config(cfg)
    job = run_identity(cfg)
    assert job.name == "tcn-chicago_nmmaps-s7-j4" and job.group == "train-2026-01-02_03-04-05"

    with open_dict(cfg):
        cfg.optuna_trial = {"storage": "sqlite:///x.db", "study": "tcn_study", "number": 11}
    trial = run_identity(cfg)
    assert trial.name == "tcn-chicago_nmmaps-s7-t11" and trial.group == "tcn_study"


def test_a_name_set_in_the_logger_config_wins(compose_app, tmp_path):
    cfg = compose_app("train", tmp_path, ["logger=default", "logger.wandb.name=my_run"])
    loggers = logger_config(cfg, run_identity(cfg))
    assert loggers.wandb.name == "my_run"
    assert loggers.wandb.group == cfg.data.name and "dev" in loggers.wandb.tags
    assert loggers.csv.name == "csv"  # the CSV logger's subfolder, not the run name


def test_offline_wandb_run_and_csv_hparams_hold_the_config(compose_app, tmp_path, monkeypatch):
    """A deep model through respicast-train's code path, both loggers on (logger=default)."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = compose_app("train", tmp_path, [*TINY, "model=lstm", "logger=default", "seed=5"])
    train(cfg)
    expected = {"model.name": "lstm", "data.lookback": cfg.data.lookback, "seed": 5}
    expected["data.groups"] = list(cfg.data.groups)

    run, config = wandb_run(tmp_path)
    for key in KEYS:
        assert config[key] == expected[key], key
    assert run.display_name == "lstm-chicago_nmmaps-s5" and run.run_group == "chicago_nmmaps"
    assert {"dev", "lstm", "chicago_nmmaps"} <= set(run.tags)

    (hparams_file,) = tmp_path.glob("csv/version_*/hparams.yaml")
    hparams = yaml.safe_load(hparams_file.read_text())
    for key in KEYS:
        assert hparams[key] == expected[key], key
    # config only: every logged key is a config key or the run's identity, never data
    allowed = set(flat_config(cfg)) | {"run.name", "run.group", "run.tags"}
    assert set(hparams) <= allowed and set(config) - {"_wandb"} <= allowed


def test_a_baseline_without_trainer_still_writes_csv_hparams_and_metrics(compose_app, tmp_path):
    cfg = compose_app("train", tmp_path, [*TINY, "model=climatology", "logger=csv"])
    metrics = train(cfg)
    (version,) = tmp_path.glob("csv/version_*")
    hparams = yaml.safe_load((version / "hparams.yaml").read_text())
    assert hparams["model.name"] == "climatology" and hparams["run.group"] == "chicago_nmmaps"
    header = (version / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "test/auroc_h1" in header and metrics["test/auroc_h1"] > 0


# slow: a subprocess multirun; run_identity's multirun naming has a fast unit test above
@pytest.mark.slow
def test_multirun_jobs_share_a_group_and_are_named_by_job(tmp_path):
    env = {**os.environ, "RESPICAST_ROOT": str(tmp_path)}
    cmd = [
        sys.executable,
        "-m",
        "respicast.cli.train",
        "-m",
        "model=climatology,persistence",
        *TINY,
        "logger=csv",
        f"hydra.sweep.dir={tmp_path}/sweep_x",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = {}
    for f in sorted((tmp_path / "sweep_x").glob("*/csv/version_*/hparams.yaml")):
        h = yaml.safe_load(f.read_text())
        runs[h["run.name"]] = h["run.group"]
    assert runs == {
        "climatology-chicago_nmmaps-s42-j0": "train-sweep_x",
        "persistence-chicago_nmmaps-s42-j1": "train-sweep_x",
    }


def test_no_logger_no_tracking_files(compose_app, tmp_path):
    cfg = compose_app("train", tmp_path, [*TINY, "model=climatology", "logger=none"])
    train(cfg)
    assert not (tmp_path / "csv").exists() and not (tmp_path / "wandb").exists()
