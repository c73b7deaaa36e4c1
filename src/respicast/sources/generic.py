"""Bring-your-own-data reader: a CSV or Parquet table described entirely in YAML.

options:
  separator: ","            # CSV only
  date_column: date
  date_format: "%Y-%m-%d"   # strptime format; ignored when the Parquet column is already a date
  site: chicago             # constant site id, or site_column: <column>
  lat: .. / lon: ..         # optional coordinates of a constant site
  columns: {col: {unit: degC, group: weather, variable: temp}}   # variable defaults to col
  ignore: [col, ...]        # columns deliberately not read (anything else unlisted is logged)
The source's `resolution` (default 1d) and `latency` come from the source entry. The target count
of a real data set is one such column (unit count, group history).
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from respicast.sources.csvtext import melt_values, parse_dates, parse_numbers, read_text_table
from respicast.sources.frame import Site, SourceMeta, local_midnight_utc, require_columns

log = logging.getLogger(__name__)


def _read_table(path: Path, options: dict) -> pl.DataFrame:
    if path.suffix.lower() in (".parquet", ".pq"):
        if not path.exists():
            raise FileNotFoundError(f"{path}: source file not found")
        df = pl.read_parquet(path)
        if df.height == 0:
            raise ValueError(f"{path}: no data rows")
        date_col = options.get("date_column", "date")
        keep_date = date_col in df.columns and df[date_col].dtype.is_temporal()
        as_text = df.with_columns(
            pl.col(c).cast(pl.Utf8) for c in df.columns if not (keep_date and c == date_col)
        )
        if keep_date:  # a typed date needs no format
            as_text = as_text.with_columns(
                pl.col(date_col).cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M:%S")
            )
            options = {**options, "date_format": "%Y-%m-%d %H:%M:%S"}
        return as_text.with_row_index("line", offset=1).with_columns(
            pl.col("line").cast(pl.Int64)
        ), options
    return read_text_table(path, options.get("separator", ",")), options


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    columns: dict = dict(options.get("columns") or {})
    if not columns:
        raise ValueError(
            f"source {meta.name!r}: options.columns is empty; list the value columns with unit and group"
        )
    date_col = options.get("date_column", "date")
    ignore = set(options.get("ignore") or [])
    parts = []
    for path in files:
        df, opts = _read_table(path, options)
        require_columns(df.columns, [date_col, *columns], str(path))
        unlisted = sorted(
            set(df.columns) - set(columns) - ignore - {date_col, "line", options.get("site_column")}
        )
        if unlisted:
            log.info("%s: %d column(s) not configured, not read: %s", path, len(unlisted), unlisted)
        fmt = opts.get("date_format", "%Y-%m-%d")
        has_time = any(t in fmt for t in ("%H", "%M", "%S"))
        parsed = parse_dates(df, date_col, fmt, path, pl.Datetime if has_time else pl.Date)
        if has_time:  # a local clock time
            stamp = parsed.dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
            time = pl.lit(stamp)
        else:
            time = local_midnight_utc(pl.lit(parsed), tz)
        site_col = options.get("site_column")
        site = (
            pl.col(site_col).str.strip_chars()
            if site_col
            else pl.lit(str(options.get("site", meta.name)))
        )
        df = parse_numbers(df, list(columns), path).with_columns(time=time, site=site)
        for s in df["site"].unique():
            meta.sites[s] = Site(
                s, options.get("lat"), options.get("lon"), options.get("site_type", "")
            )
        long = melt_values(df, ["time", "site"], list(columns))
        rename = {c: str((spec or {}).get("variable", c)) for c, spec in columns.items()}
        units = {c: (spec or {}).get("unit") for c, spec in columns.items()}
        no_unit = [c for c, u in units.items() if not u]
        if no_unit:
            raise ValueError(f"source {meta.name!r}: options.columns.{no_unit[0]}.unit is required")
        for c, spec in columns.items():
            meta.groups[rename[c]] = (spec or {}).get("group", meta.groups.get("*", "weather"))
        parts.append(
            long.with_columns(
                unit=pl.col("variable").replace_strict(units),
                variable=pl.col("variable").replace_strict(rename),
                quality=pl.lit("valid"),
            )
        )
    return pl.concat(parts)
