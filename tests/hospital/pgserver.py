"""A throw-away PostgreSQL cluster from the Debian server binaries, for the postgres tests."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"


def find_bindir(pattern: str = DEBIAN_BINDIRS) -> Path | None:
    """Directory with initdb and pg_ctl: $PG_BINDIR, then the newest Debian one, then PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob(pattern), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def bindir_or_stop(pattern: str = DEBIAN_BINDIRS) -> Path:
    """The binaries, or a test failure under CI (the CI variable set) and a skip elsewhere."""
    bindir = find_bindir(pattern)
    if bindir is None:
        message = (
            f"PostgreSQL server binaries (initdb, pg_ctl) not found under {pattern}, $PG_BINDIR "
            "or PATH; install them with `apt-get install -y postgresql`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return bindir


@contextlib.contextmanager
def temp_cluster(bindir: Path) -> Iterator[str]:
    """initdb + start on a unix socket in a fresh temp dir; yields a SQLAlchemy URL; stops and
    removes everything on exit. As root the server runs as the `postgres` system user."""
    workdir = Path(tempfile.mkdtemp(prefix="respicast-pg-"))  # short: socket paths are limited
    as_user: list[str] = []
    log_file, data = workdir / "server.log", workdir / "data"

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            server_log = log_file.read_text() if log_file.exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}\n{server_log}")

    try:
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                pg_user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root but there is no 'postgres' system user for the server")
            os.chown(workdir, pg_user.pw_uid, pg_user.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        run(*initdb, "-E", "UTF8", "--locale=C")
        # No TCP listener: the socket lives in workdir, so parallel runs cannot collide.
        port = 5432
        options = f"-p {port} -k {workdir} -c listen_addresses='' -c fsync=off"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
        run(*pg_ctl, "-l", str(log_file), "-o", options, "-w", "-t", "60", "start")
        try:
            yield f"postgresql+psycopg2://postgres@/postgres?host={workdir}&port={port}"
        finally:
            subprocess.run(
                [*as_user, *pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=120
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
