"""The count-coherent peak probability: the NB / Poisson tail above the threshold."""

import functools

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from scipy import special, stats

from respicast.dataset.datamodule import WindowDataModule
from respicast.models.module import ForecastModule, tail_logit
from respicast.models.nets.lstm import LSTMNet


def test_tail_matches_scipy_for_negbin_and_poisson():
    mu = torch.tensor([[0.5, 6.0, 30.0], [2.0, 9.0, 100.0]])
    thr = torch.tensor([5.3, 9.0])
    k = np.array([3.0, 10.0, 50.0])
    got = torch.sigmoid(tail_logit(mu, torch.log(torch.tensor(k)), thr)).numpy()
    m = np.floor(thr.numpy())[:, None]
    want = stats.nbinom.sf(m, k, k / (k + mu.numpy()))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    got_p = torch.sigmoid(tail_logit(mu, None, thr)).numpy()
    np.testing.assert_allclose(got_p, stats.poisson.sf(m, mu.numpy()), rtol=1e-4, atol=1e-6)


def test_tail_is_nan_where_the_threshold_is_undefined_and_rises_with_the_mean():
    mu = torch.tensor([[4.0, 8.0], [4.0, 8.0]])
    out = tail_logit(mu, None, torch.tensor([float("nan"), 6.0]))
    assert torch.isnan(out[0]).all()
    assert out[1, 1] > out[1, 0]


@pytest.mark.parametrize("mode", ["tail", "tail_head"])
def test_module_peak_prob_is_coherent_with_its_count_forecast(mode, table, data_cfg):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    pl.seed_everything(0)
    model = ForecastModule(
        net=functools.partial(LSTMNet, hidden_size=16, num_layers=1),
        dims=dm.dims,
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
        peak_prob=mode,
    )
    batch = next(iter(dm.val_dataloader()))
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    trainer.fit(model, datamodule=dm)
    model.eval()
    out = model.predict_step(batch, 0)
    mu, p = out["predicted"].detach(), out["peak_prob"].detach()
    if mode == "tail":  # the NB tail of the predicted mean and dispersion, in log odds shifted
        k = model.dispersion.numpy()  # back by log(peak_pos_weight) (the weighted BCE's offset)
        thr = np.floor(batch["threshold"].numpy())[:, None]
        tail = stats.nbinom.sf(thr, k, k / (k + mu.numpy()))
        want = special.expit(special.logit(tail) - np.log(model.hparams.peak_pos_weight))
        assert model.prior_shift == pytest.approx(np.log(4.0))
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-3, atol=1e-5)
    assert torch.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_module_refuses_an_unknown_peak_prob(data_cfg, table):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    with pytest.raises(ValueError, match="peak_prob"):
        ForecastModule(
            net=functools.partial(LSTMNet),
            dims=dm.dims,
            optimizer=functools.partial(torch.optim.AdamW),
            peak_prob="magic",
        )


def test_tail_logit_of_counts_in_the_thousands_matches_scipy():
    # weekly cases by region: SDs of hundreds, the grid in blocks (models.module.MAX_GRID)
    rng = np.random.default_rng(3)
    mu = torch.tensor(rng.uniform(500, 6000, (32, 4)), dtype=torch.float64)
    k = rng.uniform(2, 40, (32, 4))
    thr = torch.tensor(rng.uniform(0.5, 2.0, 32), dtype=torch.float64) * mu[:, 0]
    got = tail_logit(mu, torch.log(torch.tensor(k)), thr).numpy()
    m = np.floor(thr.numpy())[:, None]
    sf = stats.nbinom.sf(m, k, k / (k + mu.numpy()))
    with np.errstate(divide="ignore"):
        want = np.log(sf) - np.log1p(-sf)
    ok = np.abs(want) < 12  # probabilities in [6e-6, 1 - 6e-6]; p within 2e-3 everywhere
    assert ok.sum() > 50
    np.testing.assert_allclose(got[ok], want[ok], atol=0.05)
    np.testing.assert_allclose(torch.sigmoid(torch.tensor(got)).numpy(), sf, atol=2e-3)
    got_p = tail_logit(mu, None, thr).numpy()
    sf_p = stats.poisson.sf(m, mu.numpy())
    with np.errstate(divide="ignore"):
        want_p = np.log(sf_p) - np.log1p(-sf_p)
    ok_p = np.abs(want_p) < 20
    np.testing.assert_allclose(got_p[ok_p], want_p[ok_p], atol=1e-4)
