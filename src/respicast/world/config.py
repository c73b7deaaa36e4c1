"""World configuration: a composed conf/world/ option as a plain dict, and a stable fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from respicast.utils.config import as_dict

# Bump when the generator changes what a given config produces, so ensure_world re-simulates.
GENERATOR_VERSION = 2


def to_plain(cfg: Mapping | DictConfig) -> dict[str, Any]:
    """A plain, resolved dict (a mapping's values made JSON-safe)."""
    if isinstance(cfg, DictConfig):
        return as_dict(cfg)
    return json.loads(json.dumps(dict(cfg), default=str))


def load_world_config(name: str, conf_dir: str | Path | None = None) -> dict[str, Any]:
    """The world config group's option `name` (conf/world/<name>.yaml), composed by Hydra.

    Train configs carry the composed world in data.world.config, so a run needs no look-up; this
    is for scripts and tests (pass the config dir, e.g. respicast.cli.CONFIG_DIR) and for run
    configs written when data.world.config was still a name (then the running app's search path
    is used).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    overrides = [f"+world={name}"]
    if conf_dir is None:
        if not GlobalHydra.instance().is_initialized():
            raise ValueError(
                f"world config {name!r}: pass conf_dir (no Hydra app is running to find it)"
            )
        return to_plain(compose(overrides=overrides).world)
    with initialize_config_dir(config_dir=str(Path(conf_dir).resolve()), version_base="1.3"):
        return to_plain(compose(overrides=overrides).world)


def config_hash(world_cfg: Mapping | DictConfig) -> str:
    """Fingerprint of a world config (and the generator version): same hash, same world."""
    payload = json.dumps({"cfg": to_plain(world_cfg), "v": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def require(cfg: Mapping, key: str, where: str = "world") -> Any:
    if key not in cfg:
        raise KeyError(f"{where}.{key} is missing from the world config")
    return cfg[key]


def _flat(cfg: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_diff(old: Mapping, new: Mapping, limit: int = 8) -> list[str]:
    """The keys where two world configs differ, as 'key: <old> in the folder, <new> in the config'."""
    a, b = _flat(old), _flat(new)
    missing = "(absent)"
    lines = [
        f"{key}: {a.get(key, missing)!r} in the folder, {b.get(key, missing)!r} in the config"
        for key in sorted(set(a) | set(b))
        if a.get(key, missing) != b.get(key, missing)
    ]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more key(s)"]
    return lines
