"""One small interface over the two ways to reach the hospital database.

``db`` is either a DuckDB file path (read with the duckdb python API, opened read-only) or a
SQLAlchemy URL (anything with ``://``, e.g. ``postgresql://user@host/db``). Queries are written
once with SQLAlchemy-style ``:name`` bind parameters; the DuckDB backend turns them into its own
``$name`` parameters. Values are always bound, never pasted into the SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import sqlalchemy as sa

from respicast.hospital.query import cast_date

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def is_url(db: str | Path) -> bool:
    return isinstance(db, str) and "://" in db


def describe(db: str | Path) -> str:
    """The database as it may appear in messages (password hidden)."""
    if is_url(db):
        return sa.make_url(db).render_as_string(hide_password=True)
    return str(db)


class Backend:
    """Runs parameterised queries; results come back as polars frames."""

    name: str

    def date_of(self, col: str) -> str:
        """SQL for the calendar date of a TIMESTAMP column."""
        return cast_date(col)

    def columns(self, table: str) -> set[str] | None:
        """Lower-cased column names of ``table``, or None when the table does not exist."""
        raise NotImplementedError

    def query(self, sql: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBBackend(Backend):
    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        if not Path(path).is_file():  # duckdb.connect would create an empty file
            raise FileNotFoundError(f"hospital database not found: {path}")
        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as err:
            raise ValueError(f"{path}: cannot open as a DuckDB database: {err}") from err
        self.con.execute("SET enable_progress_bar = false")  # no bar drawn over the logs

    def columns(self, table: str) -> set[str] | None:
        rows = self.con.execute(
            "SELECT lower(column_name) FROM information_schema.columns "
            "WHERE lower(table_name) = $t AND table_schema = current_schema()",
            {"t": table.lower()},
        ).fetchall()
        return {r[0] for r in rows} or None

    def query(self, sql: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
        used = set(_PARAM.findall(sql))  # duckdb refuses unused named parameters
        rel = self.con.execute(
            _PARAM.sub(r"$\1", sql), {k: v for k, v in params.items() if k in used}
        )
        rows = rel.fetchall()
        return pl.DataFrame(rows, schema=schema, orient="row")

    def close(self) -> None:
        self.con.close()


class SQLAlchemyBackend(Backend):
    def __init__(self, url: str) -> None:
        self.name = describe(url)
        try:
            self.engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
            raise ValueError(f"{self.name}: not a usable SQLAlchemy URL: {err}") from err

    def date_of(self, col: str) -> str:
        if self.engine.dialect.name == "sqlite":  # no DATE type: CAST(.. AS DATE) gives the year
            return f"date({col})"
        return cast_date(col)

    def columns(self, table: str) -> set[str] | None:
        inspector = sa.inspect(self.engine)
        if not inspector.has_table(table):
            return None
        return {c["name"].lower() for c in inspector.get_columns(table)}

    def query(self, sql: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
        # Typed binds and results let dialects without native dates (SQLite) convert them.
        types = {pl.Date: sa.Date(), pl.Int64: sa.BigInteger(), pl.Utf8: sa.String()}
        binds = [
            sa.bindparam(k, type_=sa.Date()) for k, v in params.items() if isinstance(v, dt.date)
        ]
        stmt = sa.text(sql).bindparams(*binds)
        stmt = stmt.columns(*(sa.column(k, types[t]) for k, t in schema.items()))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, params).fetchall()
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    def close(self) -> None:
        self.engine.dispose()


def open_backend(db: str | Path) -> Backend:
    return SQLAlchemyBackend(db) if is_url(db) else DuckDBBackend(db)
