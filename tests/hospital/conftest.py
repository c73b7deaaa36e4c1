"""Fixtures: hand-built hospital databases and a throw-away PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .pgserver import bindir_or_stop, temp_cluster
from .worlds import write_world

ZONES_CSV = """zone,zone_name,postcode,population,lat,lon
toulouse,Toulouse,31000,480000,43.60,1.44
toulouse,Toulouse,31100,480000,43.58,1.40
foix,Foix,09000,9600,42.96,1.61
"""


@pytest.fixture
def zones_csv(tmp_path: Path) -> Path:
    path = tmp_path / "zones.csv"
    path.write_text(ZONES_CSV)
    return path


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_world(stays, name="stays.duckdb") -> path``."""

    def make(stays: list[dict], name: str = "stays.duckdb") -> Path:
        return write_world(tmp_path / name, stays)

    return make


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL cluster for the session (see pgserver.py).

    Missing server binaries: the tests fail when the CI variable is set, and skip otherwise.
    """
    with temp_cluster(bindir_or_stop()) as url:
        yield url
