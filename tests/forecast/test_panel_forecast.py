"""A weekly regional panel (Sentinelles ILI, real): train, then respicast-forecast format=hub
writes one hubverse location per region with weekly horizons; the page has a section per series."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from respicast.evaluation.quantiles import HUB_LEVELS
from respicast.forecast.hub import SCHEMA, check_hub_frame

from .test_hub import forecast_cli

ASOF = "2024-01-07"  # a Sunday inside the test period (2019-...)
REGIONS = ["73", "11", "94"]


@pytest.fixture(scope="module")
def regional_run(train_fn, tmp_path_factory):
    out = tmp_path_factory.mktemp("regions") / "run"
    # the weekly panel of 22 regions, cut to 3 so the test stays short; one climatology each
    return train_fn(
        out,
        [
            "data=sentinelles_ili_regions",
            f"data.sources.ili.options.geo=[{','.join(REGIONS)}]",
            "model=climatology",
        ],
    )


def test_the_weekly_panel_run_carries_regions_and_weeks(regional_run):
    pred = pl.read_parquet(regional_run / "predictions.parquet")
    assert pred.columns[0] == "geo_insee"
    assert sorted(pred["geo_insee"].unique().to_list()) == sorted(REGIONS)
    gaps = (pred["target_date"] - pred["origin_date"]).dt.total_days()
    np.testing.assert_array_equal(gaps.to_numpy(), 7 * pred["horizon"].to_numpy())
    assert (pred["origin_date"].dt.weekday() == 7).all()  # origins at each Sunday
    metrics = json.loads((regional_run / "metrics.json").read_text())
    assert "test/auroc_macro_h1" in metrics and "series/73/n_pos_h1" in metrics


def test_hub_export_of_a_weekly_panel(regional_run, tmp_path):
    out = tmp_path / "fc"
    res = forecast_cli(regional_run, out, "format=hub", f"asof={ASOF}")
    assert res.returncode == 0, res.stderr[-3000:]
    [path] = list((out / "model-output").rglob(f"{ASOF}-*.csv"))
    frame = pl.read_csv(path, schema=SCHEMA)
    check_hub_frame(frame)
    assert sorted(frame["location"].unique().to_list()) == sorted(REGIONS)
    assert frame.height == len(REGIONS) * 4 * len(HUB_LEVELS)  # 4 weekly horizons
    asof = dt.date.fromisoformat(ASOF)
    for (loc, h), g in frame.group_by(["location", "horizon"]):
        assert g["output_type_id"].sort().to_list() == pytest.approx(list(HUB_LEVELS))
        assert (g["target_end_date"] == asof + dt.timedelta(weeks=h)).all()  # Sundays
        assert np.all(np.diff(g.sort("output_type_id")["value"].to_numpy()) >= 0), loc
    page = (out / "forecast.html").read_text()
    assert page.count('<h1 class="series">') == len(REGIONS)
    csv = pl.read_csv(out / "forecast.csv", schema_overrides={"geo_insee": pl.String})
    assert sorted(csv["geo_insee"].unique().to_list()) == sorted(REGIONS)


def test_an_unknown_series_is_named(regional_run, tmp_path):
    res = forecast_cli(regional_run, tmp_path / "fc", f"asof={ASOF}", "series=[99]")
    assert res.returncode != 0
    assert "forecast.series: 99 is no series of this run" in res.stderr
