import logging

import numpy as np
import polars as pl
import pytest

from respicast.dataset.build import build_windows
from respicast.dataset.panel import (
    PanelTable,
    build_panel_windows,
    panel_train_end,
    validate_panel,
    with_total,
)
from respicast.dataset.splits import holdout_split
from respicast.table import DailyTable

L, H = 28, 7
PEAK = {"method": "trailing_quantile", "q": 0.9, "window_days": 365, "min_periods": 180}
VAL, TEST = "2017-03-01", "2017-09-01"
TRAIN_END = panel_train_end(VAL, lookback=L, horizon=H)
LATE = 100  # zone z2 starts LATE days after the others


def _panel(make_table, n: int = 3, edit=None) -> PanelTable:
    """n zones of one outcome; z2 starts later (series may cover different date ranges)."""
    tables = [make_table(seed=i) for i in range(n)]
    frames = []
    for i, t in enumerate(tables):
        f = t.frame[LATE:] if i == 2 else t.frame
        frames.append(f.with_columns(zone=pl.lit(f"z{i}"), outcome=pl.lit("resp")))
    frame = pl.concat(frames)
    if edit is not None:
        frame = edit(frame)
    static = pl.DataFrame(
        {
            "zone": [f"z{i}" for i in range(n)],
            "outcome": "resp",
            "population": [1e5 * (i + 1) for i in range(n)],
        }
    )
    return PanelTable(
        frame=frame,
        target="admissions",
        columns=tables[0].columns,
        keys=["zone", "outcome"],
        static=static,
    )


def _build(panel: PanelTable, **over):
    kw = {"lookback": L, "horizon": H, "peak": PEAK, "train_end_day": TRAIN_END, **over}
    return build_panel_windows(panel, **kw)


def _single(panel: PanelTable, zone: str):
    """build_windows on one series of the panel, with the same training days."""
    frame = panel.frame.filter(pl.col("zone") == zone).drop("zone", "outcome").sort("date")
    table = DailyTable(frame=frame, target=panel.target, columns=panel.columns)
    k = int((frame["date"].to_numpy().astype("datetime64[D]") <= TRAIN_END).sum())
    return build_windows(table, lookback=L, horizon=H, train_end_day=k, peak=PEAK)


def _raw(x: np.ndarray, scaler) -> np.ndarray:
    return x * scaler.std.astype(np.float32) + scaler.mean.astype(np.float32)


def test_windows_equal_a_single_series_build(make_table):
    panel = _panel(make_table)
    pw = _build(panel)
    assert pw.series_frame()["zone"].to_list() == ["z0", "z1", "z2"]
    for s, zone in enumerate(["z0", "z1", "z2"]):
        ws, sc = _single(panel, zone)
        mine = pw.series_windows(s)
        pos = np.flatnonzero(pw.index[:, 0] == s)
        b = pw.batch(pos)
        np.testing.assert_array_equal(pw.origins[pos], ws.origins)
        for name in ("history", "y_count", "threshold", "level", "y_peak"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(ws, name), err_msg=name)
            np.testing.assert_array_equal(b[name], getattr(ws, name), err_msg=name)
        # scalers are pooled over the series, so compare in raw units; the future of the last
        # H origins runs into padding, 0 after scaling in both
        lab = pw.labelled[pos]
        for name in ("past", "future"):
            want = _raw(getattr(ws, name)[lab], sc[name])
            got = _raw(b[name][lab], pw.scalers[name])
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=name)
            np.testing.assert_array_equal(getattr(mine, name), b[name])
        assert (b["future"][~lab][:, -1] == 0).all() and (ws.future[~lab][:, -1] == 0).all()
        assert (b["series"] == s).all()
    assert pw.past_names == ws.past_names and pw.future_names == ws.future_names


def test_one_series_panel_is_exactly_build_windows(make_table):
    panel = _panel(make_table, n=1)
    pw = _build(panel)
    ws, sc = _single(panel, "z0")
    mine = pw.series_windows(0)
    for name in ("history", "past", "future", "y_count", "threshold", "level"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(ws, name), err_msg=name)
    # the same training rows (summed in another order: equal to rounding)
    for name in ("past", "future"):
        np.testing.assert_allclose(pw.scalers[name].mean, sc[name].mean, rtol=1e-12)
        np.testing.assert_allclose(pw.scalers[name].std, sc[name].std, rtol=1e-12)


def test_windows_are_views_and_memory_does_not_grow_with_lookback(make_table):
    panel = _panel(make_table)
    pw = _build(panel)
    pairs = [
        (pw.history_v, pw.history_flat),
        (pw.past_v, pw.past_flat),
        (pw.future_v, pw.future_flat),
        (pw.y_count_v, pw.counts_flat),
    ]
    for view, flat in pairs:
        assert not view.flags.owndata and np.shares_memory(view, flat)
        assert np.shares_memory(view[0], view[1])  # one origin on = one row on
    ws = pw.series_windows(1)
    for name, flat in (
        ("history", pw.history_flat),
        ("past", pw.past_flat),
        ("y_count", pw.counts_flat),
    ):
        assert np.shares_memory(getattr(ws, name), flat), name
    # a batch is a copy of the B samples only
    b = pw.batch(np.arange(5))
    assert not np.shares_memory(b["past"], pw.past_flat) and b["past"].shape == (5, L, 3)
    long = _build(panel, lookback=200)
    n_origins = len(pw) - len(long)
    assert n_origins == 3 * (200 - L)
    # only the index shrinks with a longer lookback; the buffers stay the same size
    assert long.storage_nbytes() <= pw.storage_nbytes()
    flat = sum(a.nbytes for a in (pw.history_flat, pw.past_flat, pw.future_flat, pw.counts_flat))
    assert flat < 3 * 1300 * 8 * 8  # rows x (a few channels), not x lookback x origins


def test_thresholds_use_only_each_series_own_past(make_table):
    cut = np.datetime64("2017-05-01")

    def triple_z1_after_cut(frame):
        later = (pl.col("zone") == "z1") & (pl.col("date") > pl.lit(cut.item()))
        return frame.with_columns(
            admissions=pl.when(later).then(pl.col("admissions") * 3).otherwise(pl.col("admissions"))
        )

    a = _build(_panel(make_table))
    b = _build(_panel(make_table, edit=triple_z1_after_cut))
    for s in range(3):
        wa, wb = a.series_windows(s), b.series_windows(s)
        upto = wa.origins <= cut
        for name in ("threshold", "history", "level", "past"):
            np.testing.assert_array_equal(
                getattr(wa, name)[upto], getattr(wb, name)[upto], err_msg=f"{s} {name}"
            )
        same_later = np.array_equal(wa.threshold[~upto], wb.threshold[~upto], equal_nan=True)
        assert same_later == (s != 1)  # other series' thresholds do not move at all


def test_split_dates_are_identical_for_every_series(make_table):
    pw = _build(_panel(make_table))
    parts = pw.split_by_dates(VAL, TEST)
    single = holdout_split(
        pw.series_windows(0).origins[:-H], embargo=L + H, val_start=VAL, test_start=TEST
    )
    origins0 = pw.series_windows(0).origins
    for name, pos in parts.items():
        by_series = [pw.origins[pos[pw.index[pos, 0] == s]] for s in range(3)]
        want = origins0[getattr(single, name)]
        np.testing.assert_array_equal(by_series[0], want, err_msg=name)
        np.testing.assert_array_equal(by_series[1], want, err_msg=name)
        # the later series has the same cut dates, less the days before it starts
        np.testing.assert_array_equal(by_series[2], want[want >= by_series[2][0]], err_msg=name)
    assert pw.origins[parts["val"]].min() == np.datetime64(VAL)
    assert pw.origins[parts["test"]].min() == np.datetime64(TEST)
    assert (pw.origins[parts["train"]] + np.timedelta64(H, "D") <= TRAIN_END).all()
    assert pw.labelled[np.concatenate(list(parts.values()))].all()


def test_split_refuses_scalers_that_saw_validation(make_table):
    pw = _build(_panel(make_table), train_end_day=VAL)
    with pytest.raises(ValueError, match="scalers were fitted on days up to 2017-03-01"):
        pw.split_by_dates(VAL, TEST)


def _drop_z2_days(frame):
    z2 = frame.filter(pl.col("zone") == "z2")
    days = z2["date"][10:13].to_list()
    return frame.filter(~((pl.col("zone") == "z2") & pl.col("date").is_in(days)))


def _no_target_z1(frame):
    return frame.with_columns(
        admissions=pl.when(pl.col("zone") == "z1").then(None).otherwise(pl.col("admissions"))
    )


def _duplicate_z0(frame):
    return pl.concat([frame, frame.filter(pl.col("zone") == "z0")[5:6]])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_no_target_z1, r"check: series zone=z1, outcome=resp has no observed target"),
        (_duplicate_z0, r"check: series zone=z0, outcome=resp has 2 rows on 2015-01-06"),
        (
            _drop_z2_days,
            r"check: series zone=z2, outcome=resp has a gap .* first missing day 2015-04-21, "
            r"3 missing day",
        ),
    ],
)
def test_bad_rows_raise_naming_the_series(make_table, edit, message):
    panel = _panel(make_table, edit=edit)
    with pytest.raises(ValueError, match=message):
        validate_panel(panel, "check")
    with pytest.raises(ValueError, match=message.replace("check", "build_panel_windows")):
        _build(panel)


def test_bad_keys_and_static_raise(make_table):
    panel = _panel(make_table)
    validate_panel(panel, "ok")  # different date ranges are allowed
    bad_key = PanelTable(panel.frame, panel.target, panel.columns, ["zone", "age_band"])
    with pytest.raises(ValueError, match=r"here: key column\(s\) \['age_band'\] not in"):
        validate_panel(bad_key, "here")
    lost = PanelTable(panel.frame, panel.target, panel.columns, panel.keys, static=panel.static[:2])
    with pytest.raises(ValueError, match="here: series zone=z2, outcome=resp has no static row"):
        validate_panel(lost, "here")
    short = PanelTable(
        panel.frame.filter((pl.col("zone") != "z1") | (pl.col("date") < pl.date(2015, 2, 1))),
        panel.target,
        panel.columns,
        panel.keys,
        static=panel.static,
    )
    with pytest.raises(ValueError, match="series zone=z1, outcome=resp has 31 days, fewer"):
        _build(short)


def test_with_total_sums_parts_and_logs_missing_days(make_table, caplog):
    def hole(frame):  # z0 has no count on 2016-06-01
        day = (pl.col("zone") == "z0") & (pl.col("date") == pl.date(2016, 6, 1))
        return frame.with_columns(
            admissions=pl.when(day).then(None).otherwise(pl.col("admissions"))
        )

    panel = _panel(make_table, edit=hole)
    with caplog.at_level(logging.INFO, logger="respicast.dataset.panel"):
        total = with_total(panel, over=["zone"])
    # z2 lacks the first LATE days and z0 one day: those sums are missing, and logged
    assert f"{LATE + 1} of 1200 total day(s) missing" in caplog.text
    validate_panel(total, "total")
    assert total.frame["admissions"].dtype == panel.frame["admissions"].dtype
    parts = panel.frame.pivot(on="zone", index="date", values="admissions").sort("date")
    want = (parts["z0"] + parts["z1"] + parts["z2"]).to_numpy()  # null when any part is null
    got = total.frame.filter(pl.col("zone") == "all").sort("date")
    assert got.height == 1200 and got["date"].equals(parts["date"])
    np.testing.assert_array_equal(got["admissions"].cast(float).to_numpy(), want.astype(float))
    assert got["admissions"].null_count() == LATE + 1
    pm = panel.frame.group_by("date").agg(pl.col("pm25").mean()).sort("date")["pm25"]
    np.testing.assert_allclose(got["pm25"].to_numpy(), pm.to_numpy())
    pop = total.static.filter(pl.col("zone") == "all")["population"].item()
    assert pop == panel.static["population"].sum()
    pw = _build(total)
    assert pw.series_frame()["zone"].to_list() == ["all", "z0", "z1", "z2"]


def test_with_total_over_every_key_and_bad_requests(make_table):
    panel = _panel(make_table)
    total = with_total(with_total(panel, over=["zone"]), over=["outcome"], label="any")
    assert total.static.select("zone", "outcome").rows()[-1] == ("all", "any")
    everything = with_total(panel, over=["zone", "outcome"])
    assert everything.frame.filter(pl.col("zone") == "all")["outcome"].unique().to_list() == ["all"]
    with pytest.raises(ValueError, match="already has a series labelled 'z1'"):
        with_total(panel, over=["zone"], label="z1")
    with pytest.raises(ValueError, match="must name key columns"):
        with_total(panel, over=["region"])


def test_train_fitted_threshold_needs_training_counts_in_each_series(make_table):
    def z1_unknown_in_training(frame):
        early = (pl.col("zone") == "z1") & (pl.col("date") <= pl.lit(TRAIN_END.item()))
        return frame.with_columns(
            admissions=pl.when(early).then(None).otherwise(pl.col("admissions"))
        )

    panel = _panel(make_table, edit=z1_unknown_in_training)
    _build(panel)  # trailing thresholds are simply undefined until counts are known
    with pytest.raises(ValueError, match="series zone=z1, outcome=resp has no observed target on"):
        _build(panel, peak={"method": "train_quantile", "q": 0.9})
