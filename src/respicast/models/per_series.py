"""A baseline on a panel: one fitted copy per series, each on its own series' windows alone.

Deep nets are global (one net over all series, which it tells apart by their static inputs);
baselines keep their natural per-series form, as an epidemiologist fits one GLM per area. The
static channels (constant within a series) are dropped from each copy's inputs.
"""

from __future__ import annotations

import copy
import logging

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.models.forecaster import Prediction

log = logging.getLogger(__name__)


def series_part(ws: WindowSet, s: int) -> WindowSet:
    """The origins of series ``s`` in ``ws`` as a plain, materialised WindowSet, without the
    static channels."""
    rows = np.flatnonzero(ws.series == s)
    keep = [i for i, g in enumerate(ws.past_groups) if g != "static"]
    past = np.asarray(ws.past[rows])[:, :, keep]
    return WindowSet(
        origins=ws.origins[rows],
        history=np.asarray(ws.history[rows]),
        past=past,
        future=np.asarray(ws.future[rows]),
        level=ws.level[rows],
        threshold=ws.threshold[rows],
        y_count=ws.y_count[rows],
        y_peak=ws.y_peak[rows],
        past_names=[ws.past_names[i] for i in keep],
        future_names=ws.future_names,
        past_groups=[ws.past_groups[i] for i in keep],
        future_groups=ws.future_groups,
    )


class PerSeriesForecaster:
    """One copy of an unfitted baseline per series of the panel (a Forecaster)."""

    def __init__(self, template, names: list[str]):
        self.template = template
        self.name = template.name
        self.series_names = names
        self.models: dict[int, object] = {}

    @classmethod
    def build(cls, base_cls, cfg, dm, **fit_options) -> PerSeriesForecaster:
        template = base_cls.build(cfg, dm, **fit_options)
        table = dm.series_table()
        names = [", ".join(str(r[k]) for k in dm.keys) for r in table.iter_rows(named=True)]
        return cls(template, names)

    def _series(self, ws: WindowSet) -> list[int]:
        return [int(s) for s in np.unique(ws.series)]

    def fit(self, train: WindowSet, val: WindowSet | None = None) -> PerSeriesForecaster:
        self.models = {}
        for s in self._series(train):
            part = series_part(train, s)
            vpart = series_part(val, s) if val is not None and (val.series == s).any() else None
            try:
                self.models[s] = copy.deepcopy(self.template).fit(part, vpart)
            except Exception as err:
                raise type(err)(f"{self.name}, series {self.series_names[s]}: {err}") from err
        log.info("%s: fitted one model per series (%d series)", self.name, len(self.models))
        return self

    def refit(self, train: WindowSet) -> PerSeriesForecaster:
        new = PerSeriesForecaster(self.template, self.series_names)
        new.models = {s: self.models[s].refit(series_part(train, s)) for s in self._series(train)}
        return new

    def predict(self, windows: WindowSet) -> Prediction:
        n, h = windows.y_count.shape
        counts, probs = np.full((n, h), np.nan), np.full((n, h), np.nan)
        k = np.full((n, h), np.nan)
        has_k = True
        for s in self._series(windows):
            if s not in self.models:
                raise ValueError(
                    f"{self.name}: series {self.series_names[s]} has no fitted model (it had no "
                    "training origin)"
                )
            rows = np.flatnonzero(windows.series == s)
            p = self.models[s].predict(series_part(windows, s))
            counts[rows], probs[rows] = p.counts, p.peak_prob
            if p.dispersion is None:
                has_k = False
            else:
                k[rows] = p.dispersion
        return Prediction(counts, probs, k if has_k else None)

    def save(self, run_dir) -> None:
        from respicast.models.baselines.base import FITTED_KEY

        state = run_dir.read_fitted() if run_dir.has_fitted() else {}
        state[FITTED_KEY] = self
        run_dir.write_fitted(state)
