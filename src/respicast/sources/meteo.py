"""Météo-France weather files: SYNOP 3-hourly records and daily climatological ("Q_") files.

SYNOP layout: `;`-separated, `numer_sta;date;pmer;t;td;u;ff;rr3;pres`, date YYYYMMDDHHMMSS UTC,
`t`/`td` kelvin, `u` %, `pmer`/`pres` Pa, `ff` m/s, `rr3` mm over the 3 h ending at `date`,
`mq` = missing. Daily climatological layout: `;`-separated, `NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;
AAAAMMJJ;RR;QRR;TN;QTN;TX;QTX;TM;QTM;...` in mm and °C, each value followed by its quality code
(2 = doubtful -> invalid).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from respicast.sources.csvtext import melt_values, parse_dates, parse_numbers, read_text_table
from respicast.sources.frame import (
    Site,
    SourceMeta,
    local_midnight_utc,
    log_skipped,
    require_columns,
)

SYNOP_UNITS = {
    "t": "K",
    "td": "K",
    "u": "%",
    "pmer": "Pa",
    "pres": "Pa",
    "ff": "m/s",
    "rr3": "mm",
    "rr1": "mm",
}
# Public Météo-France station list (postesSynop.csv): id -> (name, lat, lon)
SYNOP_STATIONS = {
    "07630": ("TOULOUSE-BLAGNAC", 43.621, 1.378833),
    "07627": ("ST GIRONS", 43.005333, 1.106833),
    "07643": ("MONTPELLIER", 43.577, 3.963167),
}
CLIM_UNITS = {
    "RR": "mm",
    "TN": "degC",
    "TX": "degC",
    "TM": "degC",
    "TNTXM": "degC",
    "FFM": "m/s",
    "UM": "%",
}


def read_synop(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    variables = list(options.get("variables", ["t", "td", "u", "ff", "rr3"]))
    known = {
        **{k: (v[1], v[2]) for k, v in SYNOP_STATIONS.items()},
        **{str(k): (v["lat"], v["lon"]) for k, v in (options.get("stations") or {}).items()},
    }
    keep = options.get("keep_stations")
    parts = []
    for path in files:
        df = read_text_table(path, ";")
        require_columns(df.columns, ["numer_sta", "date", *variables], str(path))
        df = df.with_columns(numer_sta=pl.col("numer_sta").str.strip_chars().str.zfill(5))
        if keep is not None:
            wanted = pl.col("numer_sta").is_in([str(s).zfill(5) for s in keep])
            df = log_skipped(df, wanted, f"numer_sta not in options.keep_stations {keep}", path)
        unknown = df.filter(~pl.col("numer_sta").is_in(list(known)))
        if unknown.height:
            raise ValueError(
                f"{path}:{unknown['line'][0]}: unknown station {unknown['numer_sta'][0]!r}; "
                "give its coordinates in options.stations {id: {lat, lon}}"
            )
        when = parse_dates(df, "date", "%Y%m%d%H%M%S", path, pl.Datetime).dt.replace_time_zone(
            "UTC"
        )
        df = parse_numbers(df, variables, path).with_columns(obs=when, site=pl.col("numer_sta"))
        for s in df["site"].unique():
            meta.sites[s] = Site(s, known[s][0], known[s][1], "synop")
        long = melt_values(df, ["obs", "site"], variables)
        # accumulated precipitation covers the 3 h before the observation: the period starts there
        long = long.with_columns(
            time=pl.when(pl.col("variable") == "rr3")
            .then(pl.col("obs") - pl.duration(hours=3))
            .otherwise("obs"),
            unit=pl.col("variable").replace_strict(SYNOP_UNITS, default=None),
            quality=pl.lit("valid"),
        ).drop("obs")
        no_unit = long.filter(pl.col("unit").is_null())
        if no_unit.height:
            raise ValueError(
                f"{path}: no unit known for SYNOP variable {no_unit['variable'][0]!r}; known {sorted(SYNOP_UNITS)}"
            )
        parts.append(long)
    return pl.concat(parts)


def read_climatological(
    files: list[Path], meta: SourceMeta, options: dict, tz: str
) -> pl.DataFrame:
    variables = list(options.get("variables", ["RR", "TN", "TX", "TM"]))
    keep = options.get("keep_stations")
    parts = []
    for path in files:
        df = read_text_table(path, ";")
        qcols = [f"Q{v}" for v in variables]
        require_columns(
            df.columns, ["NUM_POSTE", "LAT", "LON", "AAAAMMJJ", *variables, *qcols], str(path)
        )
        df = df.with_columns(NUM_POSTE=pl.col("NUM_POSTE").str.strip_chars())
        if keep is not None:
            wanted = pl.col("NUM_POSTE").is_in([str(s) for s in keep])
            df = log_skipped(df, wanted, f"NUM_POSTE not in options.keep_stations {keep}", path)
        day = parse_dates(df, "AAAAMMJJ", "%Y%m%d", path)
        df = parse_numbers(df, [*variables, "LAT", "LON"], path).with_columns(
            time=local_midnight_utc(pl.lit(day), tz), site=pl.col("NUM_POSTE")
        )
        for row in (
            df.group_by("site")
            .agg(
                pl.col("LAT").first(),
                pl.col("LON").first(),
                pl.col("NOM_USUEL").first() if "NOM_USUEL" in df.columns else pl.lit(""),
            )
            .iter_rows()
        ):
            meta.sites[row[0]] = Site(row[0], row[1], row[2], "climatological")
        long = melt_values(df, ["time", "site", *qcols], variables)
        qual = pl.coalesce(
            [
                pl.when(pl.col("variable") == v).then(pl.col(f"Q{v}").str.strip_chars())
                for v in variables
            ]
        )
        parts.append(
            long.with_columns(
                unit=pl.col("variable").replace_strict(CLIM_UNITS, default="degC"),
                quality=pl.when(qual == "2").then(pl.lit("invalid")).otherwise(pl.lit("valid")),
            ).drop(qcols)
        )
    return pl.concat(parts)
