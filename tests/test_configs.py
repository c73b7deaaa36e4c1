"""Every option of every config group composes, and what it describes instantiates."""

from __future__ import annotations

from pathlib import Path

import hydra
import pytest
from omegaconf import open_dict

from respicast.cli import CONFIG_DIR
from respicast.models.dims import Dims
from respicast.training import instantiate_model
from respicast.utils.instantiate import instantiate_named

CONF = Path(CONFIG_DIR)
# groups whose options are composed into train.yaml (hydra/* groups checked separately)
TRAIN_GROUPS = [
    "data",
    "model",
    "evaluation",
    "trainer",
    "logger",
    "callbacks",
    "debug",
    "experiment",
    "hparams_search",
]


def options(group: str) -> list[str]:
    folder = CONF / group
    return (
        sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("_"))
        if folder.is_dir()
        else []
    )


CASES = [(g, o) for g in TRAIN_GROUPS for o in options(g)]


def test_every_group_has_options():
    for group in ["data", "model", "trainer", "logger", "callbacks", "debug"]:
        assert options(group), f"conf/{group}/ is empty"
    assert {"lstm", "cnn1d", "cnn_lstm", "tcn"} <= set(options("model"))
    assert {"cpu", "gpu", "ddp"} <= set(options("trainer"))
    assert {"wandb", "csv", "none"} <= set(options("logger"))
    assert {"fast", "overfit", "profiler"} <= set(options("debug"))


@pytest.mark.parametrize("group, option", CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_option_composes_and_instantiates(compose_app, group, option, tmp_path):
    cfg = compose_app("train", tmp_path, [f"{group}={option}", f"paths.root_dir={tmp_path}"])
    # trainer: instantiate on CPU whatever the preset asks (no GPU here)
    with open_dict(cfg):
        cfg.trainer.accelerator = "cpu"
        cfg.trainer.devices = 1
        cfg.trainer.pop("strategy", None)
        cfg.trainer.pop("sync_batchnorm", None)
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
    assert trainer.max_epochs is not None or trainer.fast_dev_run
    loggers = instantiate_named(cfg.get("logger"), "logger")
    for lg in loggers:
        assert Path(lg.save_dir).is_relative_to(tmp_path)
    callbacks = instantiate_named(cfg.get("callbacks"), "callback")
    assert all(hasattr(c, "on_train_epoch_start") for c in callbacks)
    dims = Dims(
        lookback=cfg.data.lookback, horizon=cfg.data.horizon, n_past=3, n_future=2, has_history=True
    )
    model = instantiate_model(cfg.model, dims)
    assert model.name == cfg.model.name
    for key in ("name", "horizon", "lookback", "groups", "peak", "split"):
        assert key in cfg.data, f"data={cfg.data.name} lacks {key}"
    assert isinstance(cfg.optimized_metric, str) and "/" in cfg.optimized_metric


@pytest.mark.parametrize("group", ["hydra/launcher", "hydra/sweeper"])
def test_hydra_plugin_presets_compose(compose_app, group, tmp_path):
    for option in options(group):
        cfg = compose_app("train", tmp_path, [f"{group}={option}"])
        node = cfg.hydra.launcher if group.endswith("launcher") else cfg.hydra.sweeper
        assert "_target_" in node, f"{group}={option}"


def test_unknown_option_and_misspelled_key_fail_before_work(compose_app, tmp_path):
    with pytest.raises(Exception, match="model"):
        compose_app("train", tmp_path, ["model=lstmm"])
    with pytest.raises(Exception, match="hiden_size"):
        compose_app("train", tmp_path, ["model.net.hiden_size=3"])
