"""Panels: many daily series at once (e.g. zone x outcome x age band), issue 15.

A PanelTable is one long frame: key columns naming each series, ``date``, the target and the
feature columns (as-of, like a DailyTable's). ``build_panel_windows`` lays every series out in one
flat buffer per array (each series' rows followed by H padding rows) and takes strided views of it,
so memory grows with series x days, never with lookback x samples x series. A batch is gathered
only when asked for. The time split is by dates, the same for every series.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from respicast.dataset.build import (
    Scaler,
    _level,
    _peak_labels,
    column_matrix,
    drop_constant_channels,
    fit_scalers,
    peak_in_rows,
)
from respicast.dataset.targets import known_counts, peak_thresholds
from respicast.dataset.windows import WindowSet
from respicast.table import Column

log = logging.getLogger(__name__)

AGGS = ("sum", "mean", "max", "min", "any")


@dataclass
class PanelTable:
    """Long frame of many daily series; ``static`` has one row per series (keys + attributes)."""

    frame: pl.DataFrame  # keys + 'date' (pl.Date) + target + feature columns + mask columns
    target: str
    columns: list[Column]
    keys: list[str]
    static: pl.DataFrame | None = None  # keys + static attributes (population, ...)
    target_latency_days: int = 1
    meta: dict = field(default_factory=dict)
    step_days: int = 1  # days between a series' rows: 1 daily, 7 weekly (dated by Sunday)

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def mask_names(self) -> list[str]:
        return [c.mask for c in self.columns if c.mask]

    def static_frame(self) -> pl.DataFrame:
        """The static table, or just the series' keys when none was given."""
        if self.static is not None:
            return self.static
        return self.frame.select(self.keys).unique(maintain_order=True)


# -- validation ---------------------------------------------------------------------------------
def _series_name(row: dict, keys: list[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def _check_columns(panel: PanelTable, where: str) -> None:
    """Every key, target, feature and mask column exists; keys have no nulls; dates are pl.Date."""
    frame = panel.frame
    if not panel.keys:
        raise ValueError(f"{where}: a panel needs at least one key column")
    missing_keys = [k for k in panel.keys if k not in frame.columns]
    if missing_keys:
        raise ValueError(
            f"{where}: key column(s) {missing_keys} not in the panel frame; it has {frame.columns}"
        )
    wanted = ["date", panel.target, *panel.feature_names, *panel.mask_names]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: panel frame lacks columns {missing}")
    if frame["date"].dtype != pl.Date:
        raise TypeError(f"{where}: panel 'date' must be pl.Date, got {frame['date'].dtype}")
    for k in [*panel.keys, "date"]:
        nulls = frame[k].null_count()
        if nulls:
            raise ValueError(f"{where}: column {k!r} has {nulls} null value(s)")


def _check_static(panel: PanelTable, where: str) -> None:
    """The static table has the keys and exactly one row for each series of the frame."""
    static, keys = panel.static_frame(), panel.keys
    missing = [k for k in keys if k not in static.columns]
    if missing:
        raise ValueError(f"{where}: static table lacks key column(s) {missing}")
    dup = static.group_by(keys).len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValueError(
            f"{where}: static table has {dup['len'][0]} rows for series "
            f"{_series_name(dup.row(0, named=True), keys)}"
        )
    series = panel.frame.select(keys).unique()
    for a, b, what in ((series, static, "no static row"), (static, series, "no rows in the frame")):
        lost = a.select(keys).join(b.select(keys), on=keys, how="anti")
        if lost.height:
            raise ValueError(
                f"{where}: series {_series_name(lost.row(0, named=True), keys)} has {what}"
                f" ({lost.height} series in all)"
            )


def _check_rows(panel: PanelTable, where: str) -> None:
    """Each series has an observed target, no duplicate dates and no gap between its dates."""
    keys, frame = panel.keys, panel.frame
    target = pl.col(panel.target).cast(pl.Float64).fill_nan(None)
    seen = frame.group_by(keys).agg(target.count().alias("n")).filter(pl.col("n") == 0)
    if seen.height:
        raise ValueError(
            f"{where}: series {_series_name(seen.row(0, named=True), keys)} has no observed "
            f"target {panel.target!r} ({seen.height} series in all)"
        )
    dup = frame.group_by([*keys, "date"]).len().filter(pl.col("len") > 1).sort([*keys, "date"])
    if dup.height:
        row = dup.row(0, named=True)
        raise ValueError(
            f"{where}: series {_series_name(row, keys)} has {row['len']} rows on {row['date']}"
            f" ({dup.height} duplicated (series, date) pairs in all)"
        )
    steps = frame.sort([*keys, "date"]).with_columns(
        step=pl.col("date").diff().over(keys).dt.total_days()
    )
    step = panel.step_days
    odd = steps.filter(pl.col("step") % step != 0)
    if odd.height:
        row = odd.row(0, named=True)
        raise ValueError(
            f"{where}: series {_series_name(row, keys)} has rows {row['step']} day(s) apart on "
            f"{row['date']}: not a multiple of the panel's {step}-day step (mixed resolutions?)"
        )
    gaps = steps.filter(pl.col("step") > step)
    if gaps.height:
        row = gaps.row(0, named=True)
        same = pl.all_horizontal([pl.col(k) == row[k] for k in keys])
        n_missing = int((gaps.filter(same)["step"] // step - 1).sum())
        first = row["date"] - dt.timedelta(days=row["step"] - step)
        unit = "day" if step == 1 else "period"
        raise ValueError(
            f"{where}: series {_series_name(row, keys)} has a gap in its dates: first missing "
            f"{unit} {first}, {n_missing} missing {unit}(s) in all ({gaps.height} gaps in the panel)"
        )


def validate_panel(panel: PanelTable, where: str) -> None:
    """Raise a ValueError naming the series and ``where`` for a panel the windows cannot use.

    Series may cover different date ranges (a zone that opened later); the split is by dates, so
    it is the same for all of them.
    """
    _check_columns(panel, where)
    _check_static(panel, where)
    _check_rows(panel, where)


# -- totals -------------------------------------------------------------------------------------
def _agg(name: str, how: str) -> pl.Expr:
    if how not in AGGS:
        raise ValueError(f"with_total: column {name!r}: aggregation {how!r}; choose one of {AGGS}")
    col = pl.col(name)
    if how == "any":
        return col.any()
    return getattr(col.cast(pl.Float64).fill_nan(None), how)()


def _check_total_keys(panel: PanelTable, over: list[str], label: str) -> list[str]:
    """The remaining keys; raise unless every ``over`` key is a string key without ``label``."""
    unknown = [k for k in over if k not in panel.keys]
    if not over or unknown:
        raise ValueError(f"with_total: over={over} must name key columns of {panel.keys}")
    for k in over:
        if panel.frame[k].dtype != pl.String:
            raise ValueError(f"with_total: key {k!r} is {panel.frame[k].dtype}, not a string")
        if (panel.frame[k] == label).any():
            raise ValueError(f"with_total: key {k!r} already has a series labelled {label!r}")
    return [k for k in panel.keys if k not in over]


def _total_frame(
    panel: PanelTable, over: list[str], rest: list[str], labels: dict, aggs: dict
) -> pl.DataFrame:
    """Per (rest keys, date): the target sum, null where a part is missing; features aggregated."""
    f = panel.frame.with_columns(pl.col(panel.target).cast(pl.Float64).fill_nan(None))
    by = [*rest, "date"]
    summed = f.group_by(by).agg(
        pl.col(panel.target).sum(),
        pl.col(panel.target).count().alias("_seen"),
        *[_agg(c, aggs.get(c, "mean")) for c in panel.feature_names],
        *[_agg(m, aggs.get(m, "any")) for m in panel.mask_names],
    )
    # a part counts for its group on every day, also days outside its own date range
    parts = pl.struct(over).n_unique().alias("_parts")
    if rest:
        summed = summed.join(f.group_by(rest).agg(parts), on=rest)
    else:
        summed = summed.with_columns(_parts=pl.lit(f.select(parts).item()))
    return summed.with_columns(
        pl.when(pl.col("_seen") < pl.col("_parts"))
        .then(None)
        .otherwise(pl.col(panel.target))
        .alias(panel.target),
        *[pl.lit(v).alias(k) for k, v in labels.items()],
    ).sort(by)


def _total_static(panel: PanelTable, rest: list[str], labels: dict, aggs: dict) -> pl.DataFrame:
    """Static rows of the totals: numeric attributes summed (population), others kept if shared."""
    static = panel.static_frame()
    exprs = []
    for c in static.columns:
        if c in panel.keys:
            continue
        if static[c].dtype.is_numeric():
            exprs.append(_agg(c, aggs.get(c, "sum")))
        else:
            exprs.append(pl.when(pl.col(c).n_unique() == 1).then(pl.col(c).first()).alias(c))
    if rest:
        out = static.group_by(rest, maintain_order=True).agg(exprs)
    else:
        out = static.select(exprs) if exprs else pl.DataFrame({"_": [0]})
    return out.with_columns(*[pl.lit(v).alias(k) for k, v in labels.items()])


def with_total(
    panel: PanelTable,
    over: list[str],
    label: str = "all",
    agg: dict[str, str] | None = None,
) -> PanelTable:
    """The panel plus sum series over the ``over`` keys (e.g. the city total over zones).

    The sum of a day is missing (null) when any part is missing that day; the count of such days is
    logged. Features of a total are the mean of its parts (fill masks: any part filled), static
    numeric attributes the sum; ``agg`` maps a column name to one of AGGS to choose otherwise.
    """
    validate_panel(panel, "with_total")
    rest = _check_total_keys(panel, over, label)
    labels = dict.fromkeys(over, label)
    aggs = agg or {}
    total = _total_frame(panel, over, rest, labels, aggs)
    n_missing = int(total[panel.target].null_count())
    log.info(
        "with_total over %s: %d of %d total day(s) missing (a part missing that day)",
        over,
        n_missing,
        total.height,
    )
    # a count sum keeps the target's dtype; a mean of integer features widens them to floats
    total = total.with_columns(pl.col(panel.target).cast(panel.frame.schema[panel.target]))
    frame = pl.concat([panel.frame, total.select(panel.frame.columns)], how="vertical_relaxed")
    static, totals = panel.static_frame(), panel.meta.get("totals", [])
    extra = _total_static(panel, rest, labels, aggs).select(static.columns)
    return PanelTable(
        frame=frame,
        target=panel.target,
        columns=panel.columns,
        keys=panel.keys,
        static=pl.concat([static, extra], how="vertical_relaxed"),
        target_latency_days=panel.target_latency_days,
        meta={
            **panel.meta,
            "totals": [*totals, {"over": over, "label": label, "missing": n_missing}],
        },
        step_days=panel.step_days,
    )


# -- windows ------------------------------------------------------------------------------------
def _day(value) -> np.datetime64:
    """A date given as 'YYYY-MM-DD', datetime.date or numpy datetime64, as datetime64[D]."""
    return np.datetime64(value, "D")


def panel_train_end(
    val_start, *, lookback: int, horizon: int, embargo: int | None = None, step_days: int = 1
):
    """Last day the training targets reach for a split starting validation at ``val_start``:
    the last training origin is ``embargo`` periods before it (as in holdout_split), plus H."""
    embargo = lookback + horizon if embargo is None else embargo
    return _day(val_start) - np.timedelta64((embargo + 1 - horizon) * step_days, "D")


@dataclass(frozen=True)
class _Layout:
    """Where each series sits: rows of the sorted frame and rows of the padded flat buffers."""

    series: pl.DataFrame  # keys, one row per series, in index order
    starts: np.ndarray  # [S] first row of each series in the sorted frame
    lengths: np.ndarray  # [S] days of each series
    offsets: np.ndarray  # [S] first flat row of each series (each is followed by H pad rows)
    dest: np.ndarray  # [rows] flat row of each frame row
    first_day: np.ndarray  # [S] datetime64[D]
    n_flat: int

    def scatter(self, values: np.ndarray, fill: float, dtype=np.float64) -> np.ndarray:
        """Frame rows -> flat buffer, the pad rows holding ``fill``."""
        out = np.full((self.n_flat, *values.shape[1:]), fill, dtype=dtype)
        out[self.dest] = values
        return out

    def rows(self, s: int) -> slice:
        return slice(int(self.starts[s]), int(self.starts[s] + self.lengths[s]))


def _layout(frame: pl.DataFrame, keys: list[str], horizon: int) -> _Layout:
    """The layout of a frame sorted by keys then date."""
    sid = frame.select(pl.struct(keys).rle_id()).to_series().to_numpy().astype(np.int64)
    lengths = np.bincount(sid)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    offsets = starts + horizon * np.arange(len(lengths))
    dates = frame["date"].to_numpy().astype("datetime64[D]")
    return _Layout(
        series=frame.select(keys)[starts.tolist()],
        starts=starts,
        lengths=lengths,
        offsets=offsets,
        dest=np.arange(frame.height) + horizon * sid,
        first_day=dates[starts],
        n_flat=frame.height + horizon * len(lengths),
    )


def _pooled_past_channels(
    frame: pl.DataFrame, columns: list[Column], train: np.ndarray
) -> tuple[list[str], list[str], np.ndarray, set[str]]:
    """Past channel names, groups, raw matrix and fill-mask names, less those constant over the
    training rows of all series pooled (they teach nothing and may move later, as in build.py)."""
    past_cols = [c for c in columns if not c.known_future]
    names = [c.name for c in past_cols] + [c.mask for c in past_cols if c.mask]
    groups = [c.group for c in past_cols] + [c.group for c in past_cols if c.mask]
    raw = column_matrix(frame, names)
    names, groups, raw = drop_constant_channels(
        names, groups, raw, raw[train], "the pooled training rows"
    )
    return names, groups, raw, {c.mask for c in past_cols if c.mask}


def _per_series_targets(
    layout: _Layout,
    counts: np.ndarray,
    panel: PanelTable,
    *,
    lookback: int,
    peak: dict,
    train_end: np.datetime64,
    where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat known counts, peak thresholds and levels, each from its own series' past only."""
    known = np.full(layout.n_flat, np.nan)
    thr, level = known.copy(), known.copy()
    latency, window = panel.target_latency_days, int(peak.get("window_days", 365))
    dates = layout.first_day
    for s in range(len(layout.lengths)):
        rows, n = layout.rows(s), int(layout.lengths[s])
        c = counts[rows]
        days = dates[s] + (np.arange(n) * panel.step_days).astype("timedelta64[D]")
        k = int(np.searchsorted(days, train_end, side="right"))
        if peak.get("method") in ("train_quantile", "seasonal_sd") and np.isnan(c[:k]).all():
            name = _series_name(layout.series.row(s, named=True), panel.keys)
            raise ValueError(
                f"{where}: series {name} has no observed target on or before "
                f"{train_end}, so its {peak['method']} peak threshold is undefined"
            )
        o = int(layout.offsets[s])
        kn = known_counts(c, latency)
        known[o : o + n] = kn
        thr[o : o + n] = peak_thresholds(c, days, latency=latency, train_end=k, **peak)
        level[o : o + n] = _level(kn, window, lookback)
    return known, thr, level


def _check_lengths(
    layout: _Layout, keys: list[str], lookback: int, horizon: int, where: str
) -> None:
    if lookback < 1 or horizon < 1:
        raise ValueError(f"data.lookback={lookback} and data.horizon={horizon} must both be ≥ 1")
    short = np.flatnonzero(layout.lengths < lookback + horizon)
    if len(short):
        s = int(short[0])
        raise ValueError(
            f"{where}: series {_series_name(layout.series.row(s, named=True), keys)} "
            f"has {layout.lengths[s]} days, fewer than data.lookback={lookback} + "
            f"data.horizon={horizon} ({len(short)} such series)"
        )


def _static_matrix(panel: PanelTable, layout: _Layout) -> tuple[pl.DataFrame, list[str], Scaler]:
    """Static rows in index order, the names of the numeric attributes and their Scaler (fitted
    over the series: static attributes do not change with time, so no day can leak)."""
    static = layout.series.join(
        panel.static_frame(), on=panel.keys, how="left", maintain_order="left"
    )
    names = [c for c in static.columns if c not in panel.keys and static[c].dtype.is_numeric()]
    return static, names, Scaler.fit(column_matrix(static, names))


@dataclass
class PanelWindows:
    """Every origin of every series, as strided views over flat per-panel buffers.

    ``index[i] = (series, origin row within the series)``; an origin t has a full lookback
    (t ≥ L-1). Origins whose H target days run past their series' end are kept (forecasting needs
    them) but ``labelled`` is False there and splits leave them out.
    """

    lookback: int
    horizon: int
    series: pl.DataFrame  # one row per series: keys, static attributes, series, first/last day
    index: np.ndarray  # [N, 2] int64
    origins: np.ndarray  # [N] datetime64[D]
    labelled: np.ndarray  # [N] bool
    offsets: np.ndarray  # [S] first flat row of each series
    lengths: np.ndarray  # [S]
    first_day: np.ndarray  # [S] datetime64[D]
    history_flat: np.ndarray  # [R] known counts (lagged by the latency); nan = unknown
    counts_flat: np.ndarray  # [R] observed counts
    past_flat: np.ndarray  # [R, Fp] scaled past covariates
    future_flat: np.ndarray  # [R, Ff] scaled known-future covariates
    threshold_flat: np.ndarray  # [R] peak threshold of each day, from its series' past only
    level_flat: np.ndarray  # [R] level of each day's history (past only)
    static: np.ndarray  # [S, Fs] numeric static attributes scaled over the series
    static_names: list[str]
    past_names: list[str]
    future_names: list[str]
    past_groups: list[str]
    future_groups: list[str]
    scalers: dict
    train_end_day: np.datetime64
    keys: list[str] = field(default_factory=list)
    step_days: int = 1

    def __post_init__(self) -> None:
        L, H = self.lookback, self.horizon
        self._rows = self.offsets[self.index[:, 0]] + self.index[:, 1]  # flat row of each origin
        # one view per array over all series: rows that straddle two series are never indexed
        self.history_v = sliding_window_view(self.history_flat, L)
        self.past_v = sliding_window_view(self.past_flat, L, axis=0).transpose(0, 2, 1)
        self.future_v = sliding_window_view(self.future_flat, H, axis=0).transpose(0, 2, 1)
        self.y_count_v = sliding_window_view(self.counts_flat, H)

    def __len__(self) -> int:
        return len(self.index)

    def storage_nbytes(self) -> int:
        """Bytes held by the buffers the views stand on (independent of the lookback)."""
        arrays = [self.history_flat, self.counts_flat, self.past_flat, self.future_flat]
        arrays += [self.threshold_flat, self.level_flat, self.index, self.origins, self._rows]
        return int(sum(a.nbytes for a in arrays))

    def batch(self, idx) -> dict[str, np.ndarray]:
        """The samples at positions ``idx`` of the index, materialised (only these B)."""
        idx = np.asarray(idx, dtype=np.int64)
        g = self._rows[idx]
        start = g - (self.lookback - 1)
        thr = self.threshold_flat[g]
        y = self.y_count_v[g + 1]
        series = self.index[idx, 0]
        return {
            "history": self.history_v[start],
            "past": self.past_v[start],
            "future": self.future_v[g + 1],
            "y_count": y,
            "y_peak": _peak_labels(y, thr),
            "threshold": thr,
            "level": self.level_flat[g],
            "static": self.static[series],
            "series": series,
            "origin": self.origins[idx],
        }

    def series_windows(self, s: int) -> WindowSet:
        """Series ``s`` as a WindowSet of views, laid out as build_windows lays out one table."""
        o, n, L, H = int(self.offsets[s]), int(self.lengths[s]), self.lookback, self.horizon
        n_o = n - L + 1
        y = sliding_window_view(self.counts_flat[o + L : o + n + H], H)[:n_o]
        thr = self.threshold_flat[o + L - 1 : o + n]
        future = sliding_window_view(self.future_flat[o + L : o + n + H], H, axis=0)
        return WindowSet(
            origins=self.first_day[s]
            + (np.arange(L - 1, n) * self.step_days).astype("timedelta64[D]"),
            history=sliding_window_view(self.history_flat[o : o + n], L)[:n_o],
            past=sliding_window_view(self.past_flat[o : o + n], L, axis=0).transpose(0, 2, 1),
            future=future[:n_o].transpose(0, 2, 1),
            level=self.level_flat[o + L - 1 : o + n],
            threshold=thr,
            y_count=y,
            y_peak=_peak_labels(y, thr),
            past_names=self.past_names,
            future_names=self.future_names,
            past_groups=self.past_groups,
            future_groups=self.future_groups,
            step_days=self.step_days,
        )

    def series_frame(self) -> pl.DataFrame:
        """One row per series: its index, key values, static attributes and date range."""
        return self.series

    def split_by_dates(self, val_start, test_start, embargo: int | None = None) -> dict:
        """Positions into the index of the train/val/test origins, cut at the same dates for every
        series: train origins end ``embargo`` days before ``val_start`` (as holdout_split) and
        their targets by ``train_end_day``; val ends ``embargo`` days before ``test_start``."""
        L, H = self.lookback, self.horizon
        embargo = L + H if embargo is None else int(embargo)
        if embargo < L + H:
            raise ValueError(f"data.split.embargo={embargo} must be ≥ lookback + horizon = {L + H}")
        val0, test0 = _day(val_start), _day(test_start)
        if not val0 < test0:
            raise ValueError(f"split: val_start {val0} must come before test_start {test0}")
        if self.train_end_day >= val0:
            raise ValueError(
                f"split: scalers were fitted on days up to {self.train_end_day}, on or after "
                f"val_start {val0}: rebuild with an earlier train_end_day (panel_train_end)"
            )
        o, gap = self.origins, np.timedelta64(embargo * self.step_days, "D")
        last_target = o + np.timedelta64(H * self.step_days, "D")
        masks = {
            "train": (o < val0 - gap) & (last_target <= self.train_end_day),
            "val": (o >= val0) & (o < test0 - gap),
            "test": o >= test0,
        }
        parts = {name: np.flatnonzero(m & self.labelled) for name, m in masks.items()}
        for name, p in parts.items():
            if not len(p):
                raise ValueError(
                    f"split: the {name} part is empty ({len(self)} origins over "
                    f"{len(self.lengths)} series); use other split dates or a shorter lookback"
                )
        return parts


def build_panel_windows(
    panel: PanelTable,
    *,
    lookback: int,
    horizon: int,
    peak: dict,
    train_end_day,
    use_history: bool = True,
    where: str = "build_panel_windows",
) -> PanelWindows:
    """Windows at every origin of every series (t = L-1 … T_s-1 of each series s).

    ``train_end_day`` (a date, inclusive, the same for every series) bounds the rows the scalers
    (pooled over all series) and training-fitted thresholds see; see ``panel_train_end``.
    """
    validate_panel(panel, where)
    peak = peak_in_rows(peak, panel.step_days)
    frame = panel.frame.sort([*panel.keys, "date"])
    layout = _layout(frame, panel.keys, horizon)
    _check_lengths(layout, panel.keys, lookback, horizon, where)
    train_end = _day(train_end_day)
    train = frame["date"].to_numpy().astype("datetime64[D]") <= train_end
    counts = frame[panel.target].cast(pl.Float64).to_numpy()

    past_names, past_groups, past_raw, masks = _pooled_past_channels(frame, panel.columns, train)
    fut_cols = [c for c in panel.columns if c.known_future]
    fut_raw = column_matrix(frame, [c.name for c in fut_cols])
    scalers = fit_scalers(past_raw, fut_raw, past_names, masks, train)
    known, thr, level = _per_series_targets(
        layout, counts, panel, lookback=lookback, peak=peak, train_end=train_end, where=where
    )
    static, static_names, scalers["static"] = _static_matrix(panel, layout)
    index, origins, labelled = _origin_index(layout, lookback, horizon, panel.step_days)
    return PanelWindows(
        lookback=lookback,
        horizon=horizon,
        series=_series_table(static, layout, panel.step_days),
        index=index,
        origins=origins,
        labelled=labelled,
        offsets=layout.offsets,
        lengths=layout.lengths,
        first_day=layout.first_day,
        history_flat=known if use_history else np.full(layout.n_flat, np.nan),
        counts_flat=layout.scatter(counts, np.nan),
        past_flat=layout.scatter(scalers["past"].transform(past_raw), 0.0, np.float32),
        future_flat=layout.scatter(scalers["future"].transform(fut_raw), 0.0, np.float32),
        threshold_flat=thr,
        level_flat=level,
        static=scalers["static"].transform(column_matrix(static, static_names)),
        static_names=static_names,
        past_names=past_names,
        future_names=[c.name for c in fut_cols],
        past_groups=past_groups,
        future_groups=[c.group for c in fut_cols],
        scalers=scalers,
        train_end_day=train_end,
        keys=list(panel.keys),
        step_days=panel.step_days,
    )


def _origin_index(
    layout: _Layout, lookback: int, horizon: int, step: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series, origin row) of every origin, its date and whether all H targets are in range."""
    per = layout.lengths - lookback + 1
    series = np.repeat(np.arange(len(per)), per)
    first = np.repeat(np.cumsum(per) - per, per)
    t = np.arange(int(per.sum())) - first + lookback - 1
    origins = layout.first_day[series] + (t * step).astype("timedelta64[D]")
    labelled = t <= layout.lengths[series] - 1 - horizon
    return np.stack([series, t], axis=1).astype(np.int64), origins, labelled


def _series_table(static: pl.DataFrame, layout: _Layout, step: int = 1) -> pl.DataFrame:
    last = layout.first_day + ((layout.lengths - 1) * step).astype("timedelta64[D]")
    return static.with_columns(
        series=pl.Series(np.arange(len(layout.lengths))),
        first_day=pl.Series(layout.first_day),
        last_day=pl.Series(last),
        n_days=pl.Series(layout.lengths),
    )
