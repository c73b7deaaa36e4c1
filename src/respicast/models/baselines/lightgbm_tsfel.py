"""LightGBM on TSFEL features of each input channel's lookback window.

Channels: history / level (level-relative, so a level drifting over years does not move the
features) and each past covariate. Per horizon: a classifier for the peak and a Poisson
regressor for count / level (weighted by the level). Deterministic for a given ``seed`` and
``num_threads``. Features are cached by a hash of the window data (``cache_dir`` on disk; always
in memory).
"""

from __future__ import annotations

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.features import FeatureCache, fill_gaps, tsfel_table, unknown_tail
from respicast.models.baselines import inputs
from respicast.models.baselines.base import Baseline, check_fitted, check_inputs, one_blas_thread


class LightGBMTSFEL(Baseline):
    name = "lightgbm_tsfel"

    def __init__(
        self,
        features: list[str] | None = None,
        use_past: bool = True,
        recent_days: int = 7,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        seed: int = 0,
        num_threads: int = 1,  # OpenMP threads spin-wait: >1 is slower on a busy machine
        cache_dir: str | None = None,
    ):
        self.features = list(features) if features is not None else None
        self.use_past = use_past
        self.recent_days = recent_days
        self.needs = frozenset({"history", *(["past"] if use_past else [])})
        self.params = dict(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            min_child_samples=min_child_samples,
            subsample=subsample,
            subsample_freq=1,
            colsample_bytree=colsample_bytree,
            random_state=seed,
            n_jobs=num_threads,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.cache = FeatureCache(cache_dir)
        self.trim_tail_: int | None = None
        self.columns_: list[str] = []
        self.models_: list = []

    def design(self, ws: WindowSet, h: int, table: np.ndarray | None = None) -> np.ndarray:
        """[N, P] inputs for horizon index h: TSFEL table, latest values, threshold/level, calendar."""
        if table is None:
            table = self._table(ws)
        thr_rel = np.log(np.clip(ws.threshold / inputs.safe_level(ws), 1e-3, None))
        # window summaries miss "what happened last": add the latest days as they are
        recent = [inputs.relative_lags(ws, min(self.recent_days, ws.lookback))]
        if self.use_past:
            recent.append(fill_gaps(np.moveaxis(ws.past, 1, -1))[:, :, -1])
        return np.concatenate([table, *recent, thr_rel[:, None], ws.future[:, h, :]], axis=1)

    def _table(self, ws: WindowSet) -> np.ndarray:
        table, self.columns_ = tsfel_table(
            ws, self.features, self.trim_tail_, self.use_past, cache=self.cache
        )
        return table

    @one_blas_thread
    def fit(self, train: WindowSet, val: WindowSet | None = None) -> LightGBMTSFEL:
        import lightgbm as lgb

        check_inputs(train, self.needs, self.name)
        self.trim_tail_ = unknown_tail(train.history)
        table = self._table(train)
        level = inputs.safe_level(train)
        self.models_ = []
        for h in range(train.horizon):
            x = self.design(train, h, table)
            ok_c = ~np.isnan(train.y_count[:, h])
            reg = lgb.LGBMRegressor(objective="poisson", **self.params)
            reg.fit(x[ok_c], train.y_count[ok_c, h] / level[ok_c], sample_weight=level[ok_c])
            ok_p = ~np.isnan(train.y_peak[:, h])
            y = train.y_peak[ok_p, h]
            if not (0 < y.sum() < y.size):
                raise ValueError(
                    f"{self.name}: y_peak at horizon {h + 1} needs both classes in training"
                )
            clf = lgb.LGBMClassifier(objective="binary", **self.params).fit(x[ok_p], y)
            self.models_.append((reg, clf))
        return self

    @one_blas_thread
    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        check_fitted(bool(self.models_), self.name)
        check_inputs(ws, self.needs, self.name)
        table = self._table(ws)
        level = inputs.safe_level(ws)
        mean = np.empty((len(ws), ws.horizon))
        prob = np.empty((len(ws), ws.horizon))
        for h, (reg, clf) in enumerate(self.models_):
            x = self.design(ws, h, table)
            mean[:, h] = reg.predict(x) * level
            prob[:, h] = clf.predict_proba(x)[:, 1]
        prob[np.isnan(ws.threshold)] = np.nan
        return mean, prob
