"""Time-based splits over forecast origins, with an embargo gap so no window straddles two parts.

A split is three contiguous slices of origin indices, so the WindowSet parts stay strided views.
The embargo (default lookback + horizon origins) keeps every training target day before the first
day of any validation window, and the same between validation and test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    train: slice
    val: slice
    test: slice
    fold: int = 0

    def describe(self, origins: np.ndarray) -> dict[str, str]:
        return {
            name: f"{origins[s.start]}..{origins[s.stop - 1]} ({s.stop - s.start} origins)"
            for name, s in (("train", self.train), ("val", self.val), ("test", self.test))
        }


def _index_of(origins: np.ndarray, day: str) -> int:
    return int(np.searchsorted(origins, np.datetime64(day, "D")))


def _check(split: Split, n: int, what: str) -> Split:
    for name in ("train", "val", "test"):
        s = getattr(split, name)
        if s.stop - s.start < 1:
            raise ValueError(
                f"{what}: the {name} part is empty ({n} origins in all); "
                "use a longer series, a shorter lookback/horizon or other split dates"
            )
    return split


def holdout_split(
    origins: np.ndarray,
    *,
    embargo: int,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    val_start: str | None = None,
    test_start: str | None = None,
) -> Split:
    """train | gap | val | gap | test, by dates when given, else by fractions of the origins."""
    n = len(origins)
    test0 = _index_of(origins, test_start) if test_start else int(round(n * (1 - test_fraction)))
    val0 = (
        _index_of(origins, val_start)
        if val_start
        else int(round(n * (1 - test_fraction - val_fraction)))
    )
    split = Split(
        train=slice(0, max(val0 - embargo, 0)),
        val=slice(val0, max(test0 - embargo, val0)),
        test=slice(test0, n),
    )
    return _check(split, n, "data.split")


def rolling_folds(
    origins: np.ndarray,
    *,
    embargo: int,
    first_test_year: int | None = None,
    min_train_years: int = 3,
    val_days: int = 365,
) -> list[Split]:
    """Expanding-window folds by calendar year: fold k tests year Y_k, validates on the `val_days`
    before it and trains on everything earlier (each part separated by the embargo)."""
    years = origins.astype("datetime64[Y]").astype(int) + 1970
    first = first_test_year or int(years[0]) + min_train_years
    folds = []
    for k, year in enumerate(range(first, int(years[-1]) + 1)):
        test = np.flatnonzero(years == year)
        if len(test) == 0:
            continue
        test0 = int(test[0])
        val0 = max(test0 - embargo - val_days, 0)
        split = Split(
            train=slice(0, max(val0 - embargo, 0)),
            val=slice(val0, test0 - embargo),
            test=slice(test0, int(test[-1]) + 1),
            fold=k,
        )
        folds.append(_check(split, len(origins), f"rolling fold {k} (test year {year})"))
    if not folds:
        raise ValueError(
            f"no rolling fold: first test year {first} is after the data ({years[-1]})"
        )
    return folds
