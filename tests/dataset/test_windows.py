import numpy as np
import polars as pl
import pytest

from respicast.dataset.datamodule import WindowDataModule
from respicast.dataset.splits import holdout_split, rolling_folds
from respicast.dataset.targets import known_counts, trailing_quantile


def _dm(table, cfg, **over):
    dm = WindowDataModule({**cfg, **over}, table=table)
    dm.setup()
    return dm


def test_windows_are_views_not_copies(table, data_cfg):
    dm = _dm(table, data_cfg)
    ws = dm.windows
    # consecutive windows overlap in memory: moving one origin = moving one row of the table,
    # so memory does not grow with lookback × samples
    for field in (ws.history, ws.past, ws.future, ws.y_count):
        assert not field.flags.owndata
        assert field.strides[0] == field.strides[1]
    assert np.shares_memory(ws.past[0], ws.past[1])
    part = dm.part("train")
    assert np.shares_memory(part.past, ws.past) and np.shares_memory(part.history, ws.history)


def test_window_contents_line_up_with_the_table(table, data_cfg):
    dm = _dm(table, data_cfg)
    ws, frame = dm.windows, table.frame
    i = 400
    t = int(np.flatnonzero(frame["date"].to_numpy().astype("datetime64[D]") == ws.origins[i])[0])
    counts = frame["admissions"].to_numpy()
    # history known at t lags the counts by the 1-day reporting latency
    np.testing.assert_array_equal(ws.history[i], counts[t - 28 : t])
    np.testing.assert_array_equal(ws.y_count[i], counts[t + 1 : t + 8])
    pm = frame["pm25"].to_numpy()
    sc = dm.scalers["past"]
    np.testing.assert_allclose(
        ws.past[i][:, 0], (pm[t - 27 : t + 1] - sc.mean[0]) / sc.std[0], rtol=1e-5
    )
    dow = frame["dow_sin"].to_numpy()
    fsc = dm.scalers["future"]
    np.testing.assert_allclose(
        ws.future[i][:, 0], (dow[t + 1 : t + 8] - fsc.mean[0]) / fsc.std[0], rtol=1e-5
    )


def test_nothing_at_origin_t_depends_on_days_after_t(data_cfg, make_table):
    """Change every value after day t (a validation day): windows, thresholds and levels at
    origins ≤ t stay the same. Scalers are fit on the training part, which ends before t."""
    a = make_table(seed=1)
    frame = a.frame
    cut = 850  # 2017-04-30
    rng = np.random.default_rng(5)
    changed = frame.with_columns(
        [
            pl.when(pl.int_range(pl.len()) > cut)
            .then(pl.col(c) * 3 + rng.normal())
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("admissions", "pm25", "temp")
        ]
    )
    b = type(a)(frame=changed, target=a.target, columns=a.columns)
    # fixed split so scalers see the same training rows in both
    cfg = {**data_cfg, "split": {"val_start": "2017-03-01", "test_start": "2017-09-01"}}
    wa, wb = _dm(a, cfg).windows, _dm(b, cfg).windows
    k = int(np.flatnonzero(wa.origins == np.datetime64("2015-01-01") + np.timedelta64(cut, "D"))[0])
    for field in ("history", "past", "level", "threshold"):
        np.testing.assert_array_equal(
            getattr(wa, field)[: k + 1], getattr(wb, field)[: k + 1], err_msg=field
        )
    assert not np.array_equal(wa.history[k + 5], wb.history[k + 5])


def test_trailing_threshold_uses_only_known_past():
    counts = np.arange(400, dtype=float)
    known = known_counts(counts, 1)
    thr = trailing_quantile(known, 0.9, 365, 180)
    assert np.isnan(thr[:180]).all()
    # at day 380 the known counts are days 15..379 (lagged by one) → their 90th percentile
    assert thr[380] == pytest.approx(np.quantile(counts[15:380], 0.9))


def test_embargo_separates_the_parts(table, data_cfg):
    dm = _dm(table, data_cfg)
    s = dm.split
    assert s.val.start - s.train.stop >= 28 + 7 and s.test.start - s.val.stop >= 28 + 7
    ws = dm.windows
    last_train_target = ws.target_dates()[s.train.stop - 1, -1]
    first_val_input = ws.origins[s.val.start] - np.timedelta64(27, "D")
    assert last_train_target < first_val_input


def test_rolling_folds_expand_by_year(table):
    origins = table.frame["date"].to_numpy().astype("datetime64[D]")
    folds = rolling_folds(origins, embargo=35, min_train_years=2, val_days=120)
    assert [f.fold for f in folds] == [0, 1]
    assert folds[1].train.stop > folds[0].train.stop and folds[0].test.stop <= folds[1].test.start
    for f in folds:
        assert f.val.start - f.train.stop >= 35 and f.test.start - f.val.stop >= 35


def test_groups_switch_columns_off(table, data_cfg):
    dm = _dm(table, data_cfg, groups=["history", "calendar"])
    assert dm.windows.past.shape[2] == 0 and dm.windows.future.shape[2] == 2
    dm = _dm(table, data_cfg, groups=["pollution"])
    assert dm.windows.past_names == ["pm25", "pm25_filled"] and np.isnan(dm.windows.history).all()


@pytest.mark.parametrize(
    "over, message",
    [
        ({"lookback": 5000}, "lookback"),
        ({"horizon": 0}, "horizon"),
        ({"groups": ["history", "polen"]}, "unknown group"),
        ({"peak": {"method": "median"}}, "data.peak.method"),
        ({"split": {"embargo": 3}}, "embargo"),
    ],
)
def test_bad_data_config_fails_before_training(table, data_cfg, over, message):
    with pytest.raises(ValueError, match=message):
        _dm(table, data_cfg, **over)


def test_holdout_split_by_dates(table):
    origins = table.frame["date"].to_numpy().astype("datetime64[D]")
    s = holdout_split(origins, embargo=35, val_start="2017-01-01", test_start="2017-06-01")
    assert origins[s.test.start] == np.datetime64("2017-06-01") and origins[
        s.val.start
    ] == np.datetime64("2017-01-01")


def test_channels_constant_in_training_are_dropped(data_cfg, make_table):
    """A sensor that stops after training: its fill mask is 0 all through training, 1 later."""
    t = make_table()
    stop = t.frame.height - 200
    frame = t.frame.with_columns(pm25_filled=pl.int_range(pl.len()) >= stop)
    table = type(t)(frame=frame, target=t.target, columns=t.columns)
    dm = _dm(table, data_cfg)
    assert "pm25_filled" not in dm.windows.past_names and "pm25" in dm.windows.past_names
    assert dm.windows.past.shape[2] == len(dm.windows.past_names) == len(dm.windows.past_groups)


def test_fill_masks_stay_zero_one(table, data_cfg):
    """Masks are not standardised: a variable rarely filled in training would put a later 1 far out."""
    ws = _dm(table, data_cfg).windows
    k = ws.past_names.index("pm25_filled")
    assert set(np.unique(ws.past[:, :, k])) <= {0.0, 1.0}
