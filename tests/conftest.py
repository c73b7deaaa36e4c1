"""Shared fixtures: a small synthetic daily table with a planted lagged covariate effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from respicast.cli import CONFIG_DIR
from respicast.table import Column, DailyTable


def make_table(n_days: int = 1200, seed: int = 0, effect: float = 0.4) -> DailyTable:
    rng = np.random.default_rng(seed)
    dates = pl.date_range(
        pl.date(2015, 1, 1), pl.date(2015, 1, 1) + pl.duration(days=n_days - 1), eager=True
    )
    t = np.arange(n_days)
    pm = rng.normal(size=n_days)
    lam = 5 * np.exp(0.3 * np.cos(2 * np.pi * t / 365.25) + effect * np.roll(pm, 2))
    frame = pl.DataFrame(
        {
            "date": dates,
            "admissions": rng.poisson(lam),
            "pm25": pm,
            "pm25_filled": rng.random(n_days) < 0.05,
            "temp": 10 + 8 * np.sin(2 * np.pi * t / 365.25) + rng.normal(size=n_days),
            "dow_sin": np.sin(2 * np.pi * t / 7),
            "dow_cos": np.cos(2 * np.pi * t / 7),
        }
    )
    columns = [
        Column("pm25", "pollution", mask="pm25_filled"),
        Column("temp", "weather"),
        Column("dow_sin", "calendar", known_future=True),
        Column("dow_cos", "calendar", known_future=True),
    ]
    return DailyTable(frame=frame, target="admissions", columns=columns, meta={"name": "synthetic"})


DATA_CFG = {
    "name": "synthetic",
    "lookback": 28,
    "horizon": 7,
    "groups": ["history", "pollution", "weather", "calendar"],
    "peak": {"method": "trailing_quantile", "q": 0.9, "window_days": 365, "min_periods": 180},
    "split": {"val_fraction": 0.15, "test_fraction": 0.2},
    "batch_size": 64,
}


@pytest.fixture(name="make_table")
def make_table_fixture():
    return make_table


@pytest.fixture
def table() -> DailyTable:
    return make_table()


@pytest.fixture
def data_cfg() -> dict:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in DATA_CFG.items()}


# a run of a few batches on the suite's shared small world (outputs/, simulated once under a
# lock): the data config comes first so a test can swap it
TINY_RUN = [
    "data=toulouse_sim_small",
    "logger=none",
    "extras.print_config=false",
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_val_batches=2",
    "+trainer.enable_progress_bar=false",
]


@pytest.fixture(scope="session")
def tiny_run() -> list[str]:
    return list(TINY_RUN)


def compose_app(name: str, out_dir: Path, overrides: list[str]) -> DictConfig:
    """A Hydra app's config as its main() would see it, with the run dir at out_dir."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out_dir)
        cfg.paths.log_dir = str(out_dir)
        cfg.hydra.runtime.output_dir = str(out_dir)
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture(name="compose_app", scope="session")
def compose_app_fixture():
    return compose_app
