"""Parquet cache of the harmonised table, keyed by the source files (path, size, mtime) and config."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import polars as pl

from respicast.table import Column, DailyTable

log = logging.getLogger(__name__)
FORMAT_VERSION = 2  # bump when the table layout changes so old caches are ignored


def cache_key(files: list[str], cfg: dict) -> str:
    h = hashlib.sha256()
    h.update(f"v{FORMAT_VERSION}".encode())
    for f in sorted(set(files)):
        p = Path(f)
        st = p.stat() if p.exists() else None
        h.update(
            f"{p.resolve()}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}\n".encode()
        )
    h.update(json.dumps(cfg, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def _paths(cache_dir: str | Path, name: str, key: str) -> tuple[Path, Path]:
    base = Path(cache_dir) / f"daily_{name}_{key}"
    return base.with_suffix(".parquet"), base.with_suffix(".json")


def load(cache_dir: str | Path, name: str, key: str) -> DailyTable | None:
    data, info = _paths(cache_dir, name, key)
    if not (data.exists() and info.exists()):
        return None
    spec = json.loads(info.read_text())
    table = DailyTable(
        frame=pl.read_parquet(data),
        target=spec["target"],
        columns=[Column(**c) for c in spec["columns"]],
        area=spec["area"],
        target_latency_days=spec["target_latency_days"],
        meta={**spec["meta"], "cache": {"path": str(data), "reused": True}},
        step_days=int(spec.get("step_days", 1)),
    )
    log.info("daily table reused from cache %s", data)
    return table


def save(table: DailyTable, cache_dir: str | Path, name: str, key: str) -> Path:
    data, info = _paths(cache_dir, name, key)
    data.parent.mkdir(parents=True, exist_ok=True)
    table.frame.write_parquet(data)
    spec = {
        "target": table.target,
        "columns": [asdict(c) for c in table.columns],
        "area": table.area,
        "target_latency_days": table.target_latency_days,
        "meta": table.meta,
        "step_days": table.step_days,
    }
    info.write_text(json.dumps(spec, default=str, indent=1))
    log.info("daily table cached to %s", data)
    return data
