"""Quantiles and proper scores of count forecasts (evaluation.quantiles, evaluation.proper_scores)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import scoringrules as sr
from scipy import stats
from sklearn.metrics import mean_pinball_loss

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.config import load_config
from respicast.evaluation.proper_scores import (
    SCORES,
    central_coverage,
    central_interval,
    crps_counts,
    crps_from_cdf,
    log_score,
    randomized_pit,
    row_scores,
    wis_parts,
)
from respicast.evaluation.quantiles import (
    HUB_LEVELS,
    count_quantiles,
    ensure_dispersion,
    quantile_frame,
)
from respicast.evaluation.synthetic import fake_predictions, split_frames
from respicast.run_dir import RunDir
from respicast.run_outputs import write_quantiles

LEVELS5 = [0.05, 0.25, 0.5, 0.75, 0.95]


def test_hub_levels_are_the_23_standard_ones():
    assert len(HUB_LEVELS) == 23 and HUB_LEVELS[:3] == (0.01, 0.025, 0.05)
    assert HUB_LEVELS[-3:] == (0.95, 0.975, 0.99) and 0.5 in HUB_LEVELS
    assert load_config({}).quantile_levels == HUB_LEVELS
    np.testing.assert_allclose(np.array(HUB_LEVELS) + np.array(HUB_LEVELS[::-1]), 1.0)


@pytest.mark.parametrize(
    "levels, message",
    [
        ([0.0, 0.5, 1.0], "in \\(0, 1\\)"),
        ([0.1, 0.5, 1.2], "in \\(0, 1\\)"),
        ([0.5, 0.1, 0.9], "strictly increasing"),
        ([0.1, 0.5, 0.5, 0.9], "strictly increasing"),
        ([0.1, 0.5, 0.8], "symmetric about 0.5"),
        ([0.1, 0.9], "symmetric about 0.5"),
    ],
)
def test_bad_levels_are_an_error_naming_the_key(levels, message):
    with pytest.raises(ValueError, match=f"evaluation.quantile_levels: .*{message}"):
        load_config({"quantile_levels": levels})


def test_wis_hand_example():
    """Median 3, 50 % interval [2, 4], 90 % interval [1, 6]; by Bracher et al.'s definition:
    y = 5: (0.5·2 + 0.25·(2 + 4·1) + 0.05·5) / 2.5 = 1.1, of which dispersion
    (0.25·2 + 0.05·5) / 2.5 = 0.3 and under-prediction (1 + 1) / 2.5 = 0.8;
    y = 0: over-prediction (0.5·3 + 2 + 1) / 2.5 = 1.8, WIS 2.1."""
    q = np.array([[1.0, 2.0, 3.0, 4.0, 6.0]] * 2)
    parts = wis_parts(np.array([5.0, 0.0]), q, LEVELS5)
    np.testing.assert_allclose(parts["wis"], [1.1, 2.1])
    np.testing.assert_allclose(parts["wis_dispersion"], [0.3, 0.3])
    np.testing.assert_allclose(parts["wis_underprediction"], [0.8, 0.0])
    np.testing.assert_allclose(parts["wis_overprediction"], [0.0, 1.8])


def test_wis_matches_library_interval_and_pinball_scores():
    """WIS = (w0 |y-m| + Σ α/2 IS_α) / (K + 1/2) with scoringrules' interval score, and
    = 2/(2K+1) Σ_τ pinball_τ with scikit-learn's pinball loss."""
    rng = np.random.default_rng(1)
    levels = np.array(HUB_LEVELS)
    mean, k = rng.uniform(2, 60, 300), rng.uniform(1, 50, 300)
    y = stats.nbinom.rvs(k, k / (k + mean), random_state=rng).astype(float)
    q = count_quantiles(mean, k, levels)
    wis = wis_parts(y, q, levels)["wis"]
    n_int = 11
    alpha = 2 * levels[:n_int]
    upper = q[:, :n_int:-1]  # level 1 - tau_j pairs with tau_j
    iscore = sr.interval_score(y[:, None], q[:, :n_int], upper, alpha[None, :])
    # scoringrules 0.10's weighted_interval_score adds w0·median, not w0·|y - median|
    lib = (0.5 * np.abs(y - q[:, n_int]) + np.sum(alpha / 2 * iscore, axis=1)) / (n_int + 0.5)
    np.testing.assert_allclose(wis, lib, rtol=1e-10)
    for i in range(0, 300, 37):
        pin = sum(mean_pinball_loss([y[i]], [q[i, j]], alpha=t) for j, t in enumerate(levels))
        assert wis[i] == pytest.approx(2 * pin / levels.size, rel=1e-10)


def test_crps_hand_examples():
    # uniform on {0, 1}: E|X - y| - E|X - X'| / 2 = 1/2 - 1/4 for y in {0, 1}, 3/2 - 1/4 for y = 2
    cdf = np.array([[0.5, 1.0, 1.0]] * 3)
    np.testing.assert_allclose(crps_from_cdf(np.array([0.0, 1.0, 2.0]), cdf), [0.25, 0.25, 1.25])
    # a Poisson of mean ~0 is a point mass at 0: CRPS = |y|
    np.testing.assert_allclose(
        crps_counts(np.array([0.0, 3.0]), np.full(2, 1e-12), None), [0, 3], atol=1e-12
    )


def test_crps_matches_scoringrules_closed_form_and_ensemble():
    y = np.array([0.0, 2.0, 7.0, 45.0, 80.0])
    mean = np.array([2.0, 5.0, 5.0, 30.0, 100.0])
    k = np.array([0.5, 3.0, 10.0, 20.0, 50.0])
    ours = crps_counts(y, mean, k)
    # scoringrules' NB closed form (Wei & Held 2014) is accurate for moderate k
    np.testing.assert_allclose(ours, sr.crps_negbinom(y, k, k / (k + mean)), rtol=1e-8)
    # large NB size (closed form: NaN there) and Poisson: against a 100k-member ensemble
    rng = np.random.default_rng(0)
    cases = [(25.0, 30.0, 1e6), (80.0, 60.0, np.inf), (3.0, 12.0, 4.0)]
    for obs, mu, kk in cases:
        draws = (
            rng.poisson(mu, 100_000)
            if np.isinf(kk)
            else rng.negative_binomial(kk, kk / (kk + mu), 100_000)
        )
        ens = float(sr.crps_ensemble(obs, draws.astype(float), estimator="pwm"))
        exact = float(crps_counts(np.array([obs]), np.array([mu]), np.array([kk]))[0])
        assert exact == pytest.approx(ens, rel=0.02), (obs, mu, kk)


def test_coverage_and_pit_of_the_true_nb_are_nominal():
    """Counts drawn from NB(mean, k) scored with the true (mean, k): each central interval covers
    its level within 4 binomial SE plus the discreteness excess (at most the two end masses)."""
    rng = np.random.default_rng(3)
    n = 20_000
    mean, k = rng.uniform(100, 300, n), np.full(n, 30.0)
    y = rng.negative_binomial(k, k / (k + mean)).astype(float)
    max_pmf = float(stats.nbinom.pmf(np.floor(mean), k, k / (k + mean)).max())
    for level in (0.5, 0.8, 0.95):
        cover = float(np.mean(central_coverage(y, mean, k, level)))
        se = np.sqrt(level * (1 - level) / n)
        assert level - 4 * se <= cover <= level + 4 * se + 2 * max_pmf, (level, cover)
    # small counts: an "80 %" interval holds more than 80 %; coverage matches that mass instead
    small = rng.uniform(3, 9, n)
    y_small = rng.negative_binomial(10.0, 10.0 / (10.0 + small)).astype(float)
    for level in (0.5, 0.8, 0.95):
        lo, hi, mass = central_interval(small, 10.0, level)
        expected = float(np.mean(mass))
        cover = float(np.mean(central_coverage(y_small, small, 10.0, level)))
        assert expected > level + 0.02  # discreteness is real here
        assert abs(cover - expected) <= 4 * np.sqrt(expected * (1 - expected) / n), level
    pit = randomized_pit(y, mean, k, seed=0)
    assert stats.kstest(pit, "uniform").pvalue > 1e-3
    # a Poisson forecast with the same means is too narrow: far under-covers, scores worse
    assert np.mean(central_coverage(y, mean, None, 0.8)) < 0.5
    assert np.mean(log_score(y, mean, None)) > np.mean(log_score(y, mean, k))
    assert np.mean(crps_counts(y[:2000], mean[:2000], None)) > np.mean(
        crps_counts(y[:2000], mean[:2000], k[:2000])
    )


def test_quantiles_are_monotone_integers_for_poisson_and_nb_rows():
    rng = np.random.default_rng(2)
    mean = rng.uniform(0.1, 200, 500)
    k = np.where(rng.random(500) < 0.5, np.inf, rng.uniform(0.3, 100, 500))
    q = count_quantiles(mean, k, HUB_LEVELS)
    assert q.shape == (500, 23) and np.all(np.diff(q, axis=1) >= 0)
    np.testing.assert_array_equal(q, np.round(q))
    # the q-quantile is the smallest count whose CDF reaches q
    pois = np.isinf(k)
    np.testing.assert_array_equal(q[pois, 11], stats.poisson.ppf(0.5, mean[pois]))


@pytest.fixture(scope="module")
def result():
    val, test = split_frames(fake_predictions(seed=4))
    cfg = {"bootstrap": {"n": 20}}
    return evaluate_predictions(val, test, cfg, {1: 0.15, 3: 0.15, 7: 0.15})


def test_evaluation_gives_every_score_with_cis(result):
    for h in (1, 3, 7):
        for split in ("val", "test"):
            for m in SCORES:
                key = f"{split}/{m}_h{h}"
                v, lo, hi = (result.metrics[key + s] for s in ("", "_lo", "_hi"))
                assert np.isfinite(v) and lo <= v <= hi, key
        parts = sum(
            result.metrics[f"test/wis_{p}_h{h}"]
            for p in ("dispersion", "overprediction", "underprediction")
        )
        assert result.metrics[f"test/wis_h{h}"] == pytest.approx(parts)
        # the fake model's noise grows with h: its scores worsen with the horizon
    assert result.metrics["test/crps_h1"] < result.metrics["test/crps_h7"]
    assert result.metrics["test/wis_h1"] < result.metrics["test/wis_h7"]


def test_dispersion_fitted_on_val_only_when_the_model_gives_none():
    val, test = split_frames(fake_predictions(seed=5))
    v, t = ensure_dispersion(val, test)
    assert v["dispersion"].n_unique() <= 3 and (v["dispersion"] > 0).all()
    # the same k per horizon on test: it was fitted on val, and test counts do not move it
    t2 = ensure_dispersion(val, test.with_columns(pl.col("observed") * 3))[1]
    assert t["dispersion"].to_list() == t2["dispersion"].to_list()
    with pytest.raises(ValueError, match="'test': 1 row\\(s\\) with null 'dispersion'"):
        ensure_dispersion(
            v,
            t.with_columns(
                pl.when(pl.int_range(pl.len()) == 0)
                .then(None)
                .otherwise(pl.col("dispersion"))
                .alias("dispersion")
            ),
        )


def test_quantile_file_is_long_and_monotone(result, tmp_path):
    preds = pl.concat([result.val, result.test], how="diagonal_relaxed")
    path = write_quantiles(RunDir(tmp_path), preds, HUB_LEVELS)
    q = pl.read_parquet(path)
    assert q.columns == [
        "origin_date",
        "target_date",
        "horizon",
        "split",
        "fold",
        "model",
        "quantile_level",
        "value",
    ]
    assert q.height == preds.height * 23
    first = q.filter((pl.col("horizon") == 1) & (pl.col("target_date") == preds["target_date"][0]))
    assert first["quantile_level"].to_list() == list(HUB_LEVELS)
    steps = q.group_by(["origin_date", "horizon", "split", "fold"]).agg(
        (pl.col("value").sort_by("quantile_level").diff().min() >= 0).alias("ok")
    )
    assert steps["ok"].all()
    assert quantile_frame(preds.head(3), [0.1, 0.5, 0.9]).height == 9


@pytest.fixture(scope="module")
def small_world_runs(tmp_path_factory, compose_app, tiny_run):
    from respicast.cli.train import train

    root = tmp_path_factory.mktemp("proper")
    small = [
        *tiny_run,
        "evaluation.bootstrap.n=5",
        # only the horizons read below are scored (scoring is most of a run's time)
        "evaluation.horizons=[1,3,7]",
        "callbacks=none",  # no checkpoint to restore: the scores, not the checkpointing, are tested
    ]
    out = {}
    for model in ("lstm", "climatology"):
        train(compose_app("train", root / model, [*small, f"model={model}"]))
        out[model] = root / model
    return out


@pytest.mark.parametrize("model", ["lstm", "climatology"])
def test_run_writes_scores_quantiles_and_pit(small_world_runs, model):
    run = small_world_runs[model]
    metrics = json.loads((run / "metrics.json").read_text())
    for h in (1, 3, 7):
        for m in SCORES:
            for suffix in ("", "_lo", "_hi"):
                assert metrics.get(f"test/{m}_h{h}{suffix}") is not None, (m, h, suffix)
        assert 0 <= metrics[f"test/cover80_h{h}"] <= metrics[f"test/cover95_h{h}"] <= 1
    preds = pl.read_parquet(run / "predictions.parquet")
    assert (preds["dispersion"] > 0).all()
    q = pl.read_parquet(run / "predictions_quantiles.parquet")
    assert q.height == preds.height * 23 and set(q["split"].unique()) == {"val", "test"}
    assert (run / "plots" / "pit.png").exists()
    assert "Count distribution (test)" in (run / "report.md").read_text()


def test_comparison_has_score_columns_and_paired_delta_wis(small_world_runs, tmp_path):
    from omegaconf import OmegaConf

    from respicast.cli.report import run_report

    cfg = OmegaConf.create(
        dict(
            runs=[str(p) for p in small_world_runs.values()],
            group_by=None,
            reference="climatology",
            horizons=[1, 7],
            metrics=["wis", "crps", "logscore", "cover80", "cover95"],
            min_positives=0,
            bootstrap={"n": 20, "seed": 0, "level": 0.95},
        )
    )
    csv = pl.read_csv(run_report(cfg, tmp_path)["csv"])
    lstm = csv.filter(pl.col("row") == "lstm")
    mine, ref = (
        json.loads((small_world_runs[m] / "metrics.json").read_text())
        for m in ("lstm", "climatology")
    )
    for h in (1, 7):
        assert lstm[f"wis_h{h}"][0] == pytest.approx(mine[f"test/wis_h{h}"])
        # both runs scored the same test rows: the paired Δ is the difference of their means
        assert lstm[f"dwis_h{h}"][0] == pytest.approx(
            mine[f"test/wis_h{h}"] - ref[f"test/wis_h{h}"]
        )
        assert lstm[f"dcrps_h{h}"][0] == pytest.approx(
            mine[f"test/crps_h{h}"] - ref[f"test/crps_h{h}"]
        )
        assert lstm[f"dwis_h{h}_lo"][0] <= lstm[f"dwis_h{h}"][0] <= lstm[f"dwis_h{h}_hi"][0]
    # the lower score is marked best
    best = csv.filter(pl.col("wis_h1_best"))["row"].to_list()
    assert best == [
        min(("lstm", "climatology"), key=lambda m: csv.filter(pl.col("row") == m)["wis_h1"][0])
    ]


def test_randomised_interval_covers_the_nominal_share_when_calibrated():
    """Small NB counts: the integer "80 %" interval holds ~86 % of calibrated draws, the randomised
    one 80 %; a forecast too narrow for the data (Poisson for NB counts) covers less than 80 %."""
    rng = np.random.default_rng(5)
    n, k = 20_000, 8.0
    mean = rng.uniform(3.0, 8.0, n)
    y = rng.negative_binomial(k, k / (k + mean)).astype(float)
    frame = pl.DataFrame({"observed": y, "predicted": mean, "dispersion": np.full(n, k)})
    levels = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
    calibrated = {m: np.nanmean(v) for m, v in row_scores(frame, levels).items()}
    se = np.sqrt(0.8 * 0.2 / n)
    assert calibrated["cover80"] > 0.83  # whole counts: more than the nominal mass
    assert abs(calibrated["pit_cover80"] - 0.80) < 4 * se
    assert abs(calibrated["pit_cover95"] - 0.95) < 4 * np.sqrt(0.95 * 0.05 / n)
    narrow = row_scores(frame.with_columns(pl.lit(np.inf).alias("dispersion")), levels)
    assert np.nanmean(narrow["pit_cover80"]) < 0.80 - 6 * se


def test_crps_of_an_absurd_mean_is_approximated_without_a_huge_grid():
    from respicast.evaluation import proper_scores as ps

    y, mean, k = np.array([3.0, 10, 0]), np.array([5.0, 8, 0.5]), np.array([2.0, np.inf, 0.3])
    np.testing.assert_allclose(
        ps._crps_by_quantiles(y, mean, k), ps.crps_counts(y, mean, k), rtol=1e-3
    )
    # a support of ~1e10 counts would need terabytes as a grid; the quantile form stays exact
    # enough: CRPS of NB(mean 1e9) at 5 is about the mean's distance, far above a sane forecast
    out = ps.crps_counts(np.array([5.0, 2.0]), np.array([1e9, 3.0]), np.array([0.2, 1.0]))
    assert out[0] > 1e8 and np.isclose(
        out[1], ps.crps_counts(np.array([2.0]), np.array([3.0]), 1.0)[0]
    )
