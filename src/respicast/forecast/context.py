"""What a ward needs around the numbers: who the forecast is for, what a peak is, and the usual
level for the season to compare the expected admissions with.

Everything here reads only days known on the as-of date (the usual level uses earlier years'
counts up to the last day whose count is known then).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

OUTCOME_WORDS = {"copd": "COPD", "asthma": "asthma"}


def outcome_text(data_cfg, configured: str | None) -> str:
    """'COPD and asthma admissions' from the data config's target outcomes (or the label set)."""
    if configured:
        return str(configured)
    target = data_cfg.get("target") or {}
    outcomes = [OUTCOME_WORDS.get(str(o), str(o)) for o in (target.get("outcomes") or [])]
    if not outcomes:
        return f"{target.get('name') or target.get('column') or 'hospital'} admissions"
    words = outcomes[0] if len(outcomes) == 1 else ", ".join(outcomes[:-1]) + " and " + outcomes[-1]
    return f"{words} admissions"


def labels(cfg: dict, data_cfg, area: str) -> dict:
    """{outcome, hospital, ward, area, sources} for the page (conf/forecast.yaml `labels`, with
    `labels.by_data.<data name>` over the defaults)."""
    lab = dict(cfg or {})
    by = (lab.get("by_data") or {}).get(data_cfg.get("name")) or {}
    if lab.get("area"):
        area = lab["area"]
    elif area in ("city", "", None):  # the level's name says nothing; a zone's name does
        area = by.get("area") or f"the whole area of the data ({data_cfg.get('name')})"
    lab |= {k: v for k, v in by.items() if k != "area"}
    return {
        "outcome": outcome_text(data_cfg, lab.get("outcome")),
        "hospital": lab.get("hospital"),
        "ward": lab.get("ward"),
        "area": area,
        "sources": dict(lab.get("sources") or {}),
    }


def peak_rule_text(data_cfg) -> str:
    """What a peak day is, in words, from data.peak."""
    peak = data_cfg.get("peak") or {}
    method = peak.get("method", "trailing_quantile")
    if method == "trailing_quantile":
        q = float(peak.get("q", 0.9))
        return (
            f"a day with more admissions than {100 * q:.0f} % of the days of the "
            f"{int(peak.get('window_days', 365))} days before"
        )
    if method == "seasonal_sd":
        return f"a day more than {peak.get('k_sd', 1.5)} standard deviations above the usual level"
    return f"a day above the training period's {100 * float(peak.get('q', 0.9)):.0f} % quantile"


def usual_level(
    frame: pl.DataFrame,
    target: str,
    days: list[dt.date],
    known_by: dt.date,
    half_width: int = 7,
    years: int = 5,
) -> np.ndarray:
    """Per day: the mean daily count of the same ±half_width calendar days in up to `years`
    earlier years (only days known by `known_by`); NaN when none is known."""
    known = frame.filter(pl.col("date") <= known_by).select("date", target).drop_nulls()
    out = np.full(len(days), np.nan)
    for i, d in enumerate(days):
        windows = []
        for y in range(1, years + 1):
            try:
                centre = d.replace(year=d.year - y)
            except ValueError:  # 29 February
                centre = d.replace(year=d.year - y, day=28)
            lo, hi = centre - dt.timedelta(days=half_width), centre + dt.timedelta(days=half_width)
            windows.append(pl.col("date").is_between(lo, hi))
        sel = known.filter(pl.any_horizontal(windows))
        if sel.height:
            out[i] = float(sel[target].cast(pl.Float64).mean())
    return out
