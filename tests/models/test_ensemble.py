"""model=ensemble: the linear pool's maths, weights fitted on val only, and a run that trains,
saves, loads and forecasts like any other model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest
from scipy import stats

from respicast.cli.train import train
from respicast.dataset.datamodule import WindowDataModule
from respicast.models.baselines import Climatology, Persistence
from respicast.models.baselines.synthetic import make_windowset, split
from respicast.models.ensemble import Ensemble, linear_pool, member_config
from respicast.run_dir import RunDir
from respicast.trained_run import load_model, load_run


@pytest.fixture(scope="module")
def data():
    train_ws, test = split(make_windowset(n_days=900, effect=0.4, seed=5))
    n = len(train_ws)
    cut = int(n * 0.75)
    return train_ws.slice(0, cut), train_ws.slice(cut, n), test


def _nb_pmf(y, mu, k):
    return stats.nbinom.pmf(y, k, k / (k + mu))


def test_linear_pool_has_the_mixture_mean_variance_and_peak_probability():
    w = np.array([0.3, 0.7])[:, None, None]
    mu = np.array([[[4.0]], [[9.0]]])
    k = np.array([[[5.0]], [[np.inf]]])
    prob = np.array([[[0.2]], [[0.6]]])
    mean, p, k_pool = linear_pool(w, mu, k, prob)
    y = np.arange(200)
    pmf = 0.3 * _nb_pmf(y, 4.0, 5.0) + 0.7 * stats.poisson.pmf(y, 9.0)
    m = np.sum(y * pmf)
    var = np.sum((y - m) ** 2 * pmf)
    assert mean[0, 0] == pytest.approx(m, rel=1e-9)
    assert p[0, 0] == pytest.approx(0.3 * 0.2 + 0.7 * 0.6)
    # moment matching: NB(mean, k) has the mixture's variance
    assert mean[0, 0] + mean[0, 0] ** 2 / k_pool[0, 0] == pytest.approx(var, rel=1e-6)


def test_linear_pool_of_one_member_is_that_member():
    mu, k = np.full((1, 3, 2), 6.0), np.full((1, 3, 2), 2.5)
    mean, _, k_pool = linear_pool(np.ones((1, 1, 2)), mu, k, np.full((1, 3, 2), 0.1))
    np.testing.assert_allclose(mean, 6.0)
    np.testing.assert_allclose(k_pool, 2.5)
    # equal Poisson members: no overdispersion, k = inf (Poisson)
    _, _, k_inf = linear_pool(
        np.full((2, 1, 2), 0.5),
        np.full((2, 3, 2), 6.0),
        np.full((2, 3, 2), np.inf),
        np.zeros((2, 3, 2)),
    )
    assert np.all(np.isinf(k_inf))


def test_equal_weights_average_the_members(data):
    tr, val, test = data
    ens = Ensemble({"clim": Climatology(), "pers": Persistence()}, weights="equal").fit(tr, val)
    a, b = Climatology().fit(tr, val).predict(test), Persistence().fit(tr, val).predict(test)
    pred = ens.predict(test)
    np.testing.assert_allclose(pred.counts, (a.counts + b.counts) / 2)
    np.testing.assert_allclose(pred.peak_prob, (a.peak_prob + b.peak_prob) / 2)
    assert pred.dispersion.shape == pred.counts.shape and np.all(pred.dispersion > 0)
    # persistence gives no dispersion of its own: one k per horizon was fitted on val
    assert ens.val_k_["pers"].shape == (test.y_count.shape[1],)


def test_inverse_wis_weights_favour_the_better_member_on_val_only(data):
    tr, val, test = data
    # a member that is much worse on val: climatology of a tenth of the counts
    bad = dataclasses.replace(tr, y_count=tr.y_count / 10, history=tr.history / 10)
    good = Climatology()
    worse = _Fixed(Climatology().fit(bad, None))
    ens = Ensemble({"good": good, "worse": worse}, weights="inverse_wis").fit(tr, val)
    w = ens.member_weights(test.y_count.shape[1])
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    assert np.all(w[0] > 0.7), w
    # the test part's observed counts play no part: hiding them changes no forecast
    hidden = dataclasses.replace(test, y_count=np.full_like(test.y_count, np.nan))
    np.testing.assert_array_equal(ens.predict(hidden).counts, ens.predict(test).counts)
    # refit keeps the weights chosen on val
    np.testing.assert_array_equal(ens.refit(tr).member_weights(w.shape[1]), w)


class _Fixed:
    """A fitted model that ignores further fits (a stand-in for a member trained elsewhere)."""

    def __init__(self, model):
        self.model, self.name = model, "fixed"

    def fit(self, train, val=None):
        return self

    def refit(self, train):
        return self

    def predict(self, ws):
        return self.model.predict(ws)


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="model.weights='best'"):
        Ensemble({"a": Climatology()}, weights="best")
    with pytest.raises(ValueError, match="model.combine"):
        Ensemble({"a": Climatology()}, combine="median")
    with pytest.raises(ValueError, match="model.members"):
        Ensemble({})


def test_a_member_with_the_wrong_shape_is_named(data):
    tr, val, test = data

    class Short(_Fixed):
        def predict(self, ws):
            p = self.model.predict(ws)
            return dataclasses.replace(p, counts=p.counts[:-1])

    ens = Ensemble({"ok": Climatology(), "short": Short(Climatology().fit(tr))})
    with pytest.raises(ValueError, match="ensemble member short: predicted"):
        ens.fit(tr, val)


SMALL = [
    "data=toulouse_sim_small",
    "logger=none",
    "extras.print_config=false",
    "trainer.max_epochs=1",
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
    # min_wis searches a 231-point weight grid per horizon on the val rows (3 members): two
    # horizons and a shorter val part keep it quick; weights stay [members, horizons] (3 x 2)
    "data.horizon=2",
    "data.split.val_start=2020-12-01",
]


def test_model_ensemble_trains_saves_loads_and_names_its_members(compose_app, tmp_path):
    cfg = compose_app(
        "train", tmp_path, [*SMALL, "model=ensemble", "+model@model.members.clim=climatology"]
    )
    assert list(cfg.model.members) == ["glm", "net", "clim"]
    metrics = train(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test/auroc_h1"] == pytest.approx(metrics["test/auroc_h1"])
    assert "test/wis_h1" in saved and "test/cover80_h1" in saved
    rd = RunDir(tmp_path)
    # each member has its own dir: the net its checkpoints (refit one included), baselines their state
    assert rd.member("net").refit_checkpoint.exists()
    assert "baseline" in rd.member("glm").read_fitted()
    assert "baseline" in rd.member("clim").read_fitted()
    state = rd.read_fitted()["ensemble"]
    assert state["labels"] == ["glm", "net", "clim"]
    np.testing.assert_allclose(state["weights"].sum(axis=0), 1.0)
    # seeds differ per member (a seed ensemble when two members share a config)
    assert [member_config(cfg, lb, i).seed for i, lb in enumerate(state["labels"])] == [42, 43, 44]
    # loaded back, it predicts the test part as the run did
    run = load_run(tmp_path)
    dm = WindowDataModule(run.cfg.data, seed=run.cfg.seed)
    run.setup_data(dm)
    model = load_model(run, dm)
    ws = dm.part("test")
    pred = pl.read_parquet(tmp_path / "predictions.parquet").filter(pl.col("split") == "test")
    got = model.predict(ws).counts[:, 0]
    want = pred.filter(pl.col("horizon") == 1).sort("origin_date")["predicted"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_simplex_grid_covers_the_simplex():
    from math import comb

    from respicast.models.ensemble import simplex_grid

    g = simplex_grid(3, 0.05)
    assert g.shape == (comb(20 + 2, 2), 3)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    assert {tuple(r) for r in np.eye(3)} <= {tuple(r) for r in g}


def test_min_wis_weights_beat_every_member_on_the_rows_they_are_fitted_on():
    from respicast.evaluation.proper_scores import wis_parts
    from respicast.evaluation.quantiles import HUB_LEVELS, count_quantiles
    from respicast.models.ensemble import min_wis_weights

    rng = np.random.default_rng(0)
    lam = rng.gamma(20, 0.3, size=600)
    y = rng.poisson(lam).astype(float)
    # two noisy readings of the truth, and a useless constant
    mu = np.stack([lam * rng.lognormal(0, 0.3, lam.size), lam * rng.lognormal(0, 0.3, lam.size)])
    mu = np.vstack([mu, np.full(lam.size, lam.mean() * 3)])
    k = np.full_like(mu, 20.0)
    w = min_wis_weights(mu, k, y)
    assert w.sum() == pytest.approx(1.0) and w[2] == 0.0  # the constant gets nothing
    assert 0.2 < w[0] < 0.8  # two equally good, independent members are both used

    def wis(mean, kk):
        return np.mean(wis_parts(y, count_quantiles(mean, kk, HUB_LEVELS), HUB_LEVELS)["wis"])

    mean, _, kp = linear_pool(w[:, None], mu, k, np.zeros_like(mu))
    assert wis(mean, kp) < min(wis(mu[i], k[i]) for i in range(3))
