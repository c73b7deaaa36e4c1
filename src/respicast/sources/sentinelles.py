"""Réseau Sentinelles weekly incidence export (sentiweb.fr).

Layout: a first line `# {json}` describing the export, then
`week,indicator,inc,inc_low,inc_up,inc100,inc100_low,inc100_up,geo_insee,geo_name`,
`week` = ISO year and week YYYYWW; one row per week and region. Period = the ISO week (Mon-Sun).

Bad input: a code that is no ISO week (malformed, week 00, 54, or 53 in a 52-week year) and a
(region, week) repeated inside one file raise naming file and line; weeks absent inside a
region's sequence are logged (count, first missing week) and stay absent, so harmonisation
sees them as missing periods, never interpolated.
"""

from __future__ import annotations

import logging
from datetime import timedelta
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
log = logging.getLogger(__name__)


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


def _check_regions(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    df = df.with_columns(pl.col("geo_insee").str.strip_chars())
    bad = df.filter(~pl.col("geo_insee").is_in(sorted(GEO)).fill_null(False))
    if bad.height:
        raise ValueError(
            f"{path}:{bad['line'][0]}: geo_insee={bad['geo_insee'][0]!r} is not a region "
            f"code ({bad.height} such row(s))"
        )
    return df


def _iso_weeks(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Add year, wnum and monday; a code that is no ISO week (202054, 202000, 202153 as 2021 has
    52 weeks, '2020w3') raises naming the line, rather than landing on another week."""
    week = df["week"].str.strip_chars()
    bad = df.filter(~week.str.contains(r"^\d{6}$").fill_null(False))
    if bad.height:
        raise ValueError(f"{path}:{bad['line'][0]}: week {bad['week'][0] or ''!r} is not YYYYWW")
    wk = week.cast(pl.Int32)
    df = df.with_columns(week=week, year=wk // 100, wnum=wk % 100)
    lo, hi = YEARS
    bad = df.filter(~pl.col("year").is_between(lo, hi))
    if bad.height:
        raise ValueError(
            f"{path}:{bad['line'][0]}: week {bad['week'][0]!r}: year out of {lo}..{hi}"
        )
    # ISO year Y has 53 weeks exactly when 28 December of Y falls in week 53
    n_weeks = pl.date(pl.col("year"), 12, 28).dt.week()
    bad = df.with_columns(n=n_weeks).filter(~pl.col("wnum").is_between(1, pl.col("n")))
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"{path}:{row['line']}: week {row['week']!r} is not an ISO week: week number "
            f"{row['wnum']} not in 1..{row['n']} (ISO year {row['year']} has {row['n']} weeks)"
            f" ({bad.height} such row(s))"
        )
    return df.with_columns(monday=iso_week_monday(pl.col("year"), pl.col("wnum")))


def _check_repeats(df: pl.DataFrame, path: Path) -> None:
    """One export holds each (region, week) once: a repeat is a damaged file, so which value is
    right is unknown (overlapping exports in separate files are repaired by finalize)."""
    key = ["geo_insee", "week"]
    rep = df.filter(pl.struct(key).is_duplicated())
    if rep.height == 0:
        return
    rep = rep.sort("line").with_columns(first=pl.col("line").min().over(key))
    again = rep.filter(pl.col("line") != pl.col("first"))
    row = again.row(0, named=True)
    raise ValueError(
        f"{path}:{row['line']}: week {row['week']!r} repeated for geo_insee="
        f"{row['geo_insee']!r} (first at line {row['first']}; {again.height} repeated row(s))"
    )


def _log_gaps(df: pl.DataFrame, path: Path) -> None:
    """Weeks absent inside a region's sequence stay absent: harmonisation puts them on its
    period grid as missing values. Logged so a gap is never silent."""
    gaps = (
        df.select("geo_insee", "monday")
        .sort("geo_insee", "monday")
        .with_columns(step=pl.col("monday").diff().over("geo_insee").dt.total_days())
        .filter(pl.col("step") > 7)
    )
    for (geo,), part in gaps.group_by(["geo_insee"], maintain_order=True):
        n = int((part["step"] // 7 - 1).sum())
        iso = (part["monday"][0] - timedelta(days=int(part["step"][0]) - 7)).isocalendar()
        code = iso.year * 100 + iso.week
        log.warning(
            "%s: geo_insee=%r: %d missing week(s) in the weekly sequence (first missing %d), "
            "left missing (not interpolated)",
            path,
            geo,
            n,
            code,
        )


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    geo = options.get("geo")  # e.g. "73" (Midi-Pyrénées), or a list of codes; None keeps all
    variables = list(options.get("variables", ["inc100"]))
    parts = []
    for path in files:
        with path.open(encoding="utf8", errors="replace") as fh:
            first = fh.readline().lstrip("\ufeff")
        skip = 1 if first.startswith("#") else 0
        df = read_text_table(path, ",", skip_lines=skip)
        require_columns(df.columns, ["week", "geo_insee", *variables], str(path), skip + 1)
        df = _check_regions(df, path)
        if geo is not None:
            codes = [str(g) for g in geo] if isinstance(geo, list | tuple) else [str(geo)]
            df = log_skipped(
                df, pl.col("geo_insee").is_in(codes), f"geo_insee not in {codes}", path
            )
            if df.height == 0:
                raise ValueError(f"{path}: no rows for geo_insee={geo!r}")
        df = _iso_weeks(df, path)
        _check_repeats(df, path)
        _log_gaps(df, path)
        df = parse_numbers(df, variables, path).with_columns(
            time=local_midnight_utc(pl.col("monday"), tz), site=pl.col("geo_insee")
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
