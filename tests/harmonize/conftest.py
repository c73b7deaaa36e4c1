"""Small synthetic source frames built through the real finalize() path."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from respicast.sources.frame import Latency, Site, SourceMeta, finalize

TZ = "Europe/Paris"


def hourly_source(
    values: np.ndarray,
    start: dt.datetime,
    variable: str = "NO2",
    site: str = "S1",
    name: str = "air",
) -> tuple[pl.DataFrame, SourceMeta]:
    """One hourly station; NaN values become missing records."""
    times = [start + dt.timedelta(hours=i) for i in range(len(values))]
    raw = pl.DataFrame(
        {
            "time": times,
            "site": site,
            "variable": variable,
            "value": [None if np.isnan(v) else float(v) for v in values],
            "unit": "ug/m3",
            "quality": "valid",
            "line": np.arange(2, len(values) + 2),
        },
        schema_overrides={"time": pl.Datetime("us", "UTC"), "value": pl.Float64},
    )
    meta = SourceMeta(
        name,
        "atmo",
        "1h",
        Latency(1, 12),
        sites={site: Site(site, 43.6, 1.44)},
        groups={variable: "pollution"},
    )
    return finalize(raw, meta, TZ, "test"), meta


@pytest.fixture
def hourly():
    return hourly_source
