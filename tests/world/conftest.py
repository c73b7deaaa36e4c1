from __future__ import annotations

import pytest

from respicast.cli import CONFIG_DIR
from respicast.world import load_world_config, simulate


@pytest.fixture(scope="session")
def small_cfg() -> dict:
    return load_world_config("small", CONFIG_DIR)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory, small_cfg):
    """The 3-year `small` world, simulated once per session."""
    return simulate(small_cfg, tmp_path_factory.mktemp("small_world"))
