"""Causal filling of missing feature values, with a Boolean mask column per filled variable.

method `locf_then_seasonal` (default), in order, each step using only rows before the one filled:
1. carry the last known value forward for at most `max_locf_days` days;
2. trailing seasonal mean: mean over previous years of the ±7-day mean around the same day
   (365-day cycle; the latest value used is 358 days old);
3. mean of all earlier known values.
Rows before a variable's first known value stay missing (counted as `unfilled`).
`locf` stops after step 1; `none` only adds masks. Masks (`<column>_filled`) flag every row that was
missing as published.
"""

from __future__ import annotations

import logging

import polars as pl

log = logging.getLogger(__name__)
METHODS = ("locf_then_seasonal", "locf", "none")
CYCLE = 365
HALF_WINDOW = 7


def _seasonal(col: str) -> pl.Expr:
    smooth = pl.col(col).rolling_mean(2 * HALF_WINDOW + 1, center=True, min_samples=1)
    residue = pl.int_range(pl.len()) % CYCLE
    prev_sum = smooth.fill_null(0).cum_sum().shift(1).over(residue)
    prev_n = smooth.is_not_null().cast(pl.Int64).cum_sum().shift(1).over(residue)
    return pl.when(prev_n > 0).then(prev_sum / prev_n)


def _expanding(col: str) -> pl.Expr:
    known = pl.col(col).is_not_null().cast(pl.Int64).cum_sum().shift(1)
    total = pl.col(col).fill_null(0).cum_sum().shift(1)
    return pl.when(known > 0).then(total / known)


def fill_missing(
    frame: pl.DataFrame,
    columns: list[str],
    method: str = "locf_then_seasonal",
    max_locf_days: int = 3,
    log_counts: bool = True,
) -> tuple[pl.DataFrame, dict, dict]:
    """Fill `columns` of a date-sorted frame; returns (frame with masks, filled counts, unfilled
    counts). A caller filling many series at once logs their totals itself (log_counts=False)."""
    if method not in METHODS:
        raise ValueError(f"data.fill.method={method!r}; known {METHODS}")
    if max_locf_days < 0:
        raise ValueError(f"data.fill.max_locf_days must be >= 0, got {max_locf_days}")
    masks = [pl.col(c).is_null().alias(f"{c}_filled") for c in columns]
    out = frame.with_columns(masks)
    if method != "none":
        steps = []
        for c in columns:
            filled = (
                pl.col(c).fill_null(strategy="forward", limit=max_locf_days)
                if max_locf_days
                else pl.col(c)
            )
            if method == "locf_then_seasonal":
                filled = pl.coalesce(filled, _seasonal(c), _expanding(c))
            steps.append(filled.alias(c))
        out = out.with_columns(steps)
    filled_n, unfilled_n = {}, {}
    for c in columns:
        was = int(out[f"{c}_filled"].sum())
        left = int(out[c].null_count())
        filled_n[c], unfilled_n[c] = was - left, left
        if was and log_counts:
            log.info(
                "fill %s: %d value(s) filled, %d left missing (before any known value)",
                c,
                was - left,
                left,
            )
    return out, filled_n, unfilled_n
