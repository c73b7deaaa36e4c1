"""Window features: one row per origin from its own lookback only; cached by data hash."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from respicast.features import FeatureCache, tsfel_table, unknown_tail
from respicast.models.baselines.synthetic import make_windowset

NAMES = ["Mean", "Slope", "Autocorrelation", "Entropy"]


def _copy(ws):
    return replace(ws, **{k: np.array(v) for k, v in vars(ws).items() if isinstance(v, np.ndarray)})


@pytest.fixture(scope="module")
def ws():
    """History aligned on the origin, its last two days unknown (reporting latency)."""
    ws = _copy(make_windowset(n_days=400, lookback=28, latency=0, seed=3))
    ws.history[:, -2:] = np.nan
    return ws


def test_table_shape_names_and_latency(ws):
    assert unknown_tail(ws.history) == 2
    table, cols = tsfel_table(ws, NAMES, trim_tail=2)
    assert table.shape == (len(ws), (1 + len(ws.past_names)) * len(NAMES))
    assert cols[0] == "history_rel:Mean" and cols[-1] == f"{ws.past_names[-1]}:Entropy"
    assert np.isfinite(table).all()
    # the history mean is over the known part only, relative to the level
    known = ws.history[:, :-2] / ws.level[:, None]
    np.testing.assert_allclose(table[:, 0], known.mean(axis=1))


def test_features_of_an_origin_ignore_everything_after_it(ws):
    i = 200
    base, _ = tsfel_table(ws, NAMES, trim_tail=2)
    later = _copy(ws)
    later.past[i + 1 :] += 5.0
    later.history[i + 1 :] *= 3.0
    later.y_count[:] = 0.0
    later.level[i + 1 :] *= 2.0
    changed, _ = tsfel_table(later, NAMES, trim_tail=2)
    np.testing.assert_array_equal(changed[: i + 1], base[: i + 1])
    assert not np.allclose(changed[i + 1 :], base[i + 1 :])


def test_cache_is_keyed_by_data(ws, tmp_path):
    cache = FeatureCache(tmp_path)
    first, _ = tsfel_table(ws, NAMES, trim_tail=2, cache=cache)
    files = sorted(tmp_path.glob("*.npy"))
    assert len(files) == 2  # one block for history, one for the covariates
    # a fresh cache object reads the same files back
    again, _ = tsfel_table(ws, NAMES, trim_tail=2, cache=FeatureCache(tmp_path))
    np.testing.assert_array_equal(again, first)
    assert sorted(tmp_path.glob("*.npy")) == files
    other = _copy(ws)
    other.past[:, :, 0] += 1.0
    tsfel_table(other, NAMES, trim_tail=2, cache=cache)
    assert len(list(tmp_path.glob("*.npy"))) == 3  # changed covariates: a new key
