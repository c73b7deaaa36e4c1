"""Fixtures of the cluster tests: a single-node SLURM cluster, a PostgreSQL server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _load(name: str, path: Path):
    """A helper module by path (tests/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def slurm():
    """A running single-node SLURM cluster (tests/cluster/slurm.py); skipped, with the reason,
    where this machine cannot run it (not root, no apt-get, slurmd cannot start)."""
    mod = _load("respicast_tests_slurm", HERE / "slurm.py")
    try:
        ctx = mod.slurm_cluster()
        cluster = ctx.__enter__()
    except mod.SlurmUnavailable as e:
        pytest.skip(f"no SLURM cluster on this machine: {e}")
    try:
        yield cluster
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster (tests/hospital/pgserver.py) for the session."""
    pg = _load("respicast_tests_pgserver", REPO / "tests" / "hospital" / "pgserver.py")
    with pg.temp_cluster(pg.bindir_or_stop()) as url:
        yield url
