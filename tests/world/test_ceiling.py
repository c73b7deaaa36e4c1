"""The achievable ceiling: the planted model fed only what is known at the origin."""

from __future__ import annotations

import json
import shutil

import numpy as np
import polars as pl
import pytest
import yaml
from scipy.stats import poisson
from sklearn.metrics import roc_auc_score

from respicast.cli import CONFIG_DIR
from respicast.cli.train import train
from respicast.dataset.targets import peak_thresholds
from respicast.run_outputs import _auroc_by_horizon
from respicast.world import load_world_config
from respicast.world.admissions import simulate_truth
from respicast.world.ceiling import (
    CEILING_GROUPS,
    World,
    ceiling_forecast,
    exposure_terms,
    known_future_terms,
)
from respicast.world.exposures import true_exposures
from respicast.world.oracle import peak_probability

HORIZONS = np.arange(1, 8)


def _grid(origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(origins, HORIZONS.size), np.tile(HORIZONS, origins.size)


def _copy_truth_files(src, dst):
    dst.mkdir()
    for name in ("world.yaml", "truth.parquet", "exposures.parquet"):
        shutil.copy(src / name, dst / name)
    return dst


def _scramble_after(frame: pl.DataFrame, day, rng) -> pl.DataFrame:
    """Every numeric value on dates after `day` replaced by noise."""
    late = (frame["date"] > day).to_numpy()
    cols = []
    for name, dtype in frame.schema.items():
        if name == "date" or not dtype.is_numeric():
            continue
        values = frame[name].to_numpy().astype(float).copy()
        values[late] = rng.uniform(0, 50, late.sum())
        cols.append(pl.Series(name, values.astype(frame[name].to_numpy().dtype)))
    return frame.with_columns(cols)


@pytest.mark.parametrize("drop", [(), ("calendar",), ("epidemics",)])
def test_ceiling_uses_nothing_after_the_origin(small_world, tmp_path, drop):
    cut = np.datetime64("2020-11-15")
    rng = np.random.default_rng(0)
    changed = _copy_truth_files(small_world, tmp_path / "changed")
    for name in ("truth.parquet", "exposures.parquet"):
        frame = pl.read_parquet(small_world / name)
        _scramble_after(frame, cut.astype(object), rng).write_parquet(changed / name)
    before = np.arange(cut - 90, cut + 1)  # origins up to the last unchanged day
    o, h = _grid(before)
    thr = np.full(o.size, 6.5)
    for a, b in zip(
        ceiling_forecast(small_world, o, h, thr, drop_groups=drop),
        ceiling_forecast(changed, o, h, thr, drop_groups=drop),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    # the same comparison would see a change: origins after the cut read the scrambled days
    o, h = _grid(np.arange(cut + 3, cut + 30))
    thr = np.full(o.size, 6.5)
    assert not np.allclose(
        ceiling_forecast(small_world, o, h, thr, drop_groups=drop)[0],
        ceiling_forecast(changed, o, h, thr, drop_groups=drop)[0],
    )


def test_planted_terms_rebuild_the_truth_when_every_exposure_is_known(small_world):
    world = World(small_world, ("copd", "asthma"))
    days = np.arange(world.days.size)
    rebuilt = known_future_terms(world, ()) + exposure_terms(world, days, days + 10_000, ())
    truth = pl.read_parquet(small_world / "truth.parquet")
    n_cells = len(world.cells.zone)
    assert n_cells == truth.height // world.days.size  # incl. the out-of-area cells
    expected = np.log(truth["lambda"].to_numpy()) - truth["contrib_latent"].to_numpy()
    np.testing.assert_allclose(rebuilt, expected.reshape(-1, n_cells), atol=1e-12)
    # without a group's drivers the model differs, and only by those drivers' terms
    no_weather = known_future_terms(world, ()) + exposure_terms(
        world, days, days + 10_000, ("weather",)
    )
    temperature = truth["contrib_temperature"].to_numpy().reshape(-1, n_cells)
    np.testing.assert_allclose(rebuilt - no_weather, temperature, atol=1e-12)
    with pytest.raises(ValueError, match="choose among"):
        ceiling_forecast(small_world, world.days[400:401], [1], [6.5], drop_groups=["history"])


@pytest.fixture(scope="module")
def default_world(tmp_path_factory):
    """Truth, exposures and record of the default world (toulouse, the data's seed 2024)."""
    cfg = {**load_world_config("toulouse", CONFIG_DIR), "seed": 2024}
    exposures, _ = true_exposures(cfg)
    out = tmp_path_factory.mktemp("default_world")
    simulate_truth(cfg, exposures).write_parquet(out / "truth.parquet")
    exposures.with_columns(pl.col("date").cast(pl.Date)).write_parquet(out / "exposures.parquet")
    record = {"dispersion_k": float(cfg["dispersion_k"]), "config": cfg}
    (out / "world.yaml").write_text(yaml.safe_dump(record))
    return out


def test_ceiling_sits_between_climatology_and_the_oracle(default_world):
    daily = (
        pl.read_parquet(default_world / "truth.parquet")
        .group_by("date")
        .agg(pl.col("count").sum())
        .sort("date")
    )
    dates = daily["date"].to_numpy().astype("datetime64[D]")
    counts = daily["count"].to_numpy().astype(float)
    thr = peak_thresholds(counts, dates, latency=1, train_end=0)  # the labels' default rule
    test = np.flatnonzero((dates >= np.datetime64("2023-01-01")) & (dates < dates[-7]))
    train = np.flatnonzero((dates >= np.datetime64("2014-01-01")) & (dates < np.datetime64("2021")))
    o, h = _grid(test)
    target = o + h
    y = (counts[target] > thr[o]).astype(int)
    _, ceiling = ceiling_forecast(default_world, dates[o], h, thr[o])
    oracle = peak_probability(default_world, dates[target], thr[o])
    # climatology-like (as the climatology baseline): the training mean count of each calendar
    # month x weekday, and the Poisson tail above the origin's threshold
    month, dow = dates.astype("datetime64[M]").astype(int) % 12, dates.astype(int) % 7
    key = month * 7 + dow
    cell_mean = np.bincount(key[train], counts[train], 84) / np.bincount(key[train], None, 84)
    climatology = poisson.sf(np.floor(thr[o]), cell_mean[key[target]])
    for k in (1, 3, 7):
        at = h == k
        auc = {
            name: roc_auc_score(y[at], p[at])
            for name, p in {
                "ceiling": ceiling,
                "oracle": oracle,
                "climatology": climatology,
                "last_count": counts[o - 1],  # the count published at the origin
            }.items()
        }
        assert auc["ceiling"] <= auc["oracle"] + 0.005, auc
        assert auc["ceiling"] > max(auc["climatology"], auc["last_count"]) + 0.01, auc
    # its count distribution is calibrated in the large: mean probability near the peak rate
    assert abs(ceiling.mean() - y.mean()) < 0.02


QUICK = ["logger=none", "extras.print_config=false", "evaluation.bootstrap.n=0"]


def test_ceiling_keys_in_a_simulated_run_and_not_on_real_data(compose_app, tmp_path):
    sim_cfg = compose_app(
        "train",
        tmp_path / "sim",
        # the suite's shared world under outputs/ (simulated once, under a lock)
        [*QUICK, "data=toulouse_sim_small", "model=climatology"],
    )
    sim = train(sim_cfg)
    written = json.loads((tmp_path / "sim" / "metrics.json").read_text())
    for h in range(1, 8):
        for key in (f"ceiling/auroc_h{h}", f"ceiling/brier_h{h}", f"ceiling/ece_h{h}"):
            assert key in written and written[key] == pytest.approx(sim[key])
        for group in CEILING_GROUPS:
            assert 0.5 < written[f"ceiling_no_{group}/auroc_h{h}"] <= 1.0
        assert 0.5 < written[f"ceiling/auroc_h{h}"] <= written[f"oracle/auroc_h{h}"] + 0.02
    # the per-group ceilings are scored by a shortcut: on the full ceiling it gives evaluate's AUROC
    test = pl.read_parquet(tmp_path / "sim" / "predictions.parquet").filter(
        pl.col("split") == "test"
    )
    world_dir = sim_cfg.data.world.dir
    _, prob = ceiling_forecast(
        world_dir,
        test["origin_date"].to_numpy().astype("datetime64[D]"),
        test["horizon"].to_numpy(),
        test["threshold"].to_numpy(),
    )
    shortcut = _auroc_by_horizon(test, prob, "full")
    for h in range(1, 8):
        assert shortcut[f"full/auroc_h{h}"] == pytest.approx(
            written[f"ceiling/auroc_h{h}"], abs=1e-6
        )
    report = (tmp_path / "sim" / "report.md").read_text()
    assert "Achievable ceiling" in report and "share of ceiling skill" in report
    real = train(
        compose_app(
            "train",
            tmp_path / "real",
            # no ceiling at any horizon: one scored horizon shows it
            [*QUICK, "data=chicago_nmmaps", "model=climatology", "evaluation.horizons=[1]"],
        )
    )
    assert not [k for k in real if k.startswith(("ceiling", "oracle"))]
    assert "Achievable ceiling" not in (tmp_path / "real" / "report.md").read_text()


def test_report_gives_the_ceiling_and_what_each_group_adds(tmp_path):
    from respicast.report import write_run_report

    metrics = {"test/n_pos_h1": 40.0, "test/auroc_h1": 0.70, "oracle/auroc_h1": 0.80}
    ceiling = {
        "ceiling/auroc_h1": 0.75,
        "ceiling/brier_h1": 0.07,
        "ceiling/ece_h1": 0.02,
        "ceiling_no_pollution/auroc_h1": 0.74,
        "ceiling_no_calendar/auroc_h1": 0.72,
    }
    empty = pl.DataFrame(schema={"target_date": pl.Date, "horizon": pl.Int32})
    md, _ = write_run_report(
        tmp_path,
        metrics={**metrics, **ceiling},
        test=empty,
        plots={},
        data_summary={},
        model_name="x",
        oracle={"auroc_h1": 0.80},
        ceiling=ceiling,
    )
    lines = md.read_text().split("## Achievable ceiling", 1)[1].splitlines()
    rows = [line for line in lines if line.startswith("| h=1 d |")]
    # model, ceiling, oracle, share of ceiling skill (0.2 / 0.25), Brier, ECE
    assert rows[0] == "| h=1 d | 0.700 | 0.750 | 0.800 | 80 % | 0.070 | 0.020 |"
    assert "| horizon | calendar | pollution |" in lines
    assert rows[1] == "| h=1 d | 0.030 | 0.010 |"
