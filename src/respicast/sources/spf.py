"""Santé publique France daily hospital data by département (`donnees-hospitalieres-nouveaux-covid19`).

Layout: `;`-separated, `"dep";"jour";"incid_hosp";"incid_rea";"incid_dc";"incid_rad"`, dep quoted,
`jour` ISO date (older exports: dd/mm/yyyy).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from respicast.sources.csvtext import melt_values, parse_numbers, read_text_table
from respicast.sources.frame import Site, SourceMeta, local_midnight_utc, require_columns


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    dep = options.get("dep")
    variables = list(options.get("variables", ["incid_hosp"]))
    parts = []
    for path in files:
        df = read_text_table(path, ";")
        require_columns(df.columns, ["dep", "jour", *variables], str(path))
        df = df.with_columns(dep=pl.col("dep").str.strip_chars().str.strip_chars('"'))
        if dep is not None:
            df = df.filter(pl.col("dep") == str(dep))
            if df.height == 0:
                raise ValueError(f"{path}: no rows for dep={dep!r}")
        text = df["jour"].str.strip_chars()
        day = text.str.to_date("%Y-%m-%d", strict=False).fill_null(
            text.str.to_date("%d/%m/%Y", strict=False)
        )
        bad = df.filter(day.is_null())
        if bad.height:
            raise ValueError(
                f"{path}:{bad['line'][0]}: cannot read jour={bad['jour'][0]!r} as a date"
            )
        df = parse_numbers(df, variables, path).with_columns(
            time=local_midnight_utc(pl.lit(day), tz), site=pl.col("dep")
        )
        for s in df["site"].unique():
            meta.sites[s] = Site(s, type="departement")
        parts.append(
            melt_values(df, ["time", "site"], variables).with_columns(
                unit=pl.lit("count"), quality=pl.lit("valid")
            )
        )
    return pl.concat(parts)
