"""Copy the hospital tables from a DuckDB file into another database (e.g. PostgreSQL)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import sqlalchemy as sa

from respicast.hospital.backend import describe
from respicast.hospital.schema import TABLES, sqlalchemy_table

log = logging.getLogger(__name__)

_BATCH = 50_000  # rows per INSERT batch: bounded memory on large worlds


def load_stays(source_db: str | Path, target_url: str, replace: bool = False) -> dict[str, int]:
    """Copy ``stays`` and ``associated_dx`` from the DuckDB file ``source_db`` into ``target_url``.

    The target tables are created with the documented schema. If they already exist the call
    fails unless ``replace`` is true (then they are dropped first). Returns rows copied per table.
    """
    source_db = Path(source_db)
    if not source_db.is_file():
        raise FileNotFoundError(f"hospital database not found: {source_db}")
    target = describe(target_url)
    engine = sa.create_engine(target_url)
    copied: dict[str, int] = {}
    try:
        with duckdb.connect(str(source_db), read_only=True) as src, engine.begin() as conn:
            metadata = sa.MetaData()
            for name, columns in TABLES.items():
                table = sqlalchemy_table(name, metadata)
                if sa.inspect(conn).has_table(name):
                    if not replace:
                        raise FileExistsError(
                            f"{target}: table {name!r} already exists (pass replace=True)"
                        )
                    table.drop(conn)
                table.create(conn)
                cols = ", ".join(columns)
                try:
                    cursor = src.execute(f"SELECT {cols} FROM {name}")  # fixed names, no input
                except duckdb.Error as err:  # missing table or column
                    raise LookupError(f"{source_db}: cannot read table {name!r}: {err}") from err
                copied[name] = 0
                while batch := cursor.fetchmany(_BATCH):
                    conn.execute(
                        table.insert(), [dict(zip(columns, row, strict=True)) for row in batch]
                    )
                    copied[name] += len(batch)
    finally:
        engine.dispose()
    log.info("copied %s from %s to %s", copied, source_db, target)
    return copied
