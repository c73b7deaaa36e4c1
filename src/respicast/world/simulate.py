"""Write a simulated world folder (formats: docs/architecture.md, section 1)."""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import yaml
from omegaconf import DictConfig

from respicast.world.admissions import simulate_truth
from respicast.world.air_quality import write_air_quality
from respicast.world.config import GENERATOR_VERSION, config_hash, to_plain
from respicast.world.exposures import day_grid, true_exposures
from respicast.world.hospital import write_hospital
from respicast.world.pollen import write_pollen
from respicast.world.surveillance import write_surveillance
from respicast.world.weather import write_weather

log = logging.getLogger(__name__)

WRITTEN = [
    "air_quality",
    "weather",
    "pollen",
    "epidemics",
    "hospital",
    "zones.csv",
    "truth.parquet",
    "exposures.parquet",
    "world.yaml",
]


def zones_frame(world: dict) -> pl.DataFrame:
    rows = [
        {
            "zone": z,
            "zone_name": spec["name"],
            "postcode": str(pc),
            "population": int(v["population"]),
            "lat": float(v["lat"]),
            "lon": float(v["lon"]),
        }
        for z, spec in world["zones"].items()
        for pc, v in spec["postcodes"].items()
    ]
    return pl.DataFrame(rows)


def simulate(cfg: Mapping | DictConfig, out_dir: str | Path) -> Path:
    """Simulate the world described by `cfg` (a conf/world/*.yaml config) into out_dir.

    Deterministic for a given config (incl. `seed`). Replaces earlier world files in out_dir;
    world.yaml is written last, so its presence marks a complete world.
    """
    world = to_plain(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in WRITTEN:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    _, days = day_grid(world)
    exposures, drawn = true_exposures(world)
    truth = simulate_truth(world, exposures)
    zones_frame(world).write_csv(out / "zones.csv")
    exposures.with_columns(pl.col("date").cast(pl.Date)).write_parquet(out / "exposures.parquet")
    truth.write_parquet(out / "truth.parquet")
    write_air_quality(world, exposures, days, out / "air_quality")
    write_weather(world, exposures, days, out / "weather")
    write_pollen(world, exposures, days, out / "pollen")
    write_surveillance(world, exposures, days, out / "epidemics")
    write_hospital(world, truth, days, out / "hospital")
    record = {
        "config_hash": config_hash(world),
        "generator_version": GENERATOR_VERSION,
        "seed": int(world["seed"]),
        "period": {"start": str(world["start"]), "end": str(world["end"])},
        "dispersion_k": float(world["dispersion_k"]),
        "drawn": drawn,
        "config": world,
    }
    (out / "world.yaml").write_text(
        yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    log.info("world %s (seed %s) written to %s", world.get("name"), world["seed"], out)
    return out


def read_world_record(world_dir: str | Path) -> dict:
    path = Path(world_dir) / "world.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a simulated world folder")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@contextmanager
def _lock(out: Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_world(world_cfg: Mapping | DictConfig, out_dir: str | Path) -> Path:
    """The world folder for world_cfg: simulated unless out_dir/world.yaml was made from the same config."""
    out = Path(out_dir)
    wanted = config_hash(world_cfg)
    with _lock(out):  # two processes asking for the same world simulate it once
        if (out / "world.yaml").is_file() and read_world_record(out).get("config_hash") == wanted:
            return out
        log.info("simulating world into %s (absent or made from another config)", out)
        return simulate(world_cfg, out)
