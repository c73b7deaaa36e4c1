"""Persistence (seasonal-naive): tomorrow looks like the last known day, or the same weekday.

``mode='last'``: expected count = last known count, for every horizon. ``mode='weekly'``: for
target day t+h, the latest known count of the same weekday. Peak probability either from the
empirical training frequency of a peak given the persisted value relative to the threshold
(``prob='empirical'``, per horizon, in quantile bins of that ratio), or NB exceedance with a
dispersion fitted on the training residuals (``prob='nb'``).
"""

from __future__ import annotations

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.models.baselines import inputs
from respicast.models.baselines.base import Baseline, check_fitted, check_inputs, one_blas_thread
from respicast.models.baselines.dispersion import fit_nb_dispersion
from respicast.models.count_dist import exceedance_prob


class Persistence(Baseline):
    name = "persistence"
    needs = frozenset({"history"})

    def __init__(
        self, mode: str = "last", prob: str = "empirical", n_bins: int = 10, prior: float = 1.0
    ):
        if mode not in ("last", "weekly"):
            raise ValueError(f"persistence.mode must be 'last' or 'weekly', got {mode!r}")
        if prob not in ("empirical", "nb"):
            raise ValueError(f"persistence.prob must be 'empirical' or 'nb', got {prob!r}")
        self.mode, self.prob, self.n_bins, self.prior = mode, prob, n_bins, prior
        self.edges_: np.ndarray | None = None  # [H, n_bins-1] ratio bin edges
        self.freq_: np.ndarray | None = None  # [H, n_bins] peak frequency per bin
        self.dispersion_: float = float("inf")
        self._fitted = False
        self.offset_ = 0  # days from the last history position to the origin (latency)

    def persisted(self, ws: WindowSet) -> np.ndarray:
        """[N, H] persisted counts."""
        check_inputs(ws, self.needs, self.name)
        if self.mode == "last":
            value, _ = inputs.last_known(ws.history)
            return np.repeat(value[:, None], ws.horizon, axis=1)
        length, out = ws.lookback, np.full((len(ws), ws.horizon), np.nan)
        last = length - 1 + self.offset_  # window position of the origin day itself
        for h in range(1, ws.horizon + 1):
            # same weekday k weeks before the target day, the most recent known one wins
            for pos in range(last + h - 7, -1, -7):
                if pos > length - 1:
                    continue
                fill = np.isnan(out[:, h - 1])
                out[fill, h - 1] = ws.history[fill, pos]
        if np.isnan(out).any():  # no known same weekday in the window: fall back to the last day
            value, _ = inputs.last_known(ws.history)
            out = np.where(np.isnan(out), value[:, None], out)
        return out

    def _ratio(self, ws: WindowSet, value: np.ndarray) -> np.ndarray:
        return value / ws.threshold[:, None]

    @one_blas_thread
    def fit(self, train: WindowSet, val: WindowSet | None = None) -> Persistence:
        check_inputs(train, self.needs, self.name)
        self.offset_ = inputs.history_offset(train) if self.mode == "weekly" else 0
        value = self.persisted(train)
        if self.prob == "nb":
            self.dispersion_ = fit_nb_dispersion(train.y_count, value)
        else:
            ratio = self._ratio(train, value)
            h_n = train.horizon
            self.edges_ = np.empty((h_n, self.n_bins - 1))
            self.freq_ = np.empty((h_n, self.n_bins))
            base = np.nanmean(train.y_peak)
            if np.isnan(base):
                raise ValueError("persistence: y_peak of the training windows is all NaN")
            for h in range(h_n):
                ok = ~(np.isnan(ratio[:, h]) | np.isnan(train.y_peak[:, h]))
                r, y = ratio[ok, h], train.y_peak[ok, h]
                edges = np.unique(np.quantile(r, np.linspace(0, 1, self.n_bins + 1)[1:-1]))
                self.edges_[h] = np.pad(
                    edges, (0, self.n_bins - 1 - len(edges)), constant_values=np.inf
                )
                b = np.searchsorted(self.edges_[h], r, side="right")
                pos = np.bincount(b, y, minlength=self.n_bins)
                cnt = np.bincount(b, minlength=self.n_bins)
                # shrink sparse bins towards the overall peak rate
                self.freq_[h] = (pos + self.prior * base) / (cnt + self.prior)
        self._fitted = True
        return self

    def count_dispersion(self, counts: np.ndarray) -> float | None:
        # the empirical peak frequencies come with no count distribution
        return float(self.dispersion_) if self.prob == "nb" else None

    @one_blas_thread
    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        check_fitted(self._fitted, self.name)
        value = self.persisted(ws)
        if self.prob == "nb":
            thr = np.broadcast_to(ws.threshold[:, None], value.shape)
            return value, exceedance_prob(value, thr, self.dispersion_)
        ratio = self._ratio(ws, value)
        prob = np.full(value.shape, np.nan)
        for h in range(ws.horizon):
            b = np.searchsorted(self.edges_[h], ratio[:, h], side="right")
            prob[:, h] = np.where(np.isnan(ratio[:, h]), np.nan, self.freq_[h][b])
        return value, prob
