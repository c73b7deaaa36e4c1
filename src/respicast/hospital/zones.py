"""The postcode -> zone map read from the world's ``zones.csv``."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)

UNKNOWN = "unknown"  # zone (and age band) of stays the map (or the bands) do not cover
_COLUMNS = ("zone", "postcode")


def read_zone_map(path: str | Path) -> pl.DataFrame:
    """Distinct ``postcode -> zone`` rows (both Utf8, postcodes keep leading zeros).

    A postcode listed twice for the same zone is kept once (logged); listed for two zones, or a
    zone named "unknown", is an error naming the CSV lines.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"zones map not found: {path}")
    try:
        raw = pl.read_csv(path, infer_schema=False)  # all Utf8: '09100' must stay '09100'
    except (pl.exceptions.PolarsError, OSError) as err:
        raise ValueError(f"{path}: cannot read zones CSV: {err}") from err
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: zones CSV lacks column(s) {missing}; has {raw.columns}")
    zones = raw.select(
        pl.col("zone").str.strip_chars(),
        pl.col("postcode").str.strip_chars(),
        (pl.int_range(pl.len()) + 2).alias("line"),  # line 1 is the header
    )
    blank = zones.filter(
        pl.col("zone").is_null()
        | (pl.col("zone") == "")
        | pl.col("postcode").is_null()
        | (pl.col("postcode") == "")
    )
    if blank.height:
        raise ValueError(
            f"{path}: empty zone or postcode on line(s) {blank['line'].to_list()[:10]}"
        )
    reserved = zones.filter(pl.col("zone") == UNKNOWN)
    if reserved.height:
        raise ValueError(
            f"{path}: zone name {UNKNOWN!r} is reserved for unmapped postcodes "
            f"(line(s) {reserved['line'].to_list()[:10]})"
        )
    clash = zones.filter(pl.col("zone").n_unique().over("postcode") > 1)
    if clash.height:
        first = clash.filter(pl.col("postcode") == clash["postcode"][0])
        raise ValueError(
            f"{path}: postcode {first['postcode'][0]!r} maps to several zones "
            f"{first['zone'].unique(maintain_order=True).to_list()} on lines {first['line'].to_list()}"
        )
    unique = zones.unique(subset=["postcode"], keep="first", maintain_order=True)
    if unique.height < zones.height:
        log.warning(
            "%s: %d repeated postcode row(s) (same zone) kept once",
            path,
            zones.height - unique.height,
        )
    return unique.select("postcode", "zone")
