"""A world folder respicast did not make is never written; one made from another config is
replaced only with regenerate=true, and then only the files respicast wrote there."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
import yaml

from respicast.harmonize import build
from respicast.world import ensure_world
from respicast.world.simulate import LOCK, MARKER, STAGING, WorldFolderError, read_marker

PERIOD = {"start": "2020-04-01", "end": "2020-05-31"}


@pytest.fixture(scope="module")
def base(tmp_path_factory, small_cfg):
    """A two-month world made once; each test works on a copy."""
    cfg = {**small_cfg, **PERIOD, "seed": 3}
    return cfg, ensure_world(cfg, tmp_path_factory.mktemp("base") / "w")


@pytest.fixture
def world(tmp_path, base):
    cfg, src = base
    return cfg, Path(shutil.copytree(src, tmp_path / "w"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_first_use_marks_the_folder_with_the_files_written(base):
    cfg, out = base
    marker = read_marker(out)
    assert (
        marker["complete"]
        and marker["config_hash"] == yaml.safe_load((out / "world.yaml").read_text())["config_hash"]
    )
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert set(marker["files"]) == on_disk - {MARKER, LOCK}
    assert "hospital/stays.duckdb" in marker["files"] and not (out / STAGING).exists()


def test_other_config_is_an_error_naming_the_differing_keys(world):
    cfg, out = world
    before = _snapshot(out)
    with pytest.raises(WorldFolderError) as err:
        ensure_world({**cfg, "seed": 4, "dispersion_k": 9.0}, out)
    msg = str(err.value)
    assert f"data.world.dir={out}" in msg and "data.world.regenerate=true" in msg
    assert "seed: 3 in the folder, 4 in the config" in msg
    assert "dispersion_k:" in msg and "9.0 in the config" in msg
    assert _snapshot(out) == before


def test_regenerate_replaces_only_respicast_files_and_warns(world, caplog):
    cfg, out = world
    (out / "notes.txt").write_text("mine")
    (out / "hospital" / "extract.sql").write_text("select 1")
    old_truth = pl.read_parquet(out / "truth.parquet")
    assert (out / "weather" / "synop.202005.csv").is_file()
    shorter = {**cfg, "seed": 4, "end": "2020-04-30"}
    with caplog.at_level(logging.WARNING, logger="respicast.world.simulate"):
        ensure_world(shorter, out, regenerate=True)
    assert "data.world.regenerate=true: re-simulating" in caplog.text
    assert "seed: 3 in the folder, 4 in the config" in caplog.text
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "hospital" / "extract.sql").read_text() == "select 1"
    assert not pl.read_parquet(out / "truth.parquet").equals(old_truth)
    # a file only the old world had is gone, since respicast wrote it
    assert not (out / "weather" / "synop.202005.csv").exists()
    assert "notes.txt" not in read_marker(out)["files"]
    assert ensure_world(shorter, out) == out  # now it matches


def test_non_empty_folder_without_marker_is_never_written(tmp_path, small_cfg):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "admissions.csv").write_text("date,count\n2020-01-01,3\n")
    for regenerate in (False, True):
        with pytest.raises(
            WorldFolderError,
            match=rf"no {MARKER} marker.*never writes into it.*new or empty folder\.$",
        ):
            ensure_world({**small_cfg, **PERIOD}, out, regenerate=regenerate)
    assert sorted(p.name for p in out.iterdir()) == ["admissions.csv"]


def test_copied_world_without_marker_is_read_only(world):
    cfg, out = world
    (out / MARKER).unlink()
    (out / LOCK).unlink()
    before = _snapshot(out)
    assert ensure_world(cfg, out) == out  # the same config: read, nothing written
    assert _snapshot(out) == before
    with pytest.raises(
        WorldFolderError,
        match="(?s)never writes.*another world config.*seed: 3 in the folder, 5 in",
    ):
        ensure_world({**cfg, "seed": 5}, out, regenerate=True)
    assert _snapshot(out) == before


def test_user_file_in_the_way_stops_the_regeneration(world):
    cfg, out = world
    (out / "weather" / "synop.202006.csv").write_text("mine")  # a month the new world writes
    before = _snapshot(out)
    with pytest.raises(WorldFolderError, match=r"did not write are in the way.*synop\.202006"):
        ensure_world({**cfg, "end": "2020-06-30"}, out, regenerate=True)
    assert _snapshot(out) == before
    assert not (out / STAGING).exists()


def test_interrupted_simulation_is_completed(world):
    cfg, out = world
    marker = yaml.safe_load((out / MARKER).read_text())
    (out / MARKER).write_text(yaml.safe_dump({**marker, "complete": False}))
    (out / "world.yaml").unlink()
    (out / STAGING).mkdir()
    (out / STAGING / "zones.csv").write_text("half")
    ensure_world(cfg, out)
    assert read_marker(out)["complete"] and (out / "world.yaml").is_file()
    assert not (out / STAGING).exists()


def test_regenerate_must_be_a_boolean(world):
    cfg, out = world
    with pytest.raises(WorldFolderError, match="data.world.regenerate must be true or false"):
        ensure_world({**cfg, "seed": 4}, out, regenerate="no")


def test_data_config_passes_regenerate(world, compose_app, tmp_path):
    cfg, out = world
    app = compose_app("train", tmp_path, ["data=toulouse_sim_small", f"paths.root_dir={tmp_path}"])
    assert app.data.world.regenerate is False
    data = {"world": {"dir": str(out), "config": cfg, "seed": 4, "regenerate": False}}
    with pytest.raises(WorldFolderError, match="seed: 3 in the folder, 4 in the config"):
        build._world_dir(data)
    data["world"]["regenerate"] = True
    assert build._world_dir(data) == str(out)
    assert yaml.safe_load((out / "world.yaml").read_text())["seed"] == 4


def test_simulate_app_refuses_another_seed(world):
    cfg, out = world
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    args = [
        "respicast-simulate",
        f"out={out}",
        "world=small",
        "hydra.run.dir=.",
        "hydra/job_logging=none",
    ]
    args += [f"world.start={PERIOD['start']}", f"world.end={PERIOD['end']}"]
    run = subprocess.run([*args, "seed=3"], capture_output=True, text=True, env=env, cwd=out.parent)
    assert run.returncode == 0 and run.stdout.strip().endswith(str(out)), run.stderr
    run = subprocess.run([*args, "seed=4"], capture_output=True, text=True, env=env, cwd=out.parent)
    assert run.returncode != 0
    assert f"out={out}" in run.stderr and "regenerate=true" in run.stderr
    assert "seed: 3 in the folder, 4 in the config" in run.stderr
