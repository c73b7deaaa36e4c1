"""Géod'air / ATMO Occitanie station export.

Layout: comma-separated `X,Y,nom_dept,nom_com,insee_com,nom_station,code_station,typologie,
influence,nom_poll,id_poll_ue,valeur,unite,metrique,date_debut,date_fin,statut_valid,x_l93,y_l93,
ObjectId`; `date_debut` ISO-8601 UTC; `statut_valid` t (valid) / f (invalidated); station
coordinates in Lambert-93 (EPSG:2154), converted to WGS84 with pyproj.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from respicast.sources.csvtext import (
    check_years,
    is_missing_text,
    parse_numbers,
    read_text_table,
)
from respicast.sources.frame import Site, SourceMeta, log_skipped, require_columns

METRIQUE_RESOLUTION = {"horaire": "1h", "journaliere": "1d", "mensuelle": "1mo"}
NEEDED = [
    "nom_station",
    "code_station",
    "typologie",
    "influence",
    "nom_poll",
    "valeur",
    "unite",
    "metrique",
    "date_debut",
    "statut_valid",
    "x_l93",
    "y_l93",
]


@lru_cache(maxsize=1)
def _lambert93_to_wgs84():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    pollutants = options.get("pollutants")  # e.g. [NO2, PM10, PM2.5, O3]; None keeps all
    stations = options.get("stations")  # station codes to keep; None keeps all
    parts = []
    for path in files:
        df = read_text_table(path, ",")
        require_columns(df.columns, NEEDED, str(path))
        df = df.with_columns(
            pl.col(c).str.strip_chars()
            for c in ["code_station", "nom_poll", "metrique", "statut_valid"]
        )
        if pollutants is not None:
            keep = pl.col("nom_poll").is_in([str(p) for p in pollutants])
            df = log_skipped(df, keep, f"nom_poll not in options.pollutants {pollutants}", path)
        if stations is not None:
            keep = pl.col("code_station").is_in([str(s) for s in stations])
            df = log_skipped(df, keep, f"code_station not in options.stations {stations}", path)
        if df.height == 0:
            raise ValueError(f"{path}: no rows for pollutants={pollutants} stations={stations}")
        meta.resolution = _resolution(df, path)
        _check_station_and_validity(df, path)
        df = parse_numbers(df, ["valeur", "x_l93", "y_l93"], path)
        start = (
            df["date_debut"]
            .str.strip_chars()
            .str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
        )
        bad = df.filter(start.is_null())
        if bad.height:
            raise ValueError(
                f"{path}:{bad['line'][0]}: cannot read date_debut={bad['date_debut'][0]!r}"
            )
        check_years(df, start, "date_debut", path)
        df = df.with_columns(time=start)
        _record_stations(df, meta, path)
        parts.append(
            df.select(
                "time",
                "line",
                site=pl.col("code_station"),
                variable=pl.col("nom_poll"),
                value=pl.col("valeur"),
                unit=pl.col("unite").str.strip_chars(),
                quality=pl.when(pl.col("statut_valid") == "t")
                .then(pl.lit("valid"))
                .otherwise(pl.lit("invalid")),
            )
        )
    return pl.concat(parts)


def _check_station_and_validity(df: pl.DataFrame, path: Path) -> None:
    no_station = df.filter(
        is_missing_text("code_station") | is_missing_text("x_l93") | is_missing_text("y_l93")
    )
    if no_station.height:
        raise ValueError(
            f"{path}:{no_station['line'][0]}: unknown station (code or Lambert-93 coordinates missing)"
        )
    bad = df.filter(~df["statut_valid"].is_in(["t", "f"]).fill_null(False))
    if bad.height:
        raise ValueError(
            f"{path}:{bad['line'][0]}: statut_valid={bad['statut_valid'][0]!r} (expected t or f)"
        )


def _resolution(df: pl.DataFrame, path: Path) -> str:
    """The file's one metrique; an unknown or odd one out raises naming its line."""
    first = df["metrique"][0]
    odd = df.filter(
        ~pl.col("metrique").is_in(list(METRIQUE_RESOLUTION)).fill_null(False)
        | (pl.col("metrique") != first).fill_null(True)
    )
    if odd.height or first not in METRIQUE_RESOLUTION:
        row = df.row(0, named=True) if first not in METRIQUE_RESOLUTION else odd.row(0, named=True)
        raise ValueError(
            f"{path}:{row['line']}: metrique={row['metrique']!r}; it must be one of "
            f"{list(METRIQUE_RESOLUTION)} and the same on every row (first row: {first!r})"
        )
    return METRIQUE_RESOLUTION[first]


def _record_stations(df: pl.DataFrame, meta: SourceMeta, path: Path) -> None:
    st = df.group_by("code_station").agg(
        pl.col("x_l93").first(),
        pl.col("y_l93").first(),
        pl.col("typologie").first(),
        pl.col("influence").first(),
        (pl.col("x_l93").n_unique() + pl.col("y_l93").n_unique()).alias("n_xy"),
    )
    moved = st.filter(pl.col("n_xy") > 2)
    if moved.height:
        code = moved["code_station"][0]
        rows = df.filter(pl.col("code_station") == code)
        other = rows.filter(
            (pl.col("x_l93") != rows["x_l93"][0]) | (pl.col("y_l93") != rows["y_l93"][0])
        )
        raise ValueError(
            f"{path}:{other['line'][0]}: station {code} has several Lambert-93 positions "
            f"(x_l93, y_l93 differ from line {rows['line'][0]})"
        )
    lon, lat = _lambert93_to_wgs84().transform(st["x_l93"].to_numpy(), st["y_l93"].to_numpy())
    for i, row in enumerate(st.iter_rows(named=True)):
        kind = f"{row['typologie'] or ''}/{row['influence'] or ''}".lower()
        meta.sites[row["code_station"]] = Site(
            row["code_station"], float(lat[i]), float(lon[i]), kind
        )
