"""As-of honesty: changing any raw value published after day t never changes a row <= t."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from respicast.harmonize.build import feature_columns
from respicast.harmonize.fill import fill_missing
from respicast.harmonize.spatial import make_area
from respicast.sources.frame import Latency, Site, SourceMeta, finalize

TZ = "Europe/Paris"
START = dt.date(2021, 1, 4)  # a Monday
N_DAYS = 60
ZONES = pl.DataFrame(
    {"zone": ["a", "b"], "population": [1000, 3000], "lat": [43.60, 43.65], "lon": [1.40, 1.45]}
)


def _raw(times, site, variable, values, unit):
    return pl.DataFrame(
        {
            "time": times,
            "site": site,
            "variable": variable,
            "value": values,
            "unit": unit,
            "quality": "valid",
            "line": np.arange(len(values)),
        },
        schema_overrides={"time": pl.Datetime("us", "UTC"), "value": pl.Float64},
    )


def _sources(rng: np.random.Generator):
    t0 = dt.datetime(2021, 1, 3, 23, tzinfo=dt.UTC)
    hours = [t0 + dt.timedelta(hours=i) for i in range(N_DAYS * 24)]
    vals = rng.gamma(4, 5, size=(2, len(hours)))
    vals[rng.random(vals.shape) < 0.2] = np.nan  # gaps, so completeness and fill matter
    air_raw = pl.concat(
        [
            _raw(
                hours,
                s,
                "O3" if k else "NO2",
                [None if np.isnan(v) else v for v in vals[k]],
                "ug/m3",
            )
            for k, s in enumerate(["S1", "S2"])
        ]
    )
    air_meta = SourceMeta(
        "air",
        "atmo",
        "1h",
        Latency(1, 12),
        sites={"S1": Site("S1", 43.6, 1.4), "S2": Site("S2", 43.7, 1.5)},
        groups={"NO2": "pollution", "O3": "pollution"},
    )
    weeks = [t0 + dt.timedelta(weeks=i) for i in range(N_DAYS // 7 + 1)]
    wvals = rng.gamma(3, 50, size=len(weeks))
    ili_raw = _raw(weeks, "73", "inc100", list(wvals), "per100k")
    ili_meta = SourceMeta(
        "ili",
        "sentinelles",
        "1w",
        Latency(3, 12),
        sites={"73": Site("73")},
        groups={"inc100": "epidemics"},
    )
    days = [t0 + dt.timedelta(days=i) for i in range(N_DAYS)]
    pvals = [None if rng.random() < 0.3 else float(v) for v in rng.gamma(2, 30, size=N_DAYS)]
    pol_raw = _raw(days, "TLS", "Betula", pvals, "grains/m3")
    pol_meta = SourceMeta(
        "pollen",
        "pollen",
        "1d",
        Latency(3, 12),
        sites={"TLS": Site("TLS", 43.6, 1.44)},
        groups={"Betula": "pollen"},
    )
    return [(air_raw, air_meta), (ili_raw, ili_meta), (pol_raw, pol_meta)]


def _table(sources, weekly_to_daily: str) -> pl.DataFrame:
    dates = pl.date_range(START, START + dt.timedelta(days=N_DAYS + 5), "1d", eager=True)
    area = make_area("city", None, ZONES)
    read = {meta.name: (finalize(raw, meta, TZ, "test"), meta, {}) for raw, meta in sources}
    table, columns, _ = feature_columns(read, dates, area, {"method": "idw"}, TZ, weekly_to_daily)
    names = [c.name for c in columns]
    return fill_missing(table, names, "locf_then_seasonal", 3)[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    cut=st.integers(0, N_DAYS),
    mode=st.sampled_from(["step", "interpolate"]),
    to_missing=st.booleans(),
)
def test_values_published_after_t_never_change_rows_up_to_t(seed, cut, mode, to_missing):
    rng = np.random.default_rng(seed)
    sources = _sources(rng)
    t = START + dt.timedelta(days=cut)
    # end of day t in Paris: 23:00 UTC (the whole period is in winter time, CET)
    t_end = dt.datetime.combine(t, dt.time(23)).replace(tzinfo=dt.UTC)
    changed = []
    for raw, meta in sources:
        probe = finalize(raw, meta, TZ, "test")  # publication times of every raw row
        late = (probe.sort("time", "site", "variable")["published"] > t_end).to_numpy()
        raw = raw.sort("time", "site", "variable")
        noise = rng.gamma(2, 40, size=raw.height)
        new = pl.Series(
            np.where(late, np.nan if to_missing else noise, raw["value"].to_numpy())
        ).fill_nan(None)
        changed.append((raw.with_columns(value=new), meta))
    before = _table(sources, mode).filter(pl.col("date") <= t)
    after = _table(changed, mode).filter(pl.col("date") <= t)
    assert before.equals(after)


def test_property_has_teeth_rows_after_t_do_change():
    """The perturbation does reach later rows, so the property above is not vacuous."""
    rng = np.random.default_rng(1)
    sources = _sources(rng)
    bumped = [(raw.with_columns(value=pl.col("value") * 2 + 1), meta) for raw, meta in sources]
    a, b = _table(sources, "interpolate"), _table(bumped, "interpolate")
    assert not a.equals(b)
