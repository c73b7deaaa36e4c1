"""Daily pollen counts of one Hirst-type trap (RNSA-like), long format, grains/m3 per taxon.

Counted grains ~ Poisson(true concentration x 1.4 m3 read), reported as a whole concentration.
Weekend days and breakdowns are absent rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from respicast.world.rng import run_starts, stream

TAXA = ("Cupressaceae", "Betula", "Poaceae", "Ambrosia")
VOLUME_READ_M3 = 1.4


def write_pollen(world: dict, exposures: pl.DataFrame, days: np.ndarray, out: Path) -> Path:
    p = world["pollen"]
    rng = stream(int(world["seed"]), "pollen_trap")
    out.mkdir(parents=True, exist_ok=True)
    true = exposures.filter(pl.col("date").is_between(days[0], days[-1]))
    weekday = (days.astype(int) + 3) % 7
    read = (weekday < 5) & ~run_starts(
        rng, days.size, p["breakdown_rate"], p["breakdown_mean_days"]
    )
    parts = []
    for taxon in p["taxa"]:
        if taxon not in TAXA:
            raise ValueError(f"world.pollen.taxa: unknown taxon {taxon!r}; known {TAXA}")
        grains = rng.poisson(true[taxon.lower()].to_numpy() * VOLUME_READ_M3) / VOLUME_READ_M3
        parts.append(
            pl.DataFrame(
                {
                    "date": days[read],
                    "taxon": taxon,
                    "grains_m3": np.round(grains[read]).astype(np.int64),
                }
            )
        )
    frame = (
        pl.concat(parts)
        .sort("date", maintain_order=True)
        .with_columns(
            pl.col("date").cast(pl.Date).dt.strftime("%Y-%m-%d"), pl.lit(p["trap"]).alias("site")
        )
    )
    path = out / f"{p['trap'].lower()}.csv"
    frame.select("date", "site", "taxon", "grains_m3").write_csv(path, separator=";")
    return path
