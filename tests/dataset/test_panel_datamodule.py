"""The panel data module: one WindowSet over all series, split by the same dates for each."""

import numpy as np
import polars as pl
import pytest

from respicast.dataset.datamodule import WindowDataModule
from respicast.dataset.panel import PanelTable
from respicast.dataset.panel_datamodule import (
    LOG_LEVEL_NAME,
    LOG_LEVEL_SD,
    PanelDataModule,
    RowView,
    make_datamodule,
)
from respicast.evaluation.per_series import per_series_metrics
from respicast.models.baselines.climatology import Climatology
from respicast.models.per_series import PerSeriesForecaster, series_part
from respicast.models.predict import predict_part

L, H = 28, 7
CFG = {
    "name": "panel",
    "lookback": L,
    "horizon": H,
    "groups": ["history", "pollution", "weather", "calendar"],
    "peak": {"method": "trailing_quantile", "q": 0.9, "window_days": 365, "min_periods": 180},
    "split": {"val_start": "2017-03-01", "test_start": "2017-09-01"},
    "batch_size": 32,
}


def _panel(make_table, n: int = 3, edit=None) -> PanelTable:
    frames = []
    for i in range(n):
        t = make_table(seed=i)
        frames.append(t.frame.with_columns(zone=pl.lit(f"z{i}"), outcome=pl.lit("resp")))
    frame = pl.concat(frames)
    frame = edit(frame) if edit else frame
    static = pl.DataFrame(
        {
            "zone": [f"z{i}" for i in range(n)],
            "outcome": "resp",
            "log_population": [11.0 + i for i in range(n)],
        }
    )
    return PanelTable(frame, "admissions", t.columns, ["zone", "outcome"], static)


def _dm(make_table, **kw) -> PanelDataModule:
    dm = PanelDataModule(CFG, panel=_panel(make_table, **kw))
    dm.setup()
    return dm


def test_row_view_gathers_like_the_materialised_array():
    view = np.arange(120.0).reshape(20, 2, 3)  # 20 windows of 2 steps x 3 channels
    rows = np.array([5, 0, 7, 7, 19])
    static, series = np.array([[1.0], [2.0]]), np.array([0, 1, 1, 0, 1])
    rv = RowView(view, rows, static, series)
    dense = np.concatenate([view[rows], np.repeat(static[series][:, None, :], 2, axis=1)], axis=2)
    assert rv.shape == (5, 2, 4) and len(rv) == 5 and rv.ndim == 3
    np.testing.assert_array_equal(np.asarray(rv), dense)
    np.testing.assert_array_equal(rv[2], dense[2])
    np.testing.assert_array_equal(np.asarray(rv[1:4]), dense[1:4])
    np.testing.assert_array_equal(np.asarray(rv[np.array([4, 0])]), dense[[4, 0]])
    np.testing.assert_array_equal(rv[:, -1, :], dense[:, -1, :])  # any other key: on the array
    plain = RowView(view, rows)
    np.testing.assert_array_equal(np.asarray(plain), view[rows])
    per_row = np.arange(5.0)[:, None] * 10
    both = RowView(view, rows, static, series, per_row)
    assert both.shape == (5, 2, 5)
    np.testing.assert_array_equal(np.asarray(both)[..., 4], np.repeat(per_row, 2, axis=1))
    np.testing.assert_array_equal(np.asarray(both[1:4])[..., 4], np.repeat(per_row[1:4], 2, 1))


def test_each_window_carries_its_series_scale_at_the_origin(make_table):
    # series 100x apart: the net reads history as count / level and needs the scale itself
    big = _panel(make_table)
    big = PanelTable(
        big.frame.with_columns(
            pl.when(pl.col("zone") == "z2")
            .then(pl.col("admissions") * 100)
            .otherwise(pl.col("admissions"))
            .alias("admissions")
        ),
        big.target,
        big.columns,
        big.keys,
        big.static,
    )
    dm = PanelDataModule(CFG, panel=big)
    dm.setup()
    ws = dm.part("train")
    col = ws.past_names.index(LOG_LEVEL_NAME)
    past = np.asarray(ws.past)
    scale = past[:, :, col]
    assert np.all(scale == scale[:, :1])  # constant over the window: the origin's own value
    np.testing.assert_allclose(
        scale[:, 0], np.log(np.clip(ws.level, 1e-2, None)) / LOG_LEVEL_SD, rtol=1e-5
    )
    gap = scale[ws.series == 2, 0].mean() - scale[ws.series == 0, 0].mean()
    assert gap == pytest.approx(np.log(100) / LOG_LEVEL_SD, abs=0.1)


def test_every_series_is_split_at_the_same_dates(make_table):
    dm = _dm(make_table)
    assert isinstance(dm, WindowDataModule) and dm.keys == ["zone", "outcome"]
    seen = {}
    for part in ("train", "val", "test"):
        ws = dm.part(part)
        assert np.all(np.diff(ws.origins.astype(int)) >= 0)  # by date, then series
        per = {s: ws.origins[ws.series == s] for s in range(3)}
        for s in range(1, 3):  # same origin days in every series
            np.testing.assert_array_equal(per[s], per[0])
        seen[part] = per[0]
    gap = L + H  # the embargo between parts, in days
    assert (seen["val"][0] - seen["train"][-1]).astype(int) >= gap
    assert (seen["test"][0] - seen["val"][-1]).astype(int) >= gap
    assert str(seen["val"][0]) == "2017-03-01" and str(seen["test"][0]) == "2017-09-01"
    assert np.isfinite(dm.part("test").y_count).all()  # only labelled origins


def test_windows_of_a_series_are_its_own(make_table):
    dm = _dm(make_table)
    ws = dm.part("val")
    i = int(np.flatnonzero(ws.series == 2)[10])
    frame = dm.panel.frame.filter(pl.col("zone") == "z2").sort("date")
    t = int(np.flatnonzero(frame["date"].to_numpy().astype("datetime64[D]") == ws.origins[i])[0])
    counts = frame["admissions"].cast(float).to_numpy()
    np.testing.assert_array_equal(ws.y_count[i], counts[t + 1 : t + 1 + H])
    np.testing.assert_array_equal(ws.history[i][-L + 1 :], counts[t - L + 1 : t])  # latency 1
    # static inputs: the series' own attribute and key one-hot, constant over the lookback
    names = ws.past_names
    assert "static:zone=z2" in names and "static:log_population" in names
    past = ws.past[i]
    assert past.shape == (L, dm.dims.n_past)
    np.testing.assert_array_equal(past[:, names.index("static:zone=z2")], 1.0)
    np.testing.assert_array_equal(past[:, names.index("static:zone=z0")], 0.0)
    assert "outcome=resp" not in " ".join(names)  # a key with one value tells nothing


def test_nothing_after_the_training_part_moves_thresholds_or_scalers(make_table):
    dm = _dm(make_table)
    cut = np.datetime64("2017-02-15")  # after the last training target (val from 2017-03-01)

    def late_surge(f):
        return f.with_columns(
            pl.when(pl.col("date") >= cut)
            .then(pl.col("admissions") * 10)
            .otherwise(pl.col("admissions"))
            .alias("admissions"),
            pl.when(pl.col("date") >= cut).then(pl.col("temp") + 50).otherwise(pl.col("temp")),
        )

    other = _dm(make_table, edit=late_surge)
    a, b = dm.part("train"), other.part("train")
    np.testing.assert_array_equal(a.threshold, b.threshold)
    np.testing.assert_array_equal(np.asarray(a.past), np.asarray(b.past))
    # thresholds of later origins stay causal: one before the cut is unchanged too
    va, vb = dm.windows, other.windows
    before = va.origins < cut
    np.testing.assert_array_equal(va.threshold[before], vb.threshold[before])
    assert (va.threshold[~before] != vb.threshold[~before]).any()


def test_a_baseline_is_fitted_per_series_and_predictions_carry_the_keys(make_table):
    dm = _dm(make_table)
    cfg = {
        "model": {
            "_target_": "respicast.models.baselines.climatology.Climatology",
            "name": "climatology",
        }
    }
    from omegaconf import OmegaConf

    from respicast.models.forecaster import build_forecaster

    model = build_forecaster(OmegaConf.create(cfg), dm)
    assert isinstance(model, PerSeriesForecaster)
    model.fit(dm.part("train"), dm.part("val"))
    test = dm.part("test")
    pred = model.predict(test)
    for s in range(3):
        alone = Climatology().fit(series_part(dm.part("train"), s))
        rows = test.series == s
        np.testing.assert_allclose(pred.counts[rows], alone.predict(series_part(test, s)).counts)
    frame = predict_part(model, dm, "test")
    assert frame.columns[:2] == ["zone", "outcome"]
    assert frame.height == len(test) * H
    assert frame.group_by("zone").len()["len"].to_list() == [len(test) * H // 3] * 3


def test_per_series_scores_and_their_macro_mean():
    rows = pl.DataFrame(
        {
            "zone": ["a"] * 4 + ["b"] * 4,
            "horizon": [1] * 8,
            "peak": [0, 1, 0, 1, 0, 0, 1, 1],
            "peak_prob": [0.1, 0.9, 0.2, 0.8, 0.6, 0.5, 0.4, 0.3],
        }
    ).with_columns(pl.col("peak").cast(pl.Int8))
    m = per_series_metrics(rows, ["zone"])
    assert m["series/a/auroc_h1"] == 1.0 and m["series/b/auroc_h1"] == 0.0
    assert m["series/a/n_pos_h1"] == 2.0 and m["test/auroc_macro_h1"] == 0.5
    with pytest.raises(ValueError, match="key column"):
        per_series_metrics(rows, ["outcome"])


def test_make_datamodule_picks_the_panel_from_data_series(make_table):
    assert type(make_datamodule(dict(CFG))) is WindowDataModule
    assert type(make_datamodule({**CFG, "series": ["zone", "age_band"]})) is PanelDataModule
    with pytest.raises(ValueError, match=r"data.series=\['ward'\]: unknown key"):
        make_datamodule({**CFG, "series": ["ward"]})
