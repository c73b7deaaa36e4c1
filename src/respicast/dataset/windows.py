"""WindowSet: the samples every model sees, one per forecast origin t.

Arrays are strided views over the daily table (``numpy.lib.stride_tricks.sliding_window_view``):
memory does not grow with lookback × samples. Splits are contiguous slices, which stay views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class WindowSet:
    origins: np.ndarray  # [N] datetime64[D]: origin t = last day of the lookback
    history: (
        np.ndarray
    )  # [N, L] target counts known at t (lagged by publication latency); nan = unknown
    past: np.ndarray  # [N, L, Fp] past covariates, scaled on the training part only
    future: np.ndarray  # [N, H, Ff] known-future covariates for t+1..t+H (calendar)
    level: (
        np.ndarray
    )  # [N] level of the history at t (past only), for level-relative inputs/outputs
    threshold: np.ndarray  # [N] peak threshold at t (past only); nan where undefined
    y_count: np.ndarray  # [N, H] observed counts at t+1..t+H
    y_peak: np.ndarray  # [N, H] 1.0/0.0 peak labels; nan where the threshold is undefined
    past_names: list[str]
    future_names: list[str]
    past_groups: list[str]  # group of each past channel (for ablation / permutation importance)
    future_groups: list[str]
    # [N] index of each origin's series in a panel (dataset.panel_datamodule); None: one series
    series: np.ndarray | None = None
    step_days: int = 1  # days between origins and between horizons: 1 daily, 7 weekly

    def __len__(self) -> int:
        return len(self.origins)

    @property
    def lookback(self) -> int:
        return self.history.shape[1]

    @property
    def horizon(self) -> int:
        return self.y_count.shape[1]

    def target_dates(self) -> np.ndarray:
        """[N, H] datetime64[D] target days t+1..t+H."""
        steps = np.arange(1, self.horizon + 1) * self.step_days
        return self.origins[:, None] + steps.astype("timedelta64[D]")

    def slice(self, start: int, stop: int) -> WindowSet:
        """Origins [start, stop) as views (a contiguous split)."""
        s = np.s_[start:stop]
        return WindowSet(
            origins=self.origins[s],
            history=self.history[s],
            past=self.past[s],
            future=self.future[s],
            level=self.level[s],
            threshold=self.threshold[s],
            y_count=self.y_count[s],
            y_peak=self.y_peak[s],
            past_names=self.past_names,
            future_names=self.future_names,
            past_groups=self.past_groups,
            future_groups=self.future_groups,
            series=None if self.series is None else self.series[s],
            step_days=self.step_days,
        )
