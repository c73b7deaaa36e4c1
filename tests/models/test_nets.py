import functools

import lightning.pytorch as pl
import pytest
import torch

from respicast.dataset.datamodule import WindowDataModule
from respicast.models.dims import Dims
from respicast.models.module import ForecastModule, count_nll
from respicast.models.nets.cnn1d import CNN1DNet
from respicast.models.nets.cnn_lstm import CNNLSTMNet
from respicast.models.nets.lstm import LSTMNet
from respicast.models.nets.tcn import TCNNet, blocks_to_cover, receptive_field

NETS = [LSTMNet, CNN1DNet, CNNLSTMNet, TCNNet]


@pytest.mark.parametrize("lookback", [7, 14, 28, 56, 90])
@pytest.mark.parametrize("kernel", [2, 3, 5])
def test_tcn_receptive_field_covers_the_lookback_with_fewest_blocks(lookback, kernel):
    n = blocks_to_cover(lookback, kernel)
    assert receptive_field(kernel, n) >= lookback
    assert n == 1 or receptive_field(kernel, n - 1) < lookback
    assert TCNNet(3, lookback, kernel_size=kernel).receptive_field >= lookback


def test_tcn_is_causal_and_sees_the_whole_window():
    torch.manual_seed(0)
    net = TCNNet(2, 28, channels=8).eval()
    x = torch.randn(1, 28, 2)
    h = net.blocks(x.transpose(1, 2))
    y = x.clone()
    y[:, 20:] += 5.0  # change the last days only
    h2 = net.blocks(y.transpose(1, 2))
    # outputs before day 20 cannot see days ≥ 20
    torch.testing.assert_close(h[:, :, :20], h2[:, :, :20])
    z = x.clone()
    z[:, 0] += 5.0  # the oldest day still reaches the last output
    assert not torch.allclose(net(x), net(z))


@pytest.mark.parametrize("net_cls", NETS)
def test_each_net_encodes_a_window(net_cls):
    net = net_cls(5, 28)
    out = net(torch.randn(4, 28, 5))
    assert out.shape == (4, net.out_dim) and torch.isfinite(out).all()


def test_negbin_nll_matches_scipy():
    from scipy import stats

    y, mu, k = torch.tensor([0.0, 3.0, 9.0]), torch.tensor([2.0, 4.0, 5.0]), 3.0
    ours = count_nll(y, mu, torch.log(torch.tensor([k] * 3)))
    ref = -stats.nbinom.logpmf(y.numpy(), k, k / (k + mu.numpy()))
    torch.testing.assert_close(ours, torch.tensor(ref, dtype=torch.float32))
    torch.testing.assert_close(
        count_nll(y, mu, None),
        torch.tensor(-stats.poisson.logpmf(y.numpy(), mu.numpy()), dtype=torch.float32),
    )


def _module(net_cls, dims, **kw):
    return ForecastModule(
        net=functools.partial(net_cls),
        dims=dims,
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
        **kw,
    )


@pytest.mark.parametrize("net_cls", NETS)
def test_module_learns_a_planted_effect(net_cls, table, data_cfg):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    pl.seed_everything(0)
    model = _module(net_cls, dm.dims)
    batch = next(iter(dm.val_dataloader()))
    before = model._loss(batch)[0].item()
    trainer = pl.Trainer(
        max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(model, datamodule=dm)
    mu, logit = model.eval()(batch)
    assert mu.shape == logit.shape == (len(batch["level"]), 7) and (mu > 0).all()
    assert model._loss(batch)[0].item() < before


def test_module_refuses_future_covariates_its_net_cannot_take():
    class PastOnly(LSTMNet):
        future_inputs = ("none",)

    with pytest.raises(ValueError, match="PastOnly takes the known-future covariates"):
        _module(PastOnly, Dims(28, 7, 2, 3, True))
