"""Known-future covariates as a net's decoder input (nets/decoder.py) beside the head mode."""

import functools
import math

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from respicast.dataset.datamodule import WindowDataModule
from respicast.models.dims import Dims
from respicast.models.module import ForecastModule
from respicast.models.nets.cnn1d import CNN1DNet
from respicast.models.nets.cnn_lstm import CNNLSTMNet
from respicast.models.nets.decoder import FUTURE_INPUTS, future_mode
from respicast.models.nets.lstm import LSTMNet
from respicast.models.nets.tcn import TCNNet
from respicast.training import instantiate_model

NETS = [LSTMNet, CNN1DNet, CNNLSTMNet, TCNNet]
STEP_NETS = [CNN1DNet, TCNNet]  # a step decoder: day h reads only day h's covariates
LSTM_NETS = [LSTMNet, CNNLSTMNet]  # an LSTM decoder: day h reads days 1..h
DIMS = Dims(lookback=28, horizon=7, n_past=3, n_future=2, has_history=True)


def _module(net_cls, dims=DIMS, future_input="head", **kw):
    net = functools.partial(net_cls, future_input=future_input)
    opt = functools.partial(torch.optim.AdamW, lr=3e-3)
    return ForecastModule(net=net, dims=dims, optimizer=opt, **kw)


def _batch(dims=DIMS, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    L, H = dims.lookback, dims.horizon
    return {
        "history": torch.poisson(torch.full((n, L), 6.0), generator=g),
        "level": torch.full((n,), 6.0),
        "past": torch.randn(n, L, dims.n_past, generator=g),
        "future": torch.randn(n, H, dims.n_future, generator=g),
        "threshold": torch.full((n,), 9.0),
        "y_count": torch.poisson(torch.full((n, H), 6.0), generator=g),
        "y_peak": torch.zeros(n, H),
    }


@pytest.mark.parametrize("net_cls", NETS)
@pytest.mark.parametrize("mode", ["head", "decoder"])
def test_every_net_gives_its_modes_shapes(net_cls, mode):
    net = net_cls(5, 28, future_input=mode, horizon=7, n_future=2)
    out = net(torch.randn(4, 28, 5), torch.randn(4, 7, 2))
    assert out.shape == ((4, net.out_dim) if mode == "head" else (4, 7, net.out_dim))
    mu, logit = _module(net_cls, future_input=mode).eval()(_batch())
    assert mu.shape == logit.shape == (5, 7) and (mu > 0).all() and torch.isfinite(logit).all()


@pytest.mark.parametrize("net_cls", NETS)
def test_decoder_runs_without_future_covariates(net_cls):
    dims = Dims(28, 7, 3, 0, True)
    mu, _ = _module(net_cls, dims, future_input="decoder").eval()(_batch(dims))
    assert mu.shape == (5, 7) and torch.isfinite(mu).all()


def _changed_days(net_cls, day: int) -> list[int]:
    """Target days whose count forecast moves when only day `day`'s covariates change."""
    torch.manual_seed(0)
    model = _module(net_cls, future_input="decoder").eval()
    batch = _batch()
    other = {**batch, "future": batch["future"].clone()}
    other["future"][:, day] += 3.0
    with torch.no_grad():
        a, b = model(batch)[0], model(other)[0]
    return [h for h in range(DIMS.horizon) if not torch.allclose(a[:, h], b[:, h])]


@pytest.mark.parametrize("net_cls", STEP_NETS)
def test_step_decoder_day_reads_only_its_own_covariates(net_cls):
    assert _changed_days(net_cls, 3) == [3]


@pytest.mark.parametrize("net_cls", LSTM_NETS)
def test_lstm_decoder_day_reads_covariates_up_to_itself(net_cls):
    changed = _changed_days(net_cls, 3)
    # days before 3 cannot see it; day 3 and (sequentially) the later days do
    assert changed == [3, 4, 5, 6]


@pytest.mark.parametrize("net_cls", NETS)
def test_decoder_mode_keeps_future_covariates_out_of_head_and_skip(net_cls):
    model = _module(net_cls, future_input="decoder", skip_lags=14, ewma_alphas=(0.2,))
    assert model.head[0].in_features == model.net.out_dim and model.head[-1].out_features == 2
    assert model.skip.in_features == 14 + 1 + 1  # lags, one EWMA, threshold: no calendar
    head = _module(net_cls, skip_lags=14, ewma_alphas=(0.2,))
    assert head.head[0].in_features == head.net.out_dim + 7 * 2
    assert head.skip.in_features == 14 + 1 + 7 * 2 + 1


def test_an_undeclared_mode_is_refused_naming_the_net():
    class PastOnly(LSTMNet):
        future_inputs = ("none",)

    with pytest.raises(ValueError, match=r"PastOnly.*\('none',\)"):
        _module(PastOnly)
    with pytest.raises(ValueError, match="model.net.future_input='none'.*2 known-future"):
        _module(LSTMNet, future_input="none")
    with pytest.raises(ValueError, match="LSTMNet"):
        _module(LSTMNet, future_input="encoder")
    # without covariates 'none' is the plain past-only net
    assert _module(PastOnly, Dims(28, 7, 3, 0, True), future_input="none").future_input == "none"


def test_a_net_that_declares_nothing_is_refused():
    class Undeclared(nn.Module):
        pass

    with pytest.raises(TypeError, match="Undeclared must declare future_inputs"):
        future_mode(Undeclared, "head")
    assert all(future_mode(net, "decoder") == "decoder" for net in NETS)
    assert all(net.future_inputs == FUTURE_INPUTS for net in NETS)


@pytest.mark.parametrize("net_cls", NETS)
def test_head_mode_is_the_pre_decoder_module(net_cls):
    """The same parameters, drawn in the same order, and the same maths as before the decoder: the
    net built with its old arguments, then the head Linear(out + H F) -> 2 H, then the skip path
    (14 lags, 2 EWMAs, H F calendar values, the threshold)."""
    torch.manual_seed(0)
    model = _module(net_cls, skip_lags=14, ewma_alphas=(0.2, 0.05)).eval()
    torch.manual_seed(0)
    net = net_cls(in_channels=5, lookback=28).eval()
    head = nn.Sequential(nn.Linear(net.out_dim + 14, 64), nn.ReLU(), nn.Linear(64, 14))
    expected = {f"net.{k}": v for k, v in net.state_dict().items()}
    expected |= {f"head.{k}": v for k, v in head.state_dict().items()}
    got = model.state_dict()
    assert list(got) == ["log_k", *expected, "skip.weight", "skip.bias"]
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    assert model.skip.in_features == 14 + 2 + 7 * 2 + 1
    batch = _batch()
    x = torch.randn(5, 28, 5)
    with torch.no_grad():
        old = head(torch.cat([net(x), batch["future"].flatten(1)], dim=1))
        assert torch.equal(model._head_outputs(x, batch["future"]), old)


@pytest.mark.parametrize(("name", "default_mode"), [("lstm", "decoder"), ("tcn", "head")])
def test_config_selects_the_future_input(compose_app, tmp_path, name, default_mode):
    other = "head" if default_mode == "decoder" else "decoder"
    cfg = compose_app("train", tmp_path, [f"model={name}", f"model.net.future_input={other}"])
    model = instantiate_model(cfg.model, DIMS)
    assert model.future_input == other and hasattr(model.net, "decoder") == (other == "decoder")
    default = instantiate_model(compose_app("train", tmp_path, [f"model={name}"]).model, DIMS)
    assert default.future_input == default_mode
    assert hasattr(default.net, "decoder") == (default_mode == "decoder")


@pytest.mark.parametrize("net_cls", [LSTMNet, TCNNet])
def test_decoder_mode_fits(net_cls, table, data_cfg):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    assert dm.dims.n_future == 2  # the fixture's weekday calendar
    pl.seed_everything(0)
    model = _module(net_cls, dm.dims, future_input="decoder", skip_lags=14, ewma_alphas=(0.2,))
    trainer = pl.Trainer(
        max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(model, datamodule=dm)
    val = float(trainer.callback_metrics["val/loss"])
    assert math.isfinite(val) and trainer.current_epoch == 2
