"""The data module of a panel (``data.series``): every series' windows as one WindowSet.

Origins of all series are ordered by date (then series), so a split by dates — the same for every
series, taken over the calendar of origin days exactly as for one series — is a contiguous slice
and the parts stay views. The heavy arrays (history, past, future) are ``RowView``s over the
panel's flat buffers (dataset.panel): a window is gathered only when indexed, so memory does not
grow with lookback x samples x series. A series' static attributes and a one-hot of its key
values are appended to its past channels as constant inputs (group ``static``): a global net
tells the series apart with no change to its architecture. So is the log of the series' level at
the origin (its trailing mean count, known at t): the nets read history as count / level, and
without the scale they cannot tell a series of 0.2 a day, whose history is mostly noise, from one
of 50 a day (the scale as an input, as in DeepAR).
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from respicast.dataset.datamodule import WindowDataModule, _origin_split
from respicast.dataset.panel import PanelTable, build_panel_windows
from respicast.dataset.windows import WindowSet

log = logging.getLogger(__name__)

STATIC_GROUP = "static"
LOG_LEVEL_NAME = "static:log_level"
LOG_LEVEL_SD = 3.0  # log levels of 0.01 .. 1000 a day land in about [-1.5, 2.3]


class RowView:
    """Rows ``rows`` of a sliding-window view, materialised only when indexed or converted. Each
    step gets a series' static vector appended when ``static`` is given (``series``: each row's
    series) and a row's own constants when ``per_row`` is ([rows, c])."""

    def __init__(
        self,
        view: np.ndarray,
        rows: np.ndarray,
        static: np.ndarray | None = None,
        series: np.ndarray | None = None,
        per_row: np.ndarray | None = None,
    ):
        self.view, self.rows, self.static, self.series = view, rows, static, series
        self.per_row = per_row

    @property
    def shape(self) -> tuple[int, ...]:
        rest = list(self.view.shape[1:])
        for extra in (self.static, self.per_row):
            if extra is not None:
                rest[-1] += extra.shape[1]
        return (len(self.rows), *rest)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self):
        return self.view.dtype

    def __len__(self) -> int:
        return len(self.rows)

    def _gather(self, pos) -> np.ndarray:
        out = self.view[self.rows[pos]]
        parts = [out]
        if self.static is not None:
            parts.append(self.static[self.series[pos]])
        if self.per_row is not None:
            parts.append(self.per_row[pos])
        if len(parts) == 1:
            return out
        steps = out.shape[-2]
        parts[1:] = [
            np.broadcast_to(p[..., None, :], (*p.shape[:-1], steps, p.shape[-1])).astype(out.dtype)
            for p in parts[1:]
        ]
        return np.concatenate(parts, axis=-1)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._gather(int(key))
        if (
            isinstance(key, slice)
            or (
                isinstance(key, np.ndarray)
                and key.ndim == 1
                and len(key) == len(self.rows)
                and key.dtype == bool
            )
            or (isinstance(key, np.ndarray) and key.ndim == 1 and key.dtype.kind in "iu")
        ):
            return RowView(
                self.view,
                self.rows[key],
                self.static,
                None if self.series is None else self.series[key],
                None if self.per_row is None else self.per_row[key],
            )
        return np.asarray(self)[key]  # anything else: on the materialised array

    def __array__(self, dtype=None, copy=None):
        out = self._gather(slice(None))
        return out if dtype is None else out.astype(dtype)


def _one_hot(static: pl.DataFrame, keys: list[str]) -> tuple[np.ndarray, list[str]]:
    """A 0/1 column per value of each key (a factorised series embedding) when a key has ≥ 2."""
    cols, names = [], []
    for k in keys:
        values = static[k].cast(pl.String).to_list()
        levels = sorted(set(values))
        if len(levels) < 2:
            continue
        for v in levels:
            cols.append(np.array([x == v for x in values], float))
            names.append(f"{k}={v}")
    return (np.stack(cols, 1) if cols else np.zeros((static.height, 0))), names


def panel_windowset(pw) -> tuple[WindowSet, np.ndarray]:
    """The labelled origins of every series, by date then series, as one WindowSet of RowViews;
    and their series index."""
    keep = np.flatnonzero(pw.labelled)
    order = keep[np.lexsort((pw.index[keep, 0], pw.origins[keep]))]
    return windows_at(pw, order), pw.index[order, 0]


def windows_at(pw, order: np.ndarray) -> WindowSet:
    """The origins at positions ``order`` of the panel's index, as a WindowSet of RowViews."""
    series = pw.index[order, 0]
    g = pw.offsets[series] + pw.index[order, 1]  # flat row of each origin
    L = pw.lookback
    onehot, onehot_names = _one_hot(pw.series, pw.keys)
    static = np.concatenate([pw.static, onehot], axis=1).astype(np.float32)
    static_names = [f"static:{n}" for n in [*pw.static_names, *onehot_names]]
    level = pw.level_flat[g]
    # the series' scale at the origin (a fixed transform: nothing is fitted, nothing leaks)
    log_level = np.log(np.clip(np.nan_to_num(level, nan=1.0), 1e-2, None))[:, None] / LOG_LEVEL_SD
    y = np.array(pw.y_count_v[g + 1])
    thr = pw.threshold_flat[g]
    from respicast.dataset.build import _peak_labels

    return WindowSet(
        origins=pw.origins[order],
        history=RowView(pw.history_v, g - (L - 1)),
        past=RowView(
            pw.past_v,
            g - (L - 1),
            static if static.shape[1] else None,
            series,
            log_level.astype(np.float32),
        ),
        future=RowView(pw.future_v, g + 1),
        level=level,
        threshold=thr,
        y_count=y,
        y_peak=_peak_labels(y, thr),
        past_names=[*pw.past_names, *static_names, LOG_LEVEL_NAME],
        future_names=pw.future_names,
        past_groups=[*pw.past_groups, *[STATIC_GROUP] * (len(static_names) + 1)],
        future_groups=pw.future_groups,
        series=series,
        step_days=pw.step_days,
    )


def select_panel_groups(panel: PanelTable, groups: list[str]) -> PanelTable:
    """The panel with only the feature columns of ``groups`` (history is the target's own)."""
    cols = [c for c in panel.columns if c.group in groups]
    drop = [c.name for c in panel.columns if c not in cols]
    drop += [c.mask for c in panel.columns if c not in cols and c.mask]
    return PanelTable(
        frame=panel.frame.drop(drop),
        target=panel.target,
        columns=cols,
        keys=panel.keys,
        static=panel.static,
        target_latency_days=panel.target_latency_days,
        meta=panel.meta,
        step_days=panel.step_days,
    )


class PanelDataModule(WindowDataModule):
    """WindowDataModule of a panel: ``split`` indexes the calendar of origin days (as for one
    series); ``part`` maps it onto the panel's origins."""

    def __init__(self, cfg, panel: PanelTable | None = None, seed: int = 0):
        super().__init__(cfg, None, seed)
        self._panel = panel

    @property
    def panel(self) -> PanelTable:
        if self._panel is None:
            from respicast.harmonize.panel import build_panel_table

            self._panel = build_panel_table(self.cfg)
        return self._panel

    @property
    def table(self):
        return self.panel

    @property
    def keys(self) -> list[str]:
        return list(self.panel.keys)

    def labelled_origins(self, table=None) -> np.ndarray:
        """Every day that is a labelled origin of at least one series (sorted, unique)."""
        L, H = int(self.cfg.lookback), int(self.cfg.horizon)
        frame = self.panel.frame
        per = frame.group_by(self.panel.keys).agg(
            pl.col("date").min().alias("lo"), pl.col("date").max().alias("hi")
        )
        step = self.panel.step_days
        lo = per["lo"].to_numpy().astype("datetime64[D]") + np.timedelta64((L - 1) * step, "D")
        hi = per["hi"].to_numpy().astype("datetime64[D]") - np.timedelta64(H * step, "D")
        if (hi < lo).all():
            raise ValueError(f"data.lookback={L} + data.horizon={H} leaves no origin in any series")
        end = hi.max() + np.timedelta64(1, "D")
        return np.arange(lo.min(), end, np.timedelta64(step, "D"), dtype="datetime64[D]")

    def setup(self, stage: str | None = None, split=None) -> None:
        if self.windows is not None and split is None:
            return
        cfg = self.cfg
        lookback, horizon = int(cfg.lookback), int(cfg.horizon)
        if horizon < 1:
            raise ValueError(f"data.horizon={horizon}: forecast at least 1 day ahead")
        panel = select_panel_groups(self.panel, self.groups)
        days = self.labelled_origins()
        self.split = split or _origin_split(cfg, days, self.embargo)
        self._days = days
        train_end = self.train_end_day
        from omegaconf import OmegaConf

        peak = OmegaConf.to_container(cfg.peak, resolve=True) if cfg.get("peak") else {}
        self.panel_windows = build_panel_windows(
            panel,
            lookback=lookback,
            horizon=horizon,
            peak=peak,
            train_end_day=train_end,
            use_history="history" in self.groups,
            where=f"data {cfg.get('name', '')}",
        )
        self.windows, self.origin_series = panel_windowset(self.panel_windows)
        self.scalers = self.panel_windows.scalers
        self.table_used = panel
        log.info(
            "panel split over %d series: %s", len(self.series_table()), self.split.describe(days)
        )

    @property
    def train_end_day(self):
        step = self.panel.step_days
        last = self._days[self.split.train.stop - 1]
        return last + np.timedelta64(int(self.cfg.horizon) * step, "D")

    def _bounds(self, s: slice) -> tuple[int, int]:
        o, days = self.windows.origins, self._days
        lo = int(np.searchsorted(o, days[s.start], side="left"))
        hi = int(np.searchsorted(o, days[s.stop - 1], side="right"))
        return lo, hi

    def part(self, name: str) -> WindowSet:
        return self.windows.slice(*self._bounds(getattr(self.split, name)))

    def series_table(self) -> pl.DataFrame:
        """One row per series: ``series`` index, key values, static attributes, date range."""
        return self.panel_windows.series_frame()

    def series_keys_of(self, series: np.ndarray) -> pl.DataFrame:
        """The key columns of each entry of a series-index array."""
        keys = self.series_table().select(self.keys)
        return keys[np.asarray(series, dtype=np.int64).tolist()]


def make_datamodule(data_cfg, seed: int = 0) -> WindowDataModule:
    """The data module of a data config: a panel when data.series names keys, else one series."""
    from respicast.harmonize.panel import series_keys

    if series_keys(data_cfg):
        return PanelDataModule(data_cfg, seed=seed)
    return WindowDataModule(data_cfg, seed=seed)
