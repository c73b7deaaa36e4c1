"""Réseau Sentinelles weekly incidence export (sentiweb.fr).

Layout: a first line `# {json}` describing the export, then
`week,indicator,inc,inc_low,inc_up,inc100,inc100_low,inc100_up,geo_insee,geo_name`,
`week` = ISO year and week YYYYWW; one row per week and region. Period = the ISO week (Mon-Sun).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from respicast.sources.csvtext import YEARS, melt_values, parse_numbers, read_text_table
from respicast.sources.frame import (
    Site,
    SourceMeta,
    local_midnight_utc,
    log_skipped,
    require_columns,
)

UNITS = {
    "inc": "cases",
    "inc_low": "cases",
    "inc_up": "cases",
    "inc100": "per100k",
    "inc100_low": "per100k",
    "inc100_up": "per100k",
}


# INSEE region codes in Sentinelles exports: the 22 former metropolitan regions, the 13 of 2016,
# overseas 01-06, "0" (their OUTRE-MER aggregate) and FR; a damaged code is none of them
GEO = {
    *"11 21 22 23 24 25 26 31 41 42 43 52 53 54 72 73 74 82 83 91 93 94".split(),
    *"27 28 32 44 75 76 84 01 02 03 04 06 0 FR".split(),
}


def iso_week_monday(year: pl.Expr, week: pl.Expr) -> pl.Expr:
    """Monday of ISO week `week` of ISO year `year` (week 1 holds 4 January)."""
    jan4 = pl.date(year, 1, 4)
    return jan4 - pl.duration(days=jan4.dt.weekday() - 1) + pl.duration(weeks=week - 1)


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    geo = options.get("geo")  # e.g. "73" (Midi-Pyrénées); None keeps all regions
    variables = list(options.get("variables", ["inc100"]))
    parts = []
    for path in files:
        with path.open(encoding="utf8", errors="replace") as fh:
            first = fh.readline().lstrip("\ufeff")
        skip = 1 if first.startswith("#") else 0
        df = read_text_table(path, ",", skip_lines=skip)
        require_columns(df.columns, ["week", "geo_insee", *variables], str(path), skip + 1)
        df = df.with_columns(pl.col("geo_insee").str.strip_chars())
        bad = df.filter(~pl.col("geo_insee").is_in(sorted(GEO)).fill_null(False))
        if bad.height:
            raise ValueError(
                f"{path}:{bad['line'][0]}: geo_insee={bad['geo_insee'][0]!r} is not a region "
                f"code ({bad.height} such row(s))"
            )
        if geo is not None:
            df = log_skipped(df, pl.col("geo_insee") == str(geo), f"geo_insee != {geo!r}", path)
            if df.height == 0:
                raise ValueError(f"{path}: no rows for geo_insee={geo!r}")
        week = df["week"].str.strip_chars()
        bad = df.filter(~week.str.contains(r"^\d{6}$"))
        if bad.height:
            raise ValueError(f"{path}:{bad['line'][0]}: week {bad['week'][0]!r} is not YYYYWW")
        wk = week.cast(pl.Int32)
        df = df.with_columns(year=wk // 100, wnum=wk % 100)
        lo, hi = YEARS
        bad = df.filter(
            (pl.col("wnum") < 1) | (pl.col("wnum") > 53) | ~pl.col("year").is_between(lo, hi)
        )
        if bad.height:
            raise ValueError(
                f"{path}:{bad['line'][0]}: week number out of 1..53 or year out of {lo}..{hi} "
                f"in {bad['week'][0]!r}"
            )
        df = parse_numbers(df, variables, path).with_columns(
            time=local_midnight_utc(iso_week_monday(pl.col("year"), pl.col("wnum")), tz),
            site=pl.col("geo_insee"),
        )
        name = pl.col("geo_name") if "geo_name" in df.columns else pl.lit("")  # optional label
        for s in df.select("site", name.alias("geo_name")).unique().iter_rows():
            meta.sites[s[0]] = Site(s[0], type=f"region:{s[1]}")
        long = melt_values(df, ["time", "site"], variables)
        parts.append(
            long.with_columns(
                unit=pl.col("variable").replace_strict(UNITS, default="cases"),
                quality=pl.lit("valid"),
            )
        )
    return pl.concat(parts)
