"""Logistic regression for peaks and Poisson regression for counts, one pair per horizon.

Inputs (all known at the origin): the last ``n_lags`` days of history / level, the threshold /
level ratio, the mean of each past covariate over the last ``past_days`` days and its last
value, and the calendar of the target day. Counts are modelled relative to the level (Poisson
on count / level, weighted by the level: the same fit as a log-level offset). Inputs are clipped
to their training range before predicting: the log link turns an input far outside it (a
near-constant training column of a sparse series) into an absurd count; for the same reason
the count / level forecast is capped at the highest one seen in training.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.preprocessing import StandardScaler

from respicast.dataset.windows import WindowSet
from respicast.features import fill_gaps
from respicast.models.baselines import inputs
from respicast.models.baselines.base import Baseline, check_fitted, check_inputs, one_blas_thread


def design(ws: WindowSet, n_lags: int, past_days: int, h: int, use_past: bool) -> np.ndarray:
    """[N, P] inputs for horizon index h (0-based)."""
    level = inputs.safe_level(ws)
    parts = [
        inputs.relative_lags(ws, n_lags),
        np.log(np.clip(ws.threshold / level, 1e-3, None))[:, None],
        ws.future[:, h, :],
    ]
    if use_past:
        past = fill_gaps(np.moveaxis(ws.past[:, -past_days:, :], 1, -1))  # [N, Fp, days]
        parts += [past.mean(axis=-1), past[:, :, -1]]
    return np.concatenate(parts, axis=1)


class LogisticBaseline(Baseline):
    name = "logistic"

    def __init__(
        self,
        n_lags: int = 14,
        past_days: int = 7,
        use_past: bool = True,
        C: float = 1.0,
        alpha: float = 1e-3,
        max_iter: int = 500,
    ):
        self.n_lags, self.past_days, self.use_past = n_lags, past_days, use_past
        self.C, self.alpha, self.max_iter = C, alpha, max_iter
        self.needs = frozenset({"history", "future", *(["past"] if use_past else [])})
        self.models_: list[tuple] = []  # per horizon: scaler, clf, reg, rate, (lo, hi, cap)

    def _x(self, ws: WindowSet, h: int) -> np.ndarray:
        return design(ws, self.n_lags, self.past_days, h, self.use_past)

    @one_blas_thread
    def fit(self, train: WindowSet, val: WindowSet | None = None) -> LogisticBaseline:
        check_inputs(train, self.needs, self.name)
        level = inputs.safe_level(train)
        self.models_ = []
        for h in range(train.horizon):
            x = self._x(train, h)
            scaler = StandardScaler().fit(x)
            xs = np.nan_to_num(scaler.transform(x))  # a missing input takes its training mean
            bounds = (xs.min(axis=0), xs.max(axis=0), float(np.nanmax(train.y_count[:, h] / level)))
            ok_c = ~np.isnan(train.y_count[:, h])
            reg = PoissonRegressor(
                alpha=self.alpha, max_iter=self.max_iter, solver="newton-cholesky"
            )
            reg.fit(xs[ok_c], train.y_count[ok_c, h] / level[ok_c], sample_weight=level[ok_c])
            ok_p = ~np.isnan(train.y_peak[:, h])
            y = train.y_peak[ok_p, h]
            clf = None
            rate = float(np.mean(y)) if y.size else float("nan")
            if y.size and 0 < y.sum() < y.size:  # both classes present
                clf = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="newton-cholesky")
                clf.fit(xs[ok_p], y)
            self.models_.append((scaler, clf, reg, rate, bounds))
        return self

    @one_blas_thread
    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        check_fitted(bool(self.models_), self.name)
        check_inputs(ws, self.needs, self.name)
        level = inputs.safe_level(ws)
        mean = np.empty((len(ws), ws.horizon))
        prob = np.full((len(ws), ws.horizon), np.nan)
        for h, (scaler, clf, reg, rate, (lo, hi, cap)) in enumerate(self.models_):
            x = self._x(ws, h)
            xs = np.clip(np.nan_to_num(scaler.transform(x)), lo, hi)
            mean[:, h] = np.minimum(reg.predict(xs), cap) * level
            prob[:, h] = clf.predict_proba(xs)[:, 1] if clf is not None else rate
        prob[np.isnan(ws.threshold)] = np.nan
        return mean, prob
