"""model.combine=quantile_average (Vincentization) against hand examples, and ensembles of members
loaded from trained runs (model.members.<label>: {run: <dir>})."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from omegaconf import OmegaConf
from scipy import stats

from respicast.cli.train import train
from respicast.dataset.datamodule import WindowDataModule
from respicast.models.baselines import Climatology, Persistence
from respicast.models.baselines.synthetic import make_windowset, split
from respicast.models.ensemble import Ensemble
from respicast.models.ensemble_combine import (
    averaged_quantiles,
    count_ppf,
    linear_pool,
    min_wis_weights,
    quantile_average,
)
from respicast.models.ensemble_loaded import LoadedMember
from respicast.run_dir import RunDir, RunError
from respicast.trained_run import load_model, load_run

# two NB members (scipy's n = k, p = k / (k + mu)) and their weights
W, MU, K = np.array([0.3, 0.7]), np.array([4.0, 12.0]), np.array([3.0, 8.0])


def _ppf(p, mu, k):
    return stats.nbinom.ppf(p, k, k / (k + mu))


def _fine_vincent(n: int = 200_000) -> np.ndarray:
    """The averaged variable sum_i w_i Q_i(U) on a fine grid of levels (brute force)."""
    p = (np.arange(n) + 0.5) / n
    return W[0] * _ppf(p, MU[0], K[0]) + W[1] * _ppf(p, MU[1], K[1])


def _col(x):
    return np.asarray(x, float)[:, None, None]  # [M] -> [M, N=1, H=1]


def test_count_ppf_is_scipys_ppf_far_into_the_tails():
    rng = np.random.default_rng(3)
    n = 20_000
    mu, k = np.exp(rng.uniform(-4, 8, n)), np.exp(rng.uniform(-3, 6, n))
    k[::3] = np.inf
    p = rng.uniform(0, 1, n)
    p[::5], p[1::5] = rng.uniform(0, 1e-6, p[::5].size), 1 - rng.uniform(0, 1e-6, p[1::5].size)
    kk = np.where(np.isinf(k), 1.0, k)
    want = np.where(np.isinf(k), stats.poisson.ppf(p, mu), stats.nbinom.ppf(p, kk, kk / (kk + mu)))
    np.testing.assert_array_equal(count_ppf(p, mu, k), want)
    assert np.all(np.isnan(count_ppf([0.0, 1.0, 0.5], [3.0, 3.0, np.nan], 2.0)))


def test_averaged_quantiles_are_the_weighted_mean_of_the_members_quantiles():
    levels = [0.01, 0.1, 0.25, 0.5, 0.8, 0.975]
    got = averaged_quantiles(W, MU, K, levels)
    want = W[0] * _ppf(levels, MU[0], K[0]) + W[1] * _ppf(levels, MU[1], K[1])
    np.testing.assert_allclose(got, want)
    # not integers: the average of 2 and 7 at some level is no count
    assert np.any(got != np.round(got))
    # a Poisson member (k = inf) uses Poisson quantiles
    mixed = averaged_quantiles(W, MU, [3.0, np.inf], levels)
    np.testing.assert_allclose(
        mixed, W[0] * _ppf(levels, MU[0], K[0]) + W[1] * stats.poisson.ppf(levels, MU[1])
    )


def test_quantile_average_matches_the_averaged_distribution_moments_and_exceedance():
    fine = _fine_vincent()
    mean, prob, k = quantile_average(_col(W), _col(MU), _col(K), np.array([9.5]))
    assert mean[0, 0] == pytest.approx(W @ MU, rel=1e-12)  # exact
    var = mean[0, 0] + mean[0, 0] ** 2 / k[0, 0]  # the reported NB's variance
    assert var == pytest.approx(fine.var(), rel=2e-3)
    assert prob[0, 0] == pytest.approx(np.mean(fine > 9.5), abs=1e-4)
    # the linear pool of the same members is another distribution: wider, other exceedance
    lp_mean, _, lp_k = linear_pool(_col(W), _col(MU), _col(K), np.zeros((2, 1, 1)))
    assert lp_mean[0, 0] + lp_mean[0, 0] ** 2 / lp_k[0, 0] > 1.3 * var


def test_quantile_average_exceedance_at_several_thresholds_and_nan():
    fine = _fine_vincent()
    thr = np.array([2.0, 6.3, 14.0, 30.0, np.nan])
    mu, k = np.repeat(_col(MU), 5, axis=1), np.repeat(_col(K), 5, axis=1)
    _, prob, _ = quantile_average(_col(W), mu, k, thr)
    for i, t in enumerate(thr[:-1]):
        assert prob[i, 0] == pytest.approx(np.mean(fine > t), abs=1e-4), t
    assert np.all(np.diff(prob[:-1, 0]) < 0)
    assert np.isnan(prob[-1, 0])  # no threshold, no probability


def test_quantile_average_of_one_member_or_identical_members_is_that_member():
    mu, k = np.full((1, 2, 3), 6.0), np.full((1, 2, 3), 2.5)
    thr = np.array([8.0, 3.5])
    mean, prob, kk = quantile_average(np.ones((1, 1, 3)), mu, k, thr)
    np.testing.assert_allclose(mean, 6.0)
    np.testing.assert_allclose(kk, 2.5, rtol=1e-9)
    want = stats.nbinom.sf(np.floor(thr), 2.5, 2.5 / 8.5)[:, None]
    np.testing.assert_allclose(prob, np.broadcast_to(want, (2, 3)), atol=1e-9)
    # two identical members: their quantile functions are perfectly correlated (rho = 1)
    same = np.concatenate([mu, mu]), np.concatenate([k, k])
    _, prob2, k2 = quantile_average(np.full((2, 1, 3), 0.5), *same, thr)
    np.testing.assert_allclose(k2, 2.5, rtol=1e-9)
    np.testing.assert_allclose(prob2, prob, atol=1e-9)


def test_min_wis_weights_for_the_quantile_average_drop_a_useless_member():
    rng = np.random.default_rng(1)
    lam = rng.gamma(20, 0.3, size=500)
    y = rng.poisson(lam).astype(float)
    mu = np.stack([lam * rng.lognormal(0, 0.3, lam.size), np.full(lam.size, lam.mean() * 3)])
    k = np.full_like(mu, 20.0)
    w = min_wis_weights(mu, k, y, combine="quantile_average")
    assert w.sum() == pytest.approx(1.0) and w[1] == 0.0
    with pytest.raises(ValueError, match="model.combine='median'"):
        min_wis_weights(mu, k, y, combine="median")


@pytest.fixture(scope="module")
def data():
    train_ws, test = split(make_windowset(n_days=900, effect=0.4, seed=5))
    n = len(train_ws)
    cut = int(n * 0.75)
    return train_ws.slice(0, cut), train_ws.slice(cut, n), test


@pytest.mark.parametrize("weights", ["equal", "inverse_wis", "min_wis"])
def test_a_quantile_average_ensemble_fits_weights_on_val_only(data, weights):
    tr, val, test = data
    members = {"clim": Climatology(), "pers": Persistence()}
    ens = Ensemble(members, combine="quantile_average", weights=weights).fit(tr, val)
    pred = ens.predict(test)
    a, b = (ens.members[lb].predict(test) for lb in ("clim", "pers"))
    w = ens.member_weights(test.y_count.shape[1])
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    np.testing.assert_allclose(pred.counts, w[0] * a.counts + w[1] * b.counts)
    # the peak probability is the averaged distribution's, row by row
    k_b = ens._dispersion("pers", b)
    row, h = 3, 0
    t = test.threshold[row]
    fine = (np.arange(20_000) + 0.5) / 20_000
    q = w[0, h] * _ppf(fine, a.counts[row, h], a.dispersion[row, h])
    q += w[1, h] * _ppf(fine, b.counts[row, h], k_b[row, h])
    assert pred.peak_prob[row, h] == pytest.approx(np.mean(q > t), abs=2e-4)
    # not the linear pool's
    lp = Ensemble(dict(ens.members), weights="equal")
    lp.weights_, lp.val_k_ = ens.weights_, ens.val_k_
    assert not np.allclose(lp.predict(test).dispersion, pred.dispersion)
    # the test part's observed counts play no part
    hidden = dataclasses.replace(test, y_count=np.full_like(test.y_count, np.nan))
    np.testing.assert_array_equal(ens.predict(hidden).peak_prob, pred.peak_prob)
    np.testing.assert_array_equal(ens.refit(tr).member_weights(w.shape[1]), w)


# -- members loaded from trained runs -------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
# two horizons and a short val part keep the runs quick (as tests/models/test_ensemble.py)
SHORT = ["data.horizon=2", "data.split.val_start=2020-12-01", "evaluation.bootstrap.n=0"]


@pytest.fixture(scope="module")
def clim_run(tmp_path_factory, tiny_run, compose_app) -> Path:
    """A climatology run (refit=true, the default) written by respicast-train."""
    out = tmp_path_factory.mktemp("clim_run")
    train(compose_app("train", out, [*tiny_run, *SHORT, "model=climatology"]))
    return out


def _ensemble_cfg(compose_app, out: Path, tiny_run, *extra: str):
    overrides = [*tiny_run, *SHORT, "model=ensemble", "~model@model.members.net", *extra]
    return compose_app("train", out, overrides)


def test_train_cli_combines_a_loaded_run_without_retraining_it(clim_run, tmp_path, tiny_run):
    before = (clim_run / "fitted.pkl").read_bytes()
    out = tmp_path / "ens"
    cmd = [
        sys.executable,
        "-m",
        "respicast.cli.train",
        *tiny_run,
        *SHORT,
        "model=ensemble",
        "~model@model.members.net",
        f"+model.members.clim={{run:{clim_run}}}",
        "model.combine=quantile_average",
        "model.weights=min_wis",
        f"hydra.run.dir={out}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (clim_run / "fitted.pkl").read_bytes() == before  # loaded, not retrained
    rd = RunDir(out)
    state = rd.read_fitted()["ensemble"]
    assert state["labels"] == ["glm", "clim"]
    assert state["loaded"] == {"clim": str(clim_run.resolve())}
    assert not rd.member("clim").path.exists()  # no files of its own in the ensemble's run
    assert "baseline" in rd.member("glm").read_fitted()  # the GLM was trained here
    np.testing.assert_allclose(state["weights"].sum(axis=0), 1.0)
    # the weights were fitted on the climatology run's saved (first-fit) val predictions
    val_saved = (
        pl.read_parquet(clim_run / "predictions.parquet")
        .filter(pl.col("split") == "val")
        .sort("origin_date", "horizon")  # the file is grouped by horizon
    )
    run = load_run(out)
    dm = WindowDataModule(run.cfg.data, seed=run.cfg.seed)
    dm.setup()
    member = LoadedMember.open("clim", clim_run, run.cfg, dm, first_fit=True)
    got = member.predict(dm.part("val")).counts.reshape(-1)
    np.testing.assert_allclose(got, val_saved["predicted"].to_numpy())
    with pytest.raises(RunError, match="model.members.clim.run=.*saved validation predictions"):
        member.predict(dm.part("test"))
    # loaded back, the ensemble predicts the test part as the run did
    run.setup_data(dm)
    model = load_model(run, dm)
    assert isinstance(model.members["clim"], LoadedMember) and not model.members["clim"].first_fit
    pred = pl.read_parquet(out / "predictions.parquet").filter(pl.col("split") == "test")
    want = pred.filter(pl.col("horizon") == 1).sort("origin_date")["predicted"].to_numpy()
    np.testing.assert_allclose(model.predict(dm.part("test")).counts[:, 0], want, rtol=1e-6)
    # and forecasts: the loaded member predicts the as-of window and its ablated copies
    from respicast.forecast.core import make_forecast

    fc = make_forecast(
        str(out), "2021-06-01", {"freshness": {"max_staleness_days": {"default": 400}}}
    )
    assert fc.days.height == 2 and fc.days["expected"].is_finite().all()


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def _open(label: str, path, cfg):
    dm = WindowDataModule(cfg.data, seed=cfg.seed)
    dm.setup()
    return LoadedMember.open(label, path, cfg, dm, first_fit=True)


def test_bad_loaded_members_are_named(clim_run, tmp_path, tiny_run, compose_app):
    cfg = _ensemble_cfg(compose_app, tmp_path / "ens", tiny_run)
    key = "model.members.old.run"
    with pytest.raises(RunError, match=f"{key}=.*nowhere: no such run dir"):
        _open("old", tmp_path / "nowhere", cfg)
    no_fit = _copy(clim_run, tmp_path / "no_fit")
    (no_fit / "fitted.pkl").unlink()
    with pytest.raises(RunError, match=f"{key}=.*no_fit: .*no fitted.pkl"):
        _open("old", no_fit, cfg)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match=f"{key}=.*empty: .*no config_resolved.yaml"):
        _open("old", tmp_path / "empty", cfg)
    # a deep net's run without its checkpoints
    deep = _copy(clim_run, tmp_path / "deep")
    run_cfg = OmegaConf.load(deep / "config_resolved.yaml")
    run_cfg.model = compose_app("train", tmp_path / "y", [*tiny_run, "model=lstm"]).model
    OmegaConf.save(run_cfg, deep / "config_resolved.yaml")
    with pytest.raises(RunError, match=f"{key}=.*deep: .*without any checkpoint"):
        _open("old", deep, cfg)
    # trained on another horizon, another lookback: every difference named
    other = compose_app("train", tmp_path / "z", [*tiny_run, *SHORT, "data.horizon=3"])
    with pytest.raises(RunError, match=f"{key}=.*another data config.*data.horizon: run 2"):
        _open("old", clim_run, other)
    norefit = compose_app("train", tmp_path / "z", [*tiny_run, *SHORT, "refit=false"])
    with pytest.raises(RunError, match=f"{key}=.*refit=True, the ensemble with refit=False"):
        _open("old", clim_run, norefit)


def test_a_loaded_member_refuses_a_backtest(clim_run, tmp_path, tiny_run, compose_app):
    from respicast.cli.evaluate import backtest

    overrides = [*tiny_run, *SHORT, "model=ensemble", f"+model.members.clim={{run:{clim_run}}}"]
    cfg = compose_app("eval", tmp_path, overrides)
    with pytest.raises(ValueError, match="model.members.clim.run: a member loaded from a trained"):
        backtest(cfg)
    assert not (tmp_path / "fold_0").exists()  # refused before any fold trained
