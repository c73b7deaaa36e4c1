"""Source kinds -> readers, with each kind's native resolution, group and publication latency."""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from respicast.sources import atmo, generic, meteo, pollen, sentinelles, spf
from respicast.sources.frame import Latency, SourceMeta, finalize

log = logging.getLogger(__name__)

Reader = Callable[[list[Path], SourceMeta, dict, str], pl.DataFrame]


@dataclass(frozen=True)
class Kind:
    read: Reader
    resolution: str
    group: str
    latency: Latency


# Default latencies follow each producer's publication habit (overridable per source entry).
KINDS: dict[str, Kind] = {
    "sentinelles": Kind(
        sentinelles.read, "1w", "epidemics", Latency(days=3, hour=12)
    ),  # Wednesday after the week
    "spf_hosp_dep": Kind(spf.read, "1d", "epidemics", Latency(days=1, hour=19)),
    "atmo": Kind(atmo.read, "1h", "pollution", Latency(days=1, hour=12)),  # validated next day
    "synop": Kind(meteo.read_synop, "3h", "weather", Latency(days=1, hour=6)),
    "meteo_daily": Kind(meteo.read_climatological, "1d", "weather", Latency(days=1, hour=12)),
    "pollen": Kind(pollen.read, "1d", "pollen", Latency(days=3, hour=12)),
    "generic": Kind(generic.read, "1d", "weather", Latency(days=1, hour=0)),
}
ENTRY_KEYS = {"kind", "path", "paths", "options", "group", "latency", "resolution"}


def package_path(spec: str) -> Path:
    """`pkg:examples_data/x.csv` -> a file shipped inside the respicast package (runs from a clean clone)."""
    if spec.startswith("pkg:"):
        import respicast

        return Path(respicast.__file__).parent / spec.removeprefix("pkg:")
    return Path(spec)


def resolve_files(name: str, cfg: dict, base_dir: str | Path | None) -> list[Path]:
    specs = cfg.get("paths") or ([cfg["path"]] if cfg.get("path") else [])
    if not specs:
        raise ValueError(f"data.sources.{name}: give path or paths")
    files: list[Path] = []
    for spec in specs if isinstance(specs, list | tuple) else [specs]:
        p = package_path(str(spec))
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        matches = sorted(glob.glob(str(p))) if glob.has_magic(str(p)) else [str(p)]
        if not matches:
            raise FileNotFoundError(f"data.sources.{name}: no file matches {p}")
        files += [Path(m) for m in matches]
    return files


def read_source(
    name: str, cfg: dict, tz: str = "Europe/Paris", base_dir: str | Path | None = None
) -> tuple[pl.DataFrame, SourceMeta]:
    """Read one configured source into (source frame, SourceMeta); see architecture doc §2."""
    cfg = dict(cfg)
    unknown = set(cfg) - ENTRY_KEYS
    if unknown:
        raise ValueError(
            f"data.sources.{name}: unknown keys {sorted(unknown)}; allowed {sorted(ENTRY_KEYS)}"
        )
    kind_name = cfg.get("kind")
    if kind_name not in KINDS:
        raise ValueError(f"data.sources.{name}.kind={kind_name!r}; known kinds {sorted(KINDS)}")
    kind = KINDS[kind_name]
    latency = (
        Latency.from_cfg(cfg["latency"], f"data.sources.{name}")
        if cfg.get("latency")
        else kind.latency
    )
    group = cfg.get("group", kind.group)
    meta = SourceMeta(
        name, kind_name, cfg.get("resolution", kind.resolution), latency, groups={"*": group}
    )
    files = resolve_files(name, cfg, base_dir)
    meta.files = [str(f) for f in files]
    options = dict(cfg.get("options") or {})
    # one file at a time, so every raw row knows its file and messages name the right one
    raw = pl.concat(
        [
            kind.read([f], meta, options, tz).with_columns(
                file=pl.lit(str(f)), file_idx=pl.lit(i, pl.Int32)
            )
            for i, f in enumerate(files)
        ]
    )
    where = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
    frame = finalize(raw, meta, tz, str(where))
    default = meta.groups.pop("*")
    for var in frame["variable"].unique().to_list():
        meta.groups.setdefault(var, default)
    SourceMeta.__post_init__(meta)  # re-check groups and resolution now the data set them
    log.info(
        "source %s (%s): %d rows, %d site(s), %s",
        name,
        kind_name,
        frame.height,
        len(meta.sites),
        meta.resolution,
    )
    return frame, meta
