"""Optuna storage URLs shared by the sweeper (driver) and the trial processes.

Accepted forms:

- any SQLAlchemy URL Optuna's RDBStorage takes: ``sqlite:///multirun/x/optuna.db``,
  ``postgresql+psycopg2://user@host/db`` (keep passwords in ``~/.pgpass``, not in the URL: the URL
  travels as a Hydra override and lands in every job's ``.hydra/overrides.yaml``);
- ``journal:<path>`` for Optuna's JournalFileBackend (an append-only file; works on NFS/Lustre
  where SQLite locking does not), e.g. ``journal:///scratch/me/lstm.journal``.

Trial processes may run in another working directory (``hydra.job.chdir``) or on another node,
so the driver calls :func:`absolute_storage_url` once and hands that form to every trial.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "journal:"
# SQLite serializes writers; parallel trials (joblib) wait this long for the lock instead of
# failing with "database is locked".
SQLITE_TIMEOUT_S = 120


def _journal_path(url: str) -> str:
    path = url[len(JOURNAL_PREFIX) :]
    # journal:///abs/path -> /abs/path ; journal://rel -> rel ; journal:rel -> rel
    return path[2:] if path.startswith("//") else path


def absolute_storage_url(url: str, base_dir: str | os.PathLike[str] | None = None) -> str:
    """Return ``url`` with a relative SQLite or journal file path made absolute (from ``base_dir``,
    default the current directory); creates the file's parent folder. Server URLs pass through."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if url.startswith(JOURNAL_PREFIX):
        path = (base / _journal_path(url)).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"{JOURNAL_PREFIX}//{path}"
    if url.startswith("sqlite:"):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = (base / db).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            return parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def open_storage(url: str) -> BaseStorage:
    """Open the Optuna storage behind ``url`` (see module docstring for the accepted forms)."""
    import optuna

    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(_journal_path(url)))
    engine_kwargs = (
        {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    )
    return _rdb_storage(url, engine_kwargs)


def _rdb_storage(url: str, engine_kwargs: dict, attempts: int = 5) -> BaseStorage:
    """RDBStorage, retried when another worker is creating Optuna's tables at the same moment
    (PostgreSQL then reports a duplicate type or table); the second try finds them made."""
    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(1, attempts + 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except (IntegrityError, ProgrammingError) as e:
            if attempt == attempts:
                raise
            log.info(
                "Optuna schema being created by another worker (%s); retrying", type(e).__name__
            )
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
