"""The same counts through SQLAlchemy URLs: SQLite (always) and a real PostgreSQL server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from respicast.hospital import daily_counts, load_stays

from .cases import mixed_stays
from .pgserver import bindir_or_stop


def _compare_with_duckdb(world, url, zones_csv):
    copied = load_stays(world, url, replace=True)
    stays = mixed_stays()
    assert copied == {
        "stays": len(stays),
        "associated_dx": sum(len(s["associated"]) for s in stays),
    }
    reference = daily_counts(world, zones_csv)
    assert reference["count"].sum() > 0
    assert_frame_equal(daily_counts(url, zones_csv), reference)
    window = {"start": "2021-01-05", "end": "2021-02-05"}
    assert_frame_equal(
        daily_counts(url, zones_csv, **window), daily_counts(world, zones_csv, **window)
    )


def test_sqlite_url_matches_duckdb(make_world, zones_csv, tmp_path):
    _compare_with_duckdb(make_world(mixed_stays()), f"sqlite:///{tmp_path / 'h.sqlite'}", zones_csv)


def test_load_stays_refuses_to_overwrite(make_world, tmp_path):
    world, url = make_world(mixed_stays()), f"sqlite:///{tmp_path / 'h.sqlite'}"
    load_stays(world, url)
    with pytest.raises(FileExistsError, match="table 'stays' already exists"):
        load_stays(world, url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stays")).scalar_one() == len(
            mixed_stays()
        )
    engine.dispose()


def test_unreachable_url_is_a_clear_error(zones_csv):
    url = "postgresql+psycopg2://someone:hunter2@/nodb?host=/nonexistent-socket-dir"
    with pytest.raises(ConnectionError, match="someone:\\*\\*\\*@") as err:
        daily_counts(url, zones_csv)
    assert "hunter2" not in str(err.value)


@pytest.mark.postgres
def test_postgres_matches_duckdb(make_world, zones_csv, postgres_url):
    _compare_with_duckdb(make_world(mixed_stays()), postgres_url, zones_csv)


@pytest.mark.postgres
def test_postgres_missing_table_is_a_clear_error(zones_csv, postgres_url):
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS associated_dx"))
    engine.dispose()
    with pytest.raises(LookupError, match="table 'associated_dx' not found"):
        daily_counts(postgres_url, zones_csv)


@pytest.mark.parametrize(
    "ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_server_binaries_fail_under_ci_and_skip_elsewhere(
    tmp_path, monkeypatch, ci, outcome
):
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL server binaries"):
        bindir_or_stop(str(tmp_path / "no-postgresql" / "*" / "bin"))
