"""One tiny trained run on real public data (Chicago NMMAPS), shared by the forecast tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from respicast.cli import CONFIG_DIR

TINY = [
    "data=chicago_nmmaps",
    "logger=none",
    "extras.print_config=false",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_val_batches=3",
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
]
ASOF = "1999-03-10"  # inside the test period (1998-2000)


def train_run(out: Path, overrides: list[str], model: dict | None = None) -> Path:
    from respicast.cli.train import train

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        cfg.hydra.runtime.output_dir = str(out)
        cfg.hydra.job.num = 0
        if model is not None:
            cfg.model = model
    HydraConfig().set_config(cfg)
    train(cfg)
    GlobalHydra.instance().clear()
    return out


@pytest.fixture(scope="session")
def train_fn():
    return train_run


@pytest.fixture(scope="session")
def lstm_run(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("lstm_run"), ["model=lstm"])


@pytest.fixture(scope="session")
def chicago_table(lstm_run):
    from omegaconf import OmegaConf

    from respicast.harmonize import build_daily_table

    return build_daily_table(OmegaConf.load(lstm_run / "config_resolved.yaml").data)
