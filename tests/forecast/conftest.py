"""One tiny trained run on real public data (Chicago NMMAPS), shared by the forecast tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

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


@pytest.fixture(scope="session")
def train_fn(compose_app):
    """Train a tiny run into `out` and return the run dir."""

    def train_run(out: Path, overrides: list[str], model: dict | None = None) -> Path:
        from respicast.cli.train import train

        cfg = compose_app("train", out, [*TINY, *overrides])
        if model is not None:
            with open_dict(cfg):
                cfg.model = model
        train(cfg)
        GlobalHydra.instance().clear()
        return out

    return train_run


@pytest.fixture(scope="session")
def lstm_run(tmp_path_factory, train_fn) -> Path:
    return train_fn(tmp_path_factory.mktemp("lstm_run"), ["model=lstm"])


@pytest.fixture(scope="session")
def chicago_table(lstm_run):
    from omegaconf import OmegaConf

    from respicast.harmonize import build_daily_table

    return build_daily_table(OmegaConf.load(lstm_run / "config_resolved.yaml").data)
