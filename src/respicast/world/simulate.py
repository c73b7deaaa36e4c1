"""Write a simulated world folder (formats: docs/architecture.md, section 1)."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import yaml
from omegaconf import DictConfig

from respicast.world.admissions import simulate_truth
from respicast.world.air_quality import write_air_quality
from respicast.world.config import GENERATOR_VERSION, config_diff, config_hash, to_plain
from respicast.world.exposures import day_grid, true_exposures
from respicast.world.hospital import write_hospital
from respicast.world.pollen import write_pollen
from respicast.world.surveillance import write_surveillance
from respicast.world.weather import write_weather

log = logging.getLogger(__name__)

# A world folder respicast made carries MARKER (its config hash and the files it wrote); respicast
# replaces those files only, and never writes into a non-empty folder without it.
MARKER = ".respicast-world"
MARKER_HEADER = (
    "# respicast made this world folder; it replaces only the files listed here "
    "(see respicast.world.simulate)"
)
STAGING = ".respicast-partial"
LOCK = ".respicast-world.lock"


class WorldFolderError(ValueError):
    """A world folder respicast may not write, or one made from another world config."""


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

    Deterministic for a given config (incl. `seed`). out_dir must be absent, empty, or a world
    folder respicast made (it carries the marker file): then only the files listed in its marker
    are replaced; anything else in it is left alone. The world is written to a staging folder
    first and moved in at the end, world.yaml last, so its presence marks a complete world.
    """
    world = to_plain(cfg)
    out = Path(out_dir)
    _claim(out, config_hash(world))
    staging = out / STAGING
    if staging.exists():  # left by an interrupted run inside a folder respicast made
        shutil.rmtree(staging)
    staging.mkdir()
    drawn = _write_world(world, staging)
    record = {
        "config_hash": config_hash(world),
        "generator_version": GENERATOR_VERSION,
        "seed": int(world["seed"]),
        "period": {"start": str(world["start"]), "end": str(world["end"])},
        "dispersion_k": float(world["dispersion_k"]),
        "drawn": drawn,
        "config": world,
    }
    (staging / "world.yaml").write_text(
        yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    _install(out, staging, record["config_hash"])
    log.info("world %s (seed %s) written to %s", world.get("name"), world["seed"], out)
    return out


def _write_world(world: dict, out: Path) -> dict:
    """Every world file but world.yaml; returns the drawn parameters for the record."""
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
    return drawn


def read_world_record(world_dir: str | Path) -> dict:
    path = Path(world_dir) / "world.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a simulated world folder")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def read_marker(world_dir: str | Path) -> dict | None:
    """The marker of a world folder respicast made, or None when the folder has none."""
    path = Path(world_dir) / MARKER
    if not path.is_file():
        return None
    try:
        marker = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise WorldFolderError(f"{path}: unreadable world marker ({err})") from None
    if not isinstance(marker, dict) or marker.get("created_by") != "respicast":
        raise WorldFolderError(f"{path}: not a respicast world marker")
    return marker


def _write_marker(out: Path, config_hash_: str, files: list[str], complete: bool) -> None:
    marker = {
        "created_by": "respicast",
        "config_hash": config_hash_,
        "generator_version": GENERATOR_VERSION,
        "complete": complete,
        "files": sorted(files),
    }
    text = f"{MARKER_HEADER}\n" + yaml.safe_dump(marker, sort_keys=False)
    tmp = out / f"{MARKER}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / MARKER)  # atomic: a reader sees the old or the new marker


def _is_empty(out: Path) -> bool:
    return not out.exists() or all(p.name == LOCK for p in out.iterdir())


def _claim(out: Path, wanted: str) -> None:
    """Make sure out is respicast's to write: absent or empty (then marked now), or marked."""
    if out.exists() and not out.is_dir():
        raise WorldFolderError(f"world folder {out} is a file, not a folder")
    if _is_empty(out):
        out.mkdir(parents=True, exist_ok=True)
        _write_marker(out, wanted, [], complete=False)
    elif read_marker(out) is None:
        raise WorldFolderError(_foreign_message(out))


def _foreign_message(out: Path) -> str:
    return (
        f"world folder {out} is not empty and has no {MARKER} marker: respicast did not create "
        "it, so it never writes into it or deletes from it. Choose a new or empty folder."
    )


def _install(out: Path, staging: Path, wanted: str) -> None:
    """Move the staged world into out, replacing only the files the marker lists."""
    old = set((read_marker(out) or {}).get("files") or [])
    new = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    clash = [rel for rel in new if (out / rel).exists() and rel not in old]
    if clash:
        shutil.rmtree(staging)
        raise WorldFolderError(
            f"world folder {out}: {len(clash)} file(s) respicast did not write are in the way "
            f"(e.g. {clash[0]}); they are left alone and nothing was replaced"
        )
    # a crash from here on leaves a marker that lists every file that may be respicast's
    _write_marker(out, wanted, sorted(old | set(new)), complete=False)
    for rel in sorted(old - set(new)):
        (out / rel).unlink(missing_ok=True)
    for rel in sorted(new, key=lambda r: r == "world.yaml"):  # world.yaml last
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out / rel)
    for rel in sorted(old, key=lambda r: -r.count("/")):  # folders the old world left empty
        _rmdir_empty_parents(out, (out / rel).parent)
    shutil.rmtree(staging)
    _write_marker(out, wanted, new, complete=True)


def _rmdir_empty_parents(out: Path, folder: Path) -> None:
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextmanager
def _lock(out: Path):
    """An exclusive lock inside the world folder (absent or respicast's own at this point)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


DATA_KEYS = ("data.world.dir", "data.world.regenerate")


def ensure_world(
    world_cfg: Mapping | DictConfig,
    out_dir: str | Path,
    regenerate: bool = False,
    keys: tuple[str, str] = DATA_KEYS,
) -> Path:
    """The world folder for world_cfg: reused when its world.yaml was made from the same config,
    simulated when absent or empty. A folder respicast made from another config is re-simulated
    only with `regenerate` (logged at WARNING), else it is an error naming the differing keys;
    a non-empty folder without the marker is never written (read only when it matches).
    `keys` names the settings in messages: (folder setting, regenerate setting)."""
    if not isinstance(regenerate, bool):
        raise WorldFolderError(f"{keys[1]} must be true or false, got {regenerate!r}")
    out = Path(out_dir)
    world = to_plain(world_cfg)
    wanted = config_hash(world)
    if not _is_empty(out) and read_marker(out) is None:
        if out.is_dir() and _recorded_hash(out) == wanted:
            return out  # e.g. a world copied from elsewhere: read, never written
        made = f"\nIts world.yaml is from another world config{_diff_text(out, world)}"
        has_record = (out / "world.yaml").is_file()
        raise WorldFolderError(
            f"{keys[0]}={out}: {_foreign_message(out)}{made if has_record else ''}"
        )
    with _lock(out):  # two processes asking for the same world simulate it once
        marker = read_marker(out)
        if marker and marker.get("complete") and _recorded_hash(out) == wanted:
            return out
        if marker is None or marker.get("config_hash") == wanted:
            # respicast's own folder for this config, incomplete (e.g. an interrupted run)
            log.info("simulating world into %s (first use or an incomplete world)", out)
            return simulate(world, out)
        diff = _diff_text(out, world)
        if not regenerate:
            raise WorldFolderError(
                f"{keys[0]}={out} holds a world respicast simulated from another world config"
                f"{diff}\nUse another {keys[0]}, or {keys[1]}=true to re-simulate it in place "
                "(only the files respicast wrote there are replaced)."
            )
        log.warning("%s=true: re-simulating %s from another world config%s", keys[1], out, diff)
        return simulate(world, out)


def _recorded_hash(out: Path) -> str | None:
    try:
        return read_world_record(out).get("config_hash")
    except (FileNotFoundError, yaml.YAMLError, AttributeError):
        return None


def _diff_text(out: Path, world: dict) -> str:
    try:
        record = read_world_record(out)
    except (FileNotFoundError, yaml.YAMLError):
        return f" (no readable {out / 'world.yaml'})"
    old = {**(record.get("config") or {}), "generator_version": record.get("generator_version")}
    lines = config_diff(old, {**world, "generator_version": GENERATOR_VERSION})
    return ":\n  " + "\n  ".join(lines) if lines else " (same keys, another fingerprint)"
