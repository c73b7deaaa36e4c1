"""The simulated panel (zone x outcome x age band of the stays extraction) and a run on it."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from omegaconf import OmegaConf

PANEL = [
    "data=toulouse_sim_panel_small",  # after the tiny run's own data: this one wins
    "evaluation.bootstrap.n=0",
    "evaluation.horizons=[1,7]",
    "callbacks=none",
]


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory, compose_app, tiny_run):
    from respicast.cli.train import train

    out = tmp_path_factory.mktemp("simpanel") / "tcn"
    cfg = compose_app("train", out, [*tiny_run, *PANEL, "model=tcn"])
    return out, cfg, train(cfg)


def test_series_add_up_to_the_city_count(panel_run):
    from respicast.dataset.panel_datamodule import PanelDataModule
    from respicast.harmonize import build_daily_table

    _, cfg, _ = panel_run
    dm = PanelDataModule(cfg.data)
    panel = dm.panel
    assert panel.keys == ["zone", "outcome", "age_band"]
    static = panel.static_frame()
    # out-of-area stays are a series; no child COPD (no admission at all); the total is one
    assert "unknown" in static["zone"].to_list()
    assert static.filter((pl.col("outcome") == "copd") & (pl.col("age_band") == "0-14")).height == 0
    leaves = panel.frame.filter(pl.col("zone") != "all")
    summed = leaves.group_by("date").agg(pl.col(panel.target).sum()).sort("date")
    city_cfg = {**OmegaConf.to_container(cfg.data, resolve=True), "series": None, "totals": None}
    city = build_daily_table(city_cfg).frame
    np.testing.assert_array_equal(summed[panel.target], city.sort("date")[panel.target])
    total = panel.frame.filter(pl.col("zone") == "all").sort("date")
    np.testing.assert_array_equal(total[panel.target], summed[panel.target])
    # a total's population is its zones', not a sum over its series
    pop = dict(zip(static["zone"], static["log_population"], strict=False))
    assert pop["all"] < max(pop.values()) + np.log(10)


def test_a_panel_run_scores_each_series_and_the_total(panel_run):
    out, _, metrics = panel_run
    pred = pl.read_parquet(out / "predictions.parquet")
    assert pred.columns[:3] == ["zone", "outcome", "age_band"]
    n_series = pred.select("zone", "outcome", "age_band").n_unique()
    assert metrics["test/n_series_h1"] <= n_series
    assert np.isfinite(metrics["oracle/auroc_h1"]) and np.isfinite(metrics["ceiling/auroc_h1"])
    for how in ("direct", "bottom_up"):
        assert np.isfinite(metrics[f"total/all|all|all/auroc_{how}_h1"])
    assert metrics["series/toulouse_centre|copd|65-200/n_pos_h1"] > 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test/auroc_macro_h1"] == pytest.approx(metrics["test/auroc_macro_h1"])
    report = (out / "report.md").read_text()
    assert "## Series (test)" in report and "## Totals: direct vs bottom-up (test)" in report
