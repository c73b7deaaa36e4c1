"""The vectorised TSFEL features equal tsfel 0.2.0's own functions, window by window."""

from __future__ import annotations

import numpy as np
import pytest

from respicast.features import FEATURES, compute, fill_gaps
from respicast.features.tsfel_reference import TSFEL_CALLS, tsfel_matrix


def _windows(length: int = 28) -> np.ndarray:
    rng = np.random.default_rng(7)
    gaussian = rng.normal(size=(25, length))
    counts = rng.poisson(9, size=(25, length)).astype(float)  # ties, like admission counts
    rare = rng.poisson(0.4, size=(10, length)).astype(float)  # mostly zeros
    trend = np.arange(length) * 0.3 + rng.normal(size=(5, length))
    special = np.vstack([np.full(length, 3.0), np.zeros(length), np.sin(np.arange(length))])
    return np.vstack([gaussian, counts, rare, trend, special])


@pytest.mark.parametrize("length", [28, 12])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_feature_matches_tsfel(length):
    x = _windows(length)
    names = list(FEATURES)
    ours, ref = compute(x, names), tsfel_matrix(x, names)
    for j, name in enumerate(names):
        keep = np.ones(len(x), dtype=bool)
        if name.startswith("ECDF Percentile"):
            keep = (
                x[:, 0] != x[:, -1]
            )  # tsfel's constant test (first == last): documented difference
        np.testing.assert_allclose(ours[keep, j], ref[keep, j], atol=1e-6, rtol=0, err_msg=name)


def test_every_feature_has_a_tsfel_reference():
    assert set(FEATURES) == set(TSFEL_CALLS)


def test_ecdf_percentile_is_the_percentile_even_when_ends_are_equal():
    x = np.array([[5.0, 1.0, 2.0, 3.0, 4.0, 9.0, 5.0]])  # first == last: tsfel would return 5
    got = compute(x, ["ECDF Percentile_0", "ECDF Percentile_1"])
    # ECDF heights i/7: largest i with i/7 <= 0.2 is 1 -> 1st smallest; <= 0.8 is 5 -> 5th smallest
    np.testing.assert_array_equal(got, [[1.0, 5.0]])


def test_unknown_feature_and_nan_windows_are_rejected():
    x = _windows()
    with pytest.raises(ValueError, match="Spectral entropy"):
        compute(x, ["Mean", "Spectral entropy"])
    x[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compute(x, ["Mean"])


def test_fill_gaps_carries_forward_only():
    x = np.array([[np.nan, 2.0, np.nan, np.nan, 5.0, np.nan], [np.nan] * 6])
    np.testing.assert_array_equal(fill_gaps(x), [[2, 2, 2, 2, 5, 5], [0] * 6])
    # a later value never reaches an earlier gap (except leading gaps, which have no past)
    y = x.copy()
    y[0, 4] = 50.0
    np.testing.assert_array_equal(fill_gaps(y)[0, :4], fill_gaps(x)[0, :4])
