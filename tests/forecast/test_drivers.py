"""Group ablation: each group's channels go to their training mean, and only that group's."""

from __future__ import annotations

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.forecast import drivers


def _window(L: int = 5, H: int = 3) -> WindowSet:
    past = np.ones((1, L, 3), np.float32) * np.array([2.0, 1.0, -1.5], np.float32)
    return WindowSet(
        origins=np.array(["2020-01-10"], "datetime64[D]"),
        history=np.arange(L, dtype=float)[None] + 10,
        past=past,
        future=np.full((1, H, 1), 0.7, np.float32),
        level=np.array([12.0]),
        threshold=np.array([15.0]),
        y_count=np.full((1, H), np.nan),
        y_peak=np.full((1, H), np.nan),
        past_names=["no2", "no2_filled", "temp"],
        future_names=["dow_sin"],
        past_groups=["pollution", "pollution", "weather"],
        future_groups=["calendar"],
    )


def test_each_ablated_row_neutralises_one_group_only():
    ws = _window()
    ab = drivers.ablated_windows(ws, has_history=True)
    assert ab.groups == ["history", "calendar", "pollution", "weather"]
    w = ab.windows
    assert (
        len(w) == 5
        and np.array_equal(w.past[0], ws.past[0])
        and np.array_equal(w.history[0], ws.history[0])
    )
    hist, cal, pol, wea = (
        ab.groups.index(g) + 1 for g in ("history", "calendar", "pollution", "weather")
    )
    assert np.all(w.history[hist] == 12.0) and np.array_equal(w.past[hist], ws.past[0])
    assert np.all(w.future[cal] == 0) and np.array_equal(w.past[cal], ws.past[0])
    assert np.all(w.past[pol][:, :2] == 0) and np.all(w.past[pol][:, 2] == -1.5)
    assert np.all(w.past[wea][:, 2] == 0) and np.all(w.past[wea][:, :2] != 0)
    assert np.all(ws.past[0] != 0)  # the actual window is untouched


def test_contributions_follow_the_model_and_read_as_words():
    ws = _window()
    ab = drivers.ablated_windows(ws, has_history=False)

    # a stand-in model: pollution raises the peak probability, the weather lowers it
    z = ab.windows.past[:, -1, 0] * 0.5 + ab.windows.past[:, -1, 2] * 0.2 - 1.0
    prob = np.repeat((1 / (1 + np.exp(-z)))[:, None], 3, axis=1)
    count = np.repeat((10 + z)[:, None], 3, axis=1)
    records, lines = drivers.driver_table(
        ab.groups, prob, count, ["Mon", "Tue", "Wed"], min_points=1, top=2
    )
    summary = drivers.group_summary(records)
    assert summary["pollution"] > 10 and summary["weather"] < -1 and summary["calendar"] == 0
    assert lines[0]["text"].startswith("Air pollution raises the peak probability for Mon by")
    assert any(x["text"].startswith("The weather lowers") for x in lines)
    assert not any(x["group"] == "calendar" for x in lines)  # no effect: not named
