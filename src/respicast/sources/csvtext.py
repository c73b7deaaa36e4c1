"""Read delimited text as strings with 1-based file line numbers, so parse errors can name the line.

Every data line must hold as many fields as the header: a row with a field too few (or too many)
would otherwise be read with its values in the wrong columns (or padded with missing values), so
it is an error naming the file and line. Blank lines carry no data and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl

MISSING_MARKERS = ("", "mq", "NA", "NaN", "nan", "-", "null")
# any plausible observation date; a year outside is a damaged field, not history
YEARS = (1850, 2100)


def _per_line(data: bytes, skip_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte offsets (start, end) of each line after `skip_lines`, end excluding the newline
    (and a CR), plus the bytes as an array; vectorised so million-row exports stay fast."""
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(buf))
    starts = np.concatenate([[0], ends[:-1] + 1])[skip_lines:]
    ends = ends[skip_lines:]
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - cr, buf


def _count(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Number of True per line, a line running from its start to the next one (the newline and
    CR bytes are never counted: callers mask separators, quotes or printable bytes)."""
    at = np.searchsorted(np.flatnonzero(mask), np.append(starts, mask.size))
    return np.diff(at).astype(np.int64)


def _field_layout(path: Path, data: bytes, separator: str, skip_lines: int) -> np.ndarray:
    """Check field counts line by line; return a mask of the blank data lines (polars reads them
    as all-null rows). Quoted text is ignored when counting separators."""
    starts, ends, buf = _per_line(data, skip_lines)
    if len(starts) == 0:
        raise ValueError(f"{path}: empty file")
    sep = separator.encode()
    n_fields = _count(buf == sep[0], starts) + 1
    quotes = _count(buf == 34, starts) if b'"' in data else np.zeros(len(starts), np.int64)
    sep_re = re.escape(separator)
    one_field = rf'(?:"(?:[^"]|"")*"|[^"{sep_re}]*)'
    well_quoted = re.compile(rf"{one_field}(?:{sep_re}{one_field})*")
    for i in np.flatnonzero(quotes):  # separators inside quotes do not split fields
        line = data[starts[i] : ends[i]].decode("utf8", errors="replace")
        if quotes[i] % 2 or not well_quoted.fullmatch(line.strip()):
            raise ValueError(
                f"{path}:{skip_lines + 1 + i}: badly quoted field (unbalanced or stray double quote)"
            )
        n_fields[i] = re.sub(r'"(?:[^"]|"")*"', "", line).count(separator) + 1
    blank = np.zeros(len(starts), bool)
    for i in np.flatnonzero(ends - starts < 16):  # only short lines can be blank
        blank[i] = not data[starts[i] : ends[i]].strip()
    bad = (n_fields != n_fields[0]) & ~blank
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{path}:{skip_lines + 1 + at}: {n_fields[at]} field(s) where the header (line "
            f"{skip_lines + 1}) has {n_fields[0]}; {int(bad.sum())} such row(s)"
            " (a field dropped, added or cut off)"
        )
    header = data[starts[0] : ends[0]].rstrip()
    last = data[starts[-1] : ends[-1]].rstrip()
    cut = not data.endswith(b"\n") and len(starts) > 1 and last.endswith(sep)
    if cut and not header.endswith(sep):  # real SYNOP lines all end with ';'
        raise ValueError(
            f"{path}:{skip_lines + len(starts)}: last line has an empty last field and no "
            "newline: the file looks cut mid-row"
        )
    return blank[1:]


def read_text_table(path: str | Path, separator: str = ",", skip_lines: int = 0) -> pl.DataFrame:
    """All columns as Utf8 plus `line` (file line of each row; header is line skip_lines+1)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: source file not found")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file")
    data = path.read_bytes()
    blank = _field_layout(path, data, separator, skip_lines)
    offset = 0
    for _ in range(skip_lines):  # skipped here: a stray quote in a comment must not hide rows
        offset = data.index(b"\n", offset) + 1
    try:
        df = pl.read_csv(
            data[offset:] if offset else data,
            separator=separator,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"{path}: malformed delimited text: {exc}") from exc
    if df.height != len(blank):  # e.g. a quoted field spanning lines
        raise ValueError(
            f"{path}: malformed delimited text ({df.height} rows read from {len(blank)} lines)"
        )
    # strip a UTF-8 byte-order mark some exports put before the first header
    df = df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})
    df = df.with_row_index("line", offset=skip_lines + 2).with_columns(
        pl.col("line").cast(pl.Int64)
    )
    df = df.filter(pl.Series(~blank))
    if df.height == 0:
        raise ValueError(f"{path}: header but no data rows")
    return df


def to_number(col: str, na_values: Iterable[str] = (), decimal: str = ".") -> pl.Expr:
    """Text -> Float64; missing markers -> null (unparseable text also null: check with raise_unparsed)."""
    text = pl.col(col).str.strip_chars()
    number = text.str.replace(decimal, ".", literal=True) if decimal != "." else text
    return (
        pl.when(text.is_in([*MISSING_MARKERS, *na_values]) | text.is_null())
        .then(None)
        .otherwise(number)
        .cast(pl.Float64, strict=False)
        .alias(col)
    )


def is_missing_text(col: str, na_values: Iterable[str] = ()) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    return text.is_null() | text.is_in([*MISSING_MARKERS, *na_values])


def parse_numbers(
    df: pl.DataFrame,
    columns: list[str],
    file: str | Path,
    na_values: Iterable[str] = (),
    decimal: str = ".",
) -> pl.DataFrame:
    """Parse text columns to Float64; text that is neither a number nor a missing marker raises.

    `na_values` are extra missing-value markers, `decimal` the decimal mark ("," for 1,5)."""
    na_values = [str(v) for v in na_values]
    parsed = df.with_columns([to_number(c, na_values, decimal) for c in columns])
    for c in columns:
        bad = df.filter(parsed[c].is_null() & ~df.select(is_missing_text(c, na_values)).to_series())
        if bad.height:
            raise ValueError(
                f"{file}:{bad['line'][0]}: cannot read {c}={bad[c][0]!r} as a number ({bad.height} such row(s))"
            )
    return parsed


def check_years(df: pl.DataFrame, parsed: pl.Series, column: str, file: str | Path) -> None:
    """A date outside YEARS (e.g. year -1997 from a damaged field) raises naming the line."""
    year = parsed.dt.year()
    bad = df.filter((year < YEARS[0]) | (year > YEARS[1]))
    if bad.height:
        raise ValueError(
            f"{file}:{bad['line'][0]}: {column}={bad[column][0]!r} is outside the years "
            f"{YEARS[0]}..{YEARS[1]} ({bad.height} such row(s))"
        )


def parse_dates(
    df: pl.DataFrame, column: str, fmt: str | None, file: str | Path, dtype=pl.Date
) -> pl.Series:
    """Parse a date/datetime text column; any unparseable, empty or out-of-range value raises
    naming the line."""
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
    check_years(df, parsed, column, file)
    return parsed


def melt_values(df: pl.DataFrame, id_cols: list[str], value_cols: list[str]) -> pl.DataFrame:
    """Wide numeric columns -> long (variable, value) rows keeping ids and `line`."""
    return df.unpivot(
        index=[*id_cols, "line"], on=value_cols, variable_name="variable", value_name="value"
    )
