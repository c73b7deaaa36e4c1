"""respicast-forecast format=hub: the hubverse model-output table, checked as a hub would."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from respicast.evaluation.quantiles import HUB_LEVELS
from respicast.forecast import make_forecast
from respicast.forecast.hub import SCHEMA, check_hub_frame, hub_frame

ASOF = "1999-03-10"  # inside the test period of the tiny Chicago run (conftest)
CFG = {"freshness": {"max_staleness_days": {"default": 14, "admissions": 7}}}


def forecast_cli(run, out, *overrides: str) -> subprocess.CompletedProcess:
    """respicast-forecast of ``run`` as of ASOF into ``out``, in a subprocess."""
    cmd = [sys.executable, "-m", "respicast.cli.forecast", f"ckpt_path={run}", f"asof={ASOF}"]
    cmd += [*overrides, f"hydra.run.dir={out}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_cli_format_hub_writes_a_valid_model_output_file(lstm_run, tmp_path):
    out = tmp_path / "fc"
    res = forecast_cli(lstm_run, out, "format=hub", "hub.location=US-IL-CHI")
    assert res.returncode == 0, res.stderr[-3000:]
    path = out / "model-output" / "respicast-lstm" / f"{ASOF}-respicast-lstm.csv"
    frame = pl.read_csv(path, schema=SCHEMA)
    check_hub_frame(frame)
    assert frame.height == 7 * len(HUB_LEVELS)
    assert frame["location"].unique().to_list() == ["US-IL-CHI"]
    assert frame["output_type"].unique().to_list() == ["quantile"]
    target = json.loads((out / "forecast.json").read_text())["target"]
    assert frame["target"].unique().to_list() == [f"inc {target}"]
    for (h,), g in frame.group_by(["horizon"]):
        assert g["output_type_id"].sort().to_list() == pytest.approx(list(HUB_LEVELS))
        assert (g["target_end_date"] == dt.date(1999, 3, 10) + dt.timedelta(days=h)).all()
        assert np.all(np.diff(g.sort("output_type_id")["value"].to_numpy()) >= 0)


def test_hub_quantiles_are_the_forecast_count_distribution(lstm_run, chicago_table):
    fc = make_forecast(lstm_run, ASOF, CFG, table=chicago_table)
    frame = hub_frame(fc, location="x", target="inc admissions", levels=[0.1, 0.5, 0.9])
    from scipy import stats

    day = fc.days.filter(pl.col("horizon") == 2).row(0, named=True)
    k, m = day["dispersion"], day["expected"]
    want = stats.nbinom.ppf([0.1, 0.5, 0.9], k, k / (k + m)) if np.isfinite(k) else None
    if want is None:
        want = stats.poisson.ppf([0.1, 0.5, 0.9], m)
    got = frame.filter(pl.col("horizon") == 2).sort("output_type_id")["value"].to_numpy()
    np.testing.assert_allclose(got, want)
    # the forecast's own 80 % interval is the table's 0.1 and 0.9 quantiles
    assert got[0] == day["lower_80"] and got[2] == day["upper_80"]


def test_bad_levels_and_broken_tables_are_refused(lstm_run, chicago_table):
    fc = make_forecast(lstm_run, ASOF, CFG, table=chicago_table)
    with pytest.raises(ValueError, match="hub.quantile_levels"):
        hub_frame(fc, location="x", target="t", levels=[0.5, 1.2])
    with pytest.raises(ValueError, match="hub.quantile_levels"):
        hub_frame(fc, location="x", target="t", levels=[0.9, 0.1])
    good = hub_frame(fc, location="x", target="t")
    swapped = good.with_columns(
        value=pl.when(pl.col("output_type_id") == 0.99).then(-1.0).otherwise(pl.col("value"))
    )
    with pytest.raises(ValueError, match="quantiles decrease"):
        check_hub_frame(swapped)
    with pytest.raises(ValueError, match="appears twice"):
        check_hub_frame(pl.concat([good, good.head(1)]))
    with pytest.raises(ValueError, match="columns"):
        check_hub_frame(good.drop("location"))


def test_an_unknown_format_is_named(lstm_run, tmp_path):
    res = forecast_cli(lstm_run, tmp_path, "format=xlsx")
    assert res.returncode == 2 and "format='xlsx'" in res.stderr
