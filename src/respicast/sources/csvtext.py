"""Read delimited text as strings with 1-based file line numbers, so parse errors can name the line."""

from __future__ import annotations

from pathlib import Path

import polars as pl

MISSING_MARKERS = ("", "mq", "NA", "NaN", "nan", "-", "null")


def read_text_table(path: str | Path, separator: str = ",", skip_lines: int = 0) -> pl.DataFrame:
    """All columns as Utf8 plus `line` (file line of each row; header is line skip_lines+1)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: source file not found")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file")
    try:
        df = pl.read_csv(
            path,
            separator=separator,
            skip_rows=skip_lines,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError as exc:
        raise ValueError(f"{path}: malformed delimited text: {exc}") from exc
    if df.height == 0:
        raise ValueError(f"{path}: header but no data rows")
    # strip a UTF-8 byte-order mark some exports put before the first header
    df = df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})
    return df.with_row_index("line", offset=skip_lines + 2).with_columns(
        pl.col("line").cast(pl.Int64)
    )


def to_number(col: str) -> pl.Expr:
    """Text -> Float64; missing markers -> null (unparseable text also null: check with raise_unparsed)."""
    text = pl.col(col).str.strip_chars()
    return (
        pl.when(text.is_in(MISSING_MARKERS) | text.is_null())
        .then(None)
        .otherwise(text)
        .cast(pl.Float64, strict=False)
        .alias(col)
    )


def is_missing_text(col: str) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    return text.is_null() | text.is_in(MISSING_MARKERS)


def parse_numbers(df: pl.DataFrame, columns: list[str], file: str | Path) -> pl.DataFrame:
    """Parse text columns to Float64; text that is neither a number nor a missing marker raises."""
    parsed = df.with_columns([to_number(c) for c in columns])
    for c in columns:
        bad = df.filter(parsed[c].is_null() & ~df.select(is_missing_text(c)).to_series())
        if bad.height:
            raise ValueError(
                f"{file}:{bad['line'][0]}: cannot read {c}={bad[c][0]!r} as a number ({bad.height} such row(s))"
            )
    return parsed


def parse_dates(
    df: pl.DataFrame, column: str, fmt: str | None, file: str | Path, dtype=pl.Date
) -> pl.Series:
    """Parse a date/datetime text column; any unparseable or empty value raises naming the line."""
    text = df[column].str.strip_chars()
    if dtype == pl.Date:
        parsed = text.str.to_date(fmt, strict=False)
    else:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
    bad = df.filter(parsed.is_null())
    if bad.height:
        raise ValueError(
            f"{file}:{bad['line'][0]}: cannot read {column}={bad[column][0]!r} as a date"
            f"{' (' + fmt + ')' if fmt else ''} ({bad.height} such row(s))"
        )
    return parsed


def melt_values(df: pl.DataFrame, id_cols: list[str], value_cols: list[str]) -> pl.DataFrame:
    """Wide numeric columns -> long (variable, value) rows keeping ids and `line`."""
    return df.unpivot(
        index=[*id_cols, "line"], on=value_cols, variable_name="variable", value_name="value"
    )
