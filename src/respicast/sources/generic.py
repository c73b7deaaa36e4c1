"""Bring-your-own-data reader: a CSV or Parquet table described entirely in YAML.

options:
  separator: ","            # CSV only
  decimal: "."              # CSV only: "," for 1,5 (then the separator must not be ",")
  na_values: [n/a, "?"]     # extra missing-value markers (always: "", NA, NaN, nan, -, null, mq)
  date_column: date
  date_format: "%Y-%m-%d"   # strptime format; ignored when the Parquet column is already a date
  site: chicago             # constant site id, or site_column: <column> (or a list of columns:
                            # the site is their values joined by "|", e.g. a region x age class)
  lat: .. / lon: ..         # optional coordinates of a constant site; site_type: optional type
  columns: {col: {unit: degC, group: weather, variable: temp}}   # variable defaults to col
           # ppb/ppm columns are converted to ug/m3 (EU reference conditions, see units.py);
           # the gas is the variable name (no2, o3, so2, co, ...) or `gas: NO2`
  ignore: [col, ...]        # columns deliberately not read (anything else unlisted is logged)
The source's `resolution` (default 1d) and `latency` come from the source entry. The target count
of a real data set is one such column (unit count, group history). A column whose values are 1 day
apart in places and a week apart (4+ rows in a row) elsewhere mixes resolutions: an error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from respicast.sources.csvtext import melt_values, parse_dates, parse_numbers, read_text_table
from respicast.sources.frame import Site, SourceMeta, local_midnight_utc, require_columns
from respicast.sources.units import MIXING_RATIOS, canonical, mixing_ratio_scale

log = logging.getLogger(__name__)

OPTIONS = {
    "separator",
    "decimal",
    "na_values",
    "date_column",
    "date_format",
    "site",
    "site_column",
    "site_type",
    "lat",
    "lon",
    "columns",
    "ignore",
}
COLUMN_KEYS = {"unit", "group", "variable", "gas"}
WEEKLY_RUN = 3  # 7-day steps in a row (4 rows a week apart) that make a stretch weekly


def _read_table(path: Path, options: dict) -> tuple[pl.DataFrame, dict]:
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


def _column_specs(name: str, options: dict) -> dict[str, dict]:
    """Check options and options.columns (config errors name the key); each spec gets `scale`:
    1, or the ppb/ppm -> ug/m3 factor of its gas."""
    key = f"data.sources.{name}.options"
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ValueError(f"{key}: unknown key(s) {unknown}; allowed {sorted(OPTIONS)}")
    columns = dict(options.get("columns") or {})
    if not columns:
        raise ValueError(f"{key}.columns is empty; list the value columns with unit and group")
    if options.get("decimal", ".") not in (".", ","):
        raise ValueError(f"{key}.decimal={options['decimal']!r}; use '.' or ','")
    if options.get("decimal") == "," and options.get("separator", ",") == ",":
        raise ValueError(f"{key}: decimal ',' needs another separator (e.g. separator: ';')")
    specs = {}
    for col, spec in columns.items():
        spec = dict(spec or {})
        where = f"{key}.columns.{col}"
        bad = sorted(set(spec) - COLUMN_KEYS)
        if bad:
            raise ValueError(f"{where}: unknown key(s) {bad}; allowed {sorted(COLUMN_KEYS)}")
        if not spec.get("unit"):
            raise ValueError(f"{where}.unit is required")
        spec["variable"] = str(spec.get("variable", col))
        unit = str(spec["unit"])
        if unit in MIXING_RATIOS:
            gas = spec.get("gas", spec["variable"])
            spec["scale"] = mixing_ratio_scale(unit, gas, f"{where} (set {where}.gas)")
            spec["unit"] = "ug/m3"
        else:
            canonical(unit, f"{where}.unit")  # an unknown unit is a config problem
            spec["scale"] = 1.0
        specs[str(col)] = spec
    return specs


def _times(
    df: pl.DataFrame, date_col: str, fmt: str, path: Path, tz: str
) -> tuple[pl.Expr, pl.Series]:
    """(UTC instant expression, local calendar day of each row)."""
    has_time = any(t in fmt for t in ("%H", "%M", "%S"))
    parsed = parse_dates(df, date_col, fmt, path, pl.Datetime if has_time else pl.Date)
    if has_time:  # a local clock time
        stamp = parsed.dt.replace_time_zone(
            tz, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
        return pl.lit(stamp), parsed.dt.date()
    return local_midnight_utc(pl.lit(parsed), tz), parsed


def _mixed_steps(days: np.ndarray) -> tuple[int, int] | None:
    """Positions in sorted distinct `days` of the first 1-day step and of the first run of
    WEEKLY_RUN 7-day steps in a row, when a series has both; None otherwise. A lone 7-day
    step is a gap in daily data, not weekly rows."""
    step = np.diff(days)
    if len(step) < WEEKLY_RUN:
        return None
    daily = np.flatnonzero(step == 1)
    runs = np.convolve(step == 7, np.ones(WEEKLY_RUN, int), "valid") == WEEKLY_RUN
    weekly = np.flatnonzero(runs)
    return (int(daily[0]), int(weekly[0])) if daily.size and weekly.size else None


def _check_one_resolution(df: pl.DataFrame, columns: list[str], path: Path) -> None:
    """Daily and weekly rows inside one column (e.g. a weekly stretch appended to daily counts)
    would be read as one series at the source's resolution: an error naming file and column."""
    for col in columns:
        known = df.filter(pl.col(col).is_not_null()).select("site", "day", "line")
        for (site,), part in known.group_by(["site"], maintain_order=True):
            part = part.sort("day", "line").unique("day", keep="first", maintain_order=True)
            found = _mixed_steps(part["day"].cast(pl.Int32).to_numpy())
            if found is None:
                continue
            line = part["line"]
            d, w = found
            raise ValueError(
                f"{path}: column {col!r} (site {site!r}) mixes daily and weekly rows: values "
                f"1 day apart at lines {line[d]} and {line[d + 1]}, 7 days apart "
                f"{WEEKLY_RUN} times in a row from line {line[w]}; give each resolution its "
                "own source (resolution 1d or 1w)"
            )


def read(files: list[Path], meta: SourceMeta, options: dict, tz: str) -> pl.DataFrame:
    specs = _column_specs(meta.name, options)
    date_col = options.get("date_column", "date")
    ignore = set(options.get("ignore") or [])
    site_col = options.get("site_column")
    site_cols = [site_col] if isinstance(site_col, str) else list(site_col or [])
    parts = []
    for path in files:
        df, opts = _read_table(path, options)
        require_columns(df.columns, [date_col, *specs, *site_cols], str(path))
        unlisted = sorted(set(df.columns) - set(specs) - ignore - {date_col, "line", *site_cols})
        if unlisted:
            log.info("%s: %d column(s) not configured, not read: %s", path, len(unlisted), unlisted)
        time, day = _times(df, date_col, opts.get("date_format", "%Y-%m-%d"), path, tz)
        site = (
            pl.concat_str([pl.col(c).str.strip_chars() for c in site_cols], separator="|")
            if site_cols
            else pl.lit(str(options.get("site", meta.name)))
        )
        df = parse_numbers(
            df, list(specs), path, options.get("na_values") or (), options.get("decimal", ".")
        ).with_columns([pl.col(c) * s["scale"] for c, s in specs.items()])
        df = df.with_columns(time=time, site=site)
        _check_one_resolution(df.with_columns(day=day), list(specs), path)
        for s in df["site"].unique():
            meta.sites[s] = Site(
                s, options.get("lat"), options.get("lon"), options.get("site_type", "")
            )
        for spec in specs.values():
            meta.groups[spec["variable"]] = spec.get("group", meta.groups.get("*", "weather"))
        long = melt_values(df, ["time", "site"], list(specs))
        parts.append(
            long.with_columns(
                unit=pl.col("variable").replace_strict({c: s["unit"] for c, s in specs.items()}),
                variable=pl.col("variable").replace_strict(
                    {c: s["variable"] for c, s in specs.items()}
                ),
                quality=pl.lit("valid"),
            )
        )
    return pl.concat(parts)
