"""Pollen counts per trap, taxon and day: `;`-separated `date;site;taxon;grains_m3`, long format.

Days without a count (weekends, trap breakdowns) are absent rows; harmonisation treats them as
missing. Trap coordinates come from options.sites {id: {lat, lon}}.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from respicast.sources.csvtext import parse_dates, parse_numbers, read_text_table
from respicast.sources.frame import (
    Site,
    SourceMeta,
    local_midnight_utc,
    log_skipped,
    require_columns,
)


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    taxa = options.get("taxa")
    sites = {str(k): v for k, v in (options.get("sites") or {}).items()}
    parts = []
    for path in files:
        df = read_text_table(path, ";")
        require_columns(df.columns, ["date", "site", "taxon", "grains_m3"], str(path))
        df = df.with_columns(pl.col("site").str.strip_chars(), pl.col("taxon").str.strip_chars())
        if taxa is not None:
            keep = pl.col("taxon").is_in([str(t) for t in taxa])
            df = log_skipped(df, keep, f"taxon not in options.taxa {list(taxa)}", path)
        if sites:
            unknown = df.filter(~pl.col("site").is_in(list(sites)))
            if unknown.height:
                raise ValueError(
                    f"{path}:{unknown['line'][0]}: unknown pollen trap {unknown['site'][0]!r}; known {sorted(sites)}"
                )
        day = parse_dates(df, "date", options.get("date_format", "%Y-%m-%d"), path)
        df = parse_numbers(df, ["grains_m3"], path).with_columns(
            time=local_midnight_utc(pl.lit(day), tz)
        )
        for s in df["site"].unique():
            c = sites.get(s, {})
            meta.sites[s] = Site(s, c.get("lat"), c.get("lon"), "pollen")
        parts.append(
            df.select(
                "time",
                "site",
                "line",
                variable=pl.col("taxon"),
                value=pl.col("grains_m3"),
                unit=pl.lit("grains/m3"),
                quality=pl.lit("valid"),
            )
        )
    return pl.concat(parts)
