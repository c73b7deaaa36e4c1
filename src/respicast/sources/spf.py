"""Santé publique France daily hospital data by département (`donnees-hospitalieres-nouveaux-covid19`).

Layout: `;`-separated, `"dep";"jour";"incid_hosp";"incid_rea";"incid_dc";"incid_rad"`, dep quoted,
`jour` ISO date (older exports: dd/mm/yyyy).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from respicast.sources.csvtext import check_years, melt_values, parse_numbers, read_text_table
from respicast.sources.frame import (
    Site,
    SourceMeta,
    local_midnight_utc,
    log_skipped,
    require_columns,
)

# INSEE département codes: 01-95 (20 split into 2A/2B), overseas 971-976; SPF also uses "978"
DEPARTEMENT = r"^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$"


def _check_departements(df: pl.DataFrame, path: Path) -> None:
    """A damaged code ("3", "311") would silently fall out of the dep filter: it is an error."""
    bad = df.filter(~pl.col("dep").str.contains(DEPARTEMENT).fill_null(False))
    if bad.height:
        raise ValueError(
            f"{path}:{bad['line'][0]}: dep={bad['dep'][0]!r} is not a département code "
            f"({bad.height} such row(s))"
        )


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    dep = options.get("dep")
    variables = list(options.get("variables", ["incid_hosp"]))
    parts = []
    for path in files:
        df = read_text_table(path, ";")
        require_columns(df.columns, ["dep", "jour", *variables], str(path))
        df = df.with_columns(dep=pl.col("dep").str.strip_chars().str.strip_chars('"'))
        _check_departements(df, path)
        if dep is not None:
            df = log_skipped(df, pl.col("dep") == str(dep), f"dep other than {dep!r}", path)
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
        check_years(df, day, "jour", path)
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
