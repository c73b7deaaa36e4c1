"""Fixtures: hand-built hospital databases and a throw-away PostgreSQL server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


def _pg_bindir() -> Path | None:
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh PostgreSQL cluster (unix socket in a temp dir), stopped at the end.

    Missing binaries: fail when the CI variable is set, skip otherwise.
    """
    bindir = _pg_bindir()
    if bindir is None:
        message = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin, "
            "$PG_BINDIR or PATH; install them with `apt-get install -y postgresql`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="respicast-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(workdir)
            pytest.fail("running as root but no 'postgres' system user to run the server")
        os.chown(workdir, pg_user.pw_uid, pg_user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log_text = (
                (workdir / "server.log").read_text() if (workdir / "server.log").exists() else ""
            )
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}\n{log_text}")

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
    )
    options = f"-p {port} -k {workdir} -c listen_addresses='' -c fsync=off"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(workdir / "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    try:
        yield f"postgresql+psycopg2://postgres@/postgres?host={workdir}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(workdir, ignore_errors=True)
