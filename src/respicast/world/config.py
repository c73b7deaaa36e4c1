"""World configuration: loading conf/world/<name>.yaml without Hydra, and a stable fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from respicast.cli import CONFIG_DIR

# Bump when the generator changes what a given config produces, so ensure_world re-simulates.
GENERATOR_VERSION = 2


def to_plain(cfg: Mapping | DictConfig) -> dict[str, Any]:
    """A plain, resolved dict (accepts a DictConfig or a mapping)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return json.loads(json.dumps(dict(cfg), default=str))


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_world_config(name: str = "toulouse", conf_dir: str | Path = CONFIG_DIR) -> dict[str, Any]:
    """Read conf/world/<name>.yaml, following its Hydra `defaults` list (same group) as Hydra would."""
    path = Path(conf_dir) / "world" / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"world config {path} not found")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    merged: dict = {}
    own = {k: v for k, v in raw.items() if k != "defaults"}
    for entry in raw.get("defaults", ["_self_"]):
        if entry == "_self_":
            merged = _merge(merged, own)
        elif isinstance(entry, str):
            merged = _merge(merged, load_world_config(entry, conf_dir))
        else:
            raise ValueError(f"{path}: unsupported defaults entry {entry!r}")
    if "_self_" not in raw.get("defaults", ["_self_"]):
        merged = _merge(merged, own)
    return merged


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
