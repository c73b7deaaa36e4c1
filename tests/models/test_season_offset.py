"""The deep models' seasonal offset: month x weekday mean of count / level from the training part."""

import functools

import numpy as np
import polars as pl
import torch

from respicast.dataset.datamodule import WindowDataModule, calendar_index
from respicast.dataset.windows import WindowSet
from respicast.models.module import ForecastModule, season_table
from respicast.models.nets.lstm import LSTMNet


def test_calendar_index_matches_polars_month_and_weekday():
    origin = np.datetime64("2024-02-27")
    idx = calendar_index(origin, lookback=5, horizon=4)
    days = pl.Series(origin + np.arange(-4, 5)).cast(pl.Date)
    assert (idx[:, 0] == days.dt.month().to_numpy() - 1).all()
    assert (idx[:, 1] == days.dt.weekday().to_numpy() - 1).all()


def _windows(ratio_by_weekday: np.ndarray, n: int = 400) -> WindowSet:
    origins = np.datetime64("2021-01-01") + np.arange(n)
    weekday = ((origins + 1).astype(int) + 3) % 7
    level = np.full(n, 10.0)
    y = (level * ratio_by_weekday[weekday])[:, None]
    return WindowSet(
        origins=origins,
        history=np.zeros((n, 3)),
        past=np.zeros((n, 3, 0)),
        future=np.zeros((n, 1, 0)),
        level=level,
        threshold=np.full(n, 12.0),
        y_count=y,
        y_peak=(y > 12).astype(float),
        past_names=[],
        future_names=[],
        past_groups=[],
        future_groups=[],
    )


def test_season_table_recovers_a_weekday_pattern_and_fills_sparse_cells():
    ratio = np.array([1.3, 1.1, 1.0, 1.0, 0.9, 0.7, 0.6])
    table = season_table(_windows(ratio, n=800))
    # 800 days: every month x weekday cell holds >= 8 days
    np.testing.assert_allclose(table[0], np.log(ratio), atol=1e-12)
    np.testing.assert_allclose(table[5], np.log(ratio), atol=1e-12)
    ws = _windows(ratio, n=30)  # January only: other months fall back to the overall mean
    overall = np.log(np.mean(ws.y_count[:, 0] / ws.level))
    np.testing.assert_allclose(season_table(ws)[6], overall, atol=1e-12)


def test_module_forecast_starts_from_the_seasonal_mean(table, data_cfg):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    model = ForecastModule(
        net=functools.partial(LSTMNet, hidden_size=8, num_layers=1),
        dims=dm.dims,
        optimizer=functools.partial(torch.optim.AdamW),
        season_offset=True,
        skip_lags=7,
    )
    model.trainer = type("T", (), {"datamodule": dm})()  # what Lightning sets before fitting
    model.on_fit_start()
    want = season_table(dm.part("train"))
    np.testing.assert_allclose(model.log_season.numpy(), want, rtol=1e-6)
    assert "log_season" in model.state_dict()  # saved with the checkpoint
    with torch.no_grad():  # zero correction: the forecast is level x seasonal ratio
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
        model.skip.weight.zero_()
        model.skip.bias.zero_()
    batch = next(iter(dm.val_dataloader()))
    mu, _ = model.eval()(batch)
    ci = batch["calendar_index"][:, dm.dims.lookback :]
    expected = batch["level"][:, None] * torch.exp(model.log_season[ci[..., 0], ci[..., 1]])
    torch.testing.assert_close(mu, expected)


def test_ewma_weights_decay_from_the_origin_and_sum_to_one_over_a_long_window():
    from respicast.models.module import ewma_weights

    w = ewma_weights([0.5, 0.1], lookback=200)
    assert w.shape == (200, 2)
    torch.testing.assert_close(w[-1], torch.tensor([0.5, 0.1]))  # the origin's day
    torch.testing.assert_close(w[-2], torch.tensor([0.25, 0.09]))
    torch.testing.assert_close(w.sum(0), torch.ones(2), atol=1e-4, rtol=0)


def test_ewma_prior_forecasts_the_recent_level_over_known_days(table, data_cfg):
    dm = WindowDataModule(data_cfg, table=table, seed=0)
    dm.setup()
    model = ForecastModule(
        net=functools.partial(LSTMNet, hidden_size=8, num_layers=1),
        dims=dm.dims,
        optimizer=functools.partial(torch.optim.AdamW),
        ewma_alphas=[0.3],
    )
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
    batch = dict(next(iter(dm.val_dataloader())))
    hist = batch["history"].clone()
    hist[:, -10:] = 2.0 * batch["level"][:, None]  # the last 10 days at twice the level ...
    hist[:, -1] = float("nan")  # ... and the origin's count not published yet
    batch["history"] = hist
    mu, _ = model.eval()(batch)
    w = model.ewma[:, 0]
    rel = torch.nan_to_num(hist / batch["level"][:, None], 0.0)
    known = torch.isfinite(hist).float()
    want = batch["level"] * (rel @ w) / (known @ w)
    torch.testing.assert_close(mu, want[:, None].expand_as(mu), rtol=1e-4, atol=1e-4)
    assert (mu[:, 0] > 1.5 * batch["level"]).all()  # follows the recent doubling


def test_hparams_from_hydra_lists_stay_loadable_with_weights_only():
    import io

    from omegaconf import OmegaConf

    from respicast.models.dims import Dims

    model = ForecastModule(
        net=functools.partial(LSTMNet, hidden_size=8, num_layers=1),
        dims=Dims(28, 7, 2, 1, True),
        optimizer=functools.partial(torch.optim.AdamW),
        ewma_alphas=OmegaConf.create([0.2, 0.05]),  # what Hydra hands over
    )
    buf = io.BytesIO()
    torch.save({"hyper_parameters": dict(model.hparams)}, buf)
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["hyper_parameters"]["ewma_alphas"] == [0.2, 0.05]
