"""scripts/bench_panel.py --skill: the paired bootstrap, the per-series panels and the scores."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_panel.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_panel", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paired_delta_on_a_hand_example(bench):
    # a ranks both positives above both negatives (AUROC 1); b gets 2 of the 4 pairs right
    y = np.array([1, 0, 1, 0])
    a = np.array([0.9, 0.1, 0.8, 0.2])
    b = np.array([0.9, 0.95, 0.3, 0.2])
    weeks = np.array([1, 1, 2, 2])
    d, lo, hi = bench.paired_auroc_delta(y, a, b, weeks, n=200)
    assert d == pytest.approx(0.5)
    # a resample of week 1 twice: b wrong, delta 1 (p = 1/4); week 2 twice: b right, delta 0
    # (p = 1/4); both weeks: 0.5. Whole weeks are drawn, so the 95 % interval is [0, 1]
    assert lo == pytest.approx(0.0) and hi == pytest.approx(1.0)
    same = bench.paired_auroc_delta(y, a, a.copy(), weeks, n=50)
    assert same == pytest.approx((0.0, 0.0, 0.0))
    assert np.isnan(bench.paired_auroc_delta(y, a, b, weeks, n=0)[1])


def test_only_series_keeps_one_series_and_its_static_row(bench):
    panel = bench.synth_panel(8, 1, seed=3)
    key = panel.static_frame().select(panel.keys).row(5, named=True)
    one = bench.only_series(panel, key)
    assert one.static.height == 1 and one.static.row(0, named=True)["zone"] == key["zone"]
    assert one.frame.height == panel.frame.height // 8
    assert one.frame.select(panel.keys).unique().rows(named=True) == [key]


def test_score_pair_pools_rows_and_averages_series(bench):
    # series s1: a perfect, b reversed; series s2: both perfect (a and b the same)
    day = dt.date(2021, 3, 1)
    prob = {("s1", 1): 0.6, ("s1", 0): 0.4, ("s2", 1): 0.7, ("s2", 0): 0.3}
    rows = []
    for s, b_sign in (("s1", -1), ("s2", 1)):
        for i, peak in enumerate([1, 0, 1, 0]):
            for h in bench.HORIZONS:
                p = prob[(s, peak)]
                rows.append(
                    {
                        "zone": s,
                        "horizon": h,
                        "target_date": day + dt.timedelta(days=7 * i + h),
                        "peak": peak,
                        "a": p,
                        "b": 0.5 + b_sign * (p - 0.5),
                    }
                )
    out = bench.score_pair(pl.DataFrame(rows), "a", "b", n_boot=20, keys=["zone"])
    for h in bench.HORIZONS:
        r = out[f"h{h}"]
        assert (r["n"], r["n_pos"], r["series"], r["macro_series"]) == (8, 4, 2, 2)
        assert r["macro_a"] == pytest.approx(1.0) and r["macro_b"] == pytest.approx(0.5)
        # pooled b: positives 0.4, 0.4, 0.7, 0.7 against negatives 0.6, 0.6, 0.3, 0.3: 12/16
        assert r["a"] == pytest.approx(1.0) and r["b"] == pytest.approx(0.75)
        assert r["delta"] == pytest.approx(0.25)
