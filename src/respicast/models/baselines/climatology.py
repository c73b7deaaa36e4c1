"""Climatology: the training mean count of each season × day-of-week cell.

Expected count for target day d = mean training count of (season(d), weekday(d)). With
``level_adjust`` the cell mean is a ratio to the origin's level (count / level in training),
multiplied back by the level at prediction: the forecast then follows a level that drifts over
years. Peak probability = P(Y > threshold) under NB(mean, k) with k fitted on the training
residuals (or Poisson).
"""

from __future__ import annotations

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.models.baselines import inputs
from respicast.models.baselines.base import Baseline, check_fitted, check_inputs, one_blas_thread
from respicast.models.baselines.dispersion import fit_nb_dispersion
from respicast.models.count_dist import exceedance_prob

_SEASONS = {"month": (inputs.month, 12), "week": (inputs.week_of_year, 53)}


class Climatology(Baseline):
    name = "climatology"
    needs = frozenset()

    def __init__(
        self,
        season: str = "month",
        level_adjust: bool = False,
        distribution: str = "nb",
        min_count: int = 5,
    ):
        if season not in _SEASONS:
            raise ValueError(f"climatology.season must be one of {list(_SEASONS)}, got {season!r}")
        if distribution not in ("nb", "poisson"):
            raise ValueError(
                f"climatology.distribution must be 'nb' or 'poisson', got {distribution!r}"
            )
        self.season = season
        self.level_adjust = level_adjust
        self.distribution = distribution
        self.min_count = min_count  # cells with fewer training days fall back to the season mean
        self.table_: np.ndarray | None = None
        self.dispersion_: float = float("inf")

    def _cells(self, ws: WindowSet) -> tuple[np.ndarray, int]:
        season_of, n_seasons = _SEASONS[self.season]
        dates = ws.target_dates()
        return season_of(dates) * 7 + inputs.day_of_week(dates), n_seasons

    def _scale(self, ws: WindowSet) -> np.ndarray:
        return inputs.safe_level(ws)[:, None] if self.level_adjust else np.ones((len(ws), 1))

    @one_blas_thread
    def fit(self, train: WindowSet, val: WindowSet | None = None) -> Climatology:
        check_inputs(train, self.needs, self.name)
        cells, n_seasons = self._cells(train)
        y = train.y_count / self._scale(train)
        ok = ~np.isnan(y)
        n_cells = n_seasons * 7
        sums = np.bincount(cells[ok], y[ok], minlength=n_cells)
        counts = np.bincount(cells[ok], minlength=n_cells)
        if counts.sum() == 0:
            raise ValueError("climatology: y_count of the training windows is all NaN")
        # sparse cells borrow the season mean, then the overall mean
        seasons = np.arange(n_cells) // 7
        s_sum = np.bincount(seasons, sums, minlength=n_seasons)
        s_cnt = np.bincount(seasons, counts, minlength=n_seasons)
        overall = sums.sum() / counts.sum()
        season_mean = np.where(s_cnt > 0, s_sum / np.maximum(s_cnt, 1), overall)
        self.table_ = np.where(
            counts >= self.min_count, sums / np.maximum(counts, 1), season_mean[seasons]
        )
        if self.distribution == "nb":
            mean = self.table_[cells] * self._scale(train)
            self.dispersion_ = fit_nb_dispersion(train.y_count[ok], mean[ok])
        return self

    def count_dispersion(self, counts: np.ndarray) -> float:
        return float(self.dispersion_) if self.distribution == "nb" else np.inf

    @one_blas_thread
    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        check_fitted(self.table_ is not None, self.name)
        check_inputs(ws, self.needs, self.name)
        cells, _ = self._cells(ws)
        mean = self.table_[cells] * self._scale(ws)
        k = self.dispersion_ if self.distribution == "nb" else None
        prob = exceedance_prob(mean, np.broadcast_to(ws.threshold[:, None], mean.shape), k)
        return mean, prob
