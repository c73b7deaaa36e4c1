from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from respicast.world import ensure_world, simulate


def _short(cfg: dict, seed: int) -> dict:
    return {**cfg, "seed": seed, "start": "2019-01-01", "end": "2019-04-30"}


# DuckDB files embed non-deterministic block layout, so the database is compared by content.
def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".duckdb"
    }


def _tables(root: Path) -> dict[str, list]:
    with duckdb.connect(str(root / "hospital" / "stays.duckdb"), read_only=True) as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("stays", "associated_dx")
        }


def test_same_seed_gives_identical_files(tmp_path, small_cfg):
    a = simulate(_short(small_cfg, 7), tmp_path / "a")
    b = simulate(_short(small_cfg, 7), tmp_path / "b")
    files_a, files_b = _files(a), _files(b)
    assert files_a.keys() == files_b.keys() and len(files_a) > 10
    assert [k for k in files_a if files_a[k] != files_b[k]] == []
    assert _tables(a) == _tables(b)


def test_different_seed_gives_different_world(tmp_path, small_cfg):
    a = simulate(_short(small_cfg, 1), tmp_path / "a")
    b = simulate(_short(small_cfg, 2), tmp_path / "b")
    for name in [
        "truth.parquet",
        "air_quality/FR50030.csv",
        "weather/synop.201902.csv",
        "pollen/toulouse.csv",
    ]:
        assert (a / name).read_bytes() != (b / name).read_bytes(), name
    assert _tables(a) != _tables(b)


def test_ensure_world_reuses_then_resimulates_on_config_change(tmp_path, small_cfg):
    cfg = _short(small_cfg, 3)
    out = ensure_world(cfg, tmp_path / "w")
    stamp = (out / "truth.parquet").stat().st_mtime_ns
    assert ensure_world(cfg, out) == out
    assert (out / "truth.parquet").stat().st_mtime_ns == stamp
    before = pl.read_parquet(out / "truth.parquet")
    ensure_world({**cfg, "seed": 4}, out, regenerate=True)
    assert not pl.read_parquet(out / "truth.parquet").equals(before)
