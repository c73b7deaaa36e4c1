"""Realism of the default Toulouse world's daily COPD+asthma totals.

Reference values, measured with respicast.world.realism.series_stats on the real series in
/work/shared/data/real (Chicago NMMAPS respiratory deaths 1987-2000 / Campbelltown asthma ED
presentations 1990-1993): var/mean 1.40 / 1.39; lag-1 ACF 0.25 / 0.25; lag-7 ACF 0.24 / 0.25;
highest/lowest calendar-month mean 1.56 / 2.38; highest/lowest weekday mean 1.04 / 1.34;
share of days above the trailing-365-day 90th percentile 0.087 / 0.071.
The accepted ranges below bracket those values.
"""

from __future__ import annotations

import polars as pl
import pytest

from respicast.cli import CONFIG_DIR
from respicast.world import load_world_config
from respicast.world.admissions import simulate_truth
from respicast.world.exposures import true_exposures
from respicast.world.realism import series_stats

RANGES = {
    "mean": (3.0, 8.0),
    "var_over_mean": (1.25, 1.6),
    "acf1": (0.17, 0.33),
    "acf7": (0.17, 0.33),
    "month_max_over_min": (1.5, 2.4),
    "dow_max_over_min": (1.0, 1.35),
    "peak_fraction": (0.06, 0.10),
}


@pytest.mark.parametrize("seed", [0, 1])
def test_default_world_looks_like_real_series(seed):
    world = {**load_world_config("toulouse", CONFIG_DIR), "seed": seed}
    exposures, _ = true_exposures(world)
    daily = (
        simulate_truth(world, exposures).group_by("date").agg(pl.col("count").sum()).sort("date")
    )
    stats = series_stats(daily["date"].to_numpy(), daily["count"].to_numpy())
    outside = {k: round(v, 3) for k, v in stats.items() if not RANGES[k][0] <= v <= RANGES[k][1]}
    assert outside == {}, stats
