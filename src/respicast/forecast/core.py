"""make_forecast: trained run + as-of date -> the next H days as a ward reads them.

Steps: load the run (model, calibrators, thresholds, its data config); rebuild the training split
so the fitted state is identical; cut the daily table at the as-of date and take the window ending
there; predict, calibrate, add NB prediction intervals, alert levels and group contributions; and
check the freshness of each source on the as-of date.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.dataset.datamodule import WindowDataModule
from respicast.forecast import alerts, context, drivers, freshness
from respicast.forecast.errors import ForecastError
from respicast.forecast.window import asof_window
from respicast.models.count_dist import quantiles
from respicast.table import DailyTable
from respicast.trained_run import (
    TrainedRun,
    dispersion,
    load_model,
    load_run,
    requested_data_config,
)
from respicast.utils.config import as_dict

log = logging.getLogger(__name__)


@dataclass
class Forecast:
    """Everything the exporters need; counts are raw here (suppression happens on export)."""

    asof: dt.date
    model: str
    run_dir: str
    area: str
    target: str
    days: pl.DataFrame  # one row per target day
    observed: pl.DataFrame  # date, admissions (as known on the as-of date)
    thresholds: dict[int, dict]
    driver_records: list[dict]
    driver_lines: list[dict]  # {horizon, day, group, text}
    driver_summary: dict[str, float]
    coverage: dict[str, dict]
    stale: list[str]
    filled: list[dict]
    fill_rule: str
    history_gaps: list[str]
    intervals: list[float]
    notes: list[str] = field(default_factory=list)
    labels: dict = field(default_factory=dict)  # outcome, hospital, ward, area, source names
    peak_rule: str = ""  # what a peak day is, in words
    decision: list[dict] = field(default_factory=list)  # report.decision.pooled rows
    budgets: dict = field(default_factory=dict)  # the alert budget in use (days a month)
    val_period: str = ""  # the validation days the thresholds were set on
    reasons: list[dict] = field(default_factory=list)  # drivers.summary_lines: the week's drivers


def parse_asof(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as e:
        raise ForecastError(f"asof={value!r}: give a date as YYYY-MM-DD") from e


def _datamodule(
    run: TrainedRun, data_overrides, seed, table: DailyTable | None
) -> WindowDataModule:
    from respicast.dataset.panel_datamodule import PanelDataModule
    from respicast.harmonize.panel import series_keys

    data_cfg = requested_data_config(run.cfg.data, data_overrides)
    seed = int(run.cfg.get("seed", 0) if seed is None else seed)
    if series_keys(data_cfg):  # a panel run: every series' windows, as in training
        dm = PanelDataModule(data_cfg, seed=seed)
    else:
        dm = WindowDataModule(data_cfg, table=table, seed=seed)
    run.setup_data(dm)
    if run.predictions is not None:  # the split must be the training one, or the scalers differ
        for part in ("val", "test"):
            rows = run.predictions.filter(pl.col("split") == part)
            if (
                rows.height
                and np.datetime64(rows["origin_date"].min(), "D") != dm.part(part).origins[0]
            ):
                raise ForecastError(
                    f"the {part} part now starts on {dm.part(part).origins[0]}, in training on "
                    f"{rows['origin_date'].min()}: the split (and the fitted scalers) would differ; "
                    "fix data.split.val_start/test_start to the trained run's dates"
                )
    return dm


def _intervals(
    mean: np.ndarray, k: np.ndarray | None, levels: list[float]
) -> dict[str, np.ndarray]:
    out = {}
    for lv in levels:
        lo_q, hi_q = (1 - lv) / 2, 1 - (1 - lv) / 2
        lo, hi = np.empty_like(mean), np.empty_like(mean)
        for h, m in enumerate(mean):
            kh = None if k is None or not np.isfinite(k[h]) else k[h]
            lo[h], hi[h] = quantiles(m, lo_q, kh), quantiles(m, hi_q, kh)
        pct = round(100 * lv)
        out[f"lower_{pct}"], out[f"upper_{pct}"] = lo, hi
    return out


def _calibrate(run: TrainedRun, probs: np.ndarray) -> np.ndarray:
    cal = run.fitted.get("calibrators")
    if cal is None:
        return probs
    return np.stack([cal.apply(probs[:, h], h + 1) for h in range(probs.shape[1])], axis=1)


@dataclass
class _Predicted:
    """The as-of window's predictions: one row per ablation (row 0: all inputs), NB dispersion."""

    groups: list
    counts: np.ndarray
    probs: np.ndarray  # calibrated
    raw: np.ndarray  # before calibration
    k_disp: np.ndarray | None


def _predict(run: TrainedRun, model, ws, has_history: bool) -> _Predicted:
    """Predict the as-of window and its group-ablated copies; calibrate the peak probabilities."""
    ab = drivers.ablated_windows(ws, has_history)
    prediction = model.predict(ab.windows)
    counts, raw = prediction.counts, prediction.peak_prob
    probs = _calibrate(run, raw)
    return _Predicted(ab.groups, counts, probs, raw, dispersion(prediction, run))


def make_forecast(
    ckpt_path: str,
    asof,
    cfg: DictConfig | dict | None = None,
    *,
    table: DailyTable | None = None,
) -> Forecast:
    """`cfg`: the forecast config (conf/forecast.yaml); `table`: a daily table to use instead of
    building one from the sources (tests, notebooks)."""
    cfg = OmegaConf.create(cfg or {}) if not isinstance(cfg, DictConfig) else cfg
    asof = parse_asof(asof)
    run = load_run(ckpt_path, str(cfg.get("checkpoint", "best")))
    dm = _datamodule(run, cfg.get("data"), cfg.get("seed"), table)
    if getattr(dm, "keys", None):
        raise ForecastError(
            f"{run.run_dir} was trained on a panel (data.series={dm.keys}): use "
            "respicast.forecast.panel.make_panel_forecasts (respicast-forecast does it itself)"
        )
    used = dm.table_used  # the group-selected table (the given one, when given)
    ws = asof_window(dm, asof, used)
    return assemble(run, cfg, dm, used, ws, load_model(run, dm), asof)


def assemble(run: TrainedRun, cfg, dm, used: DailyTable, ws, model, asof: dt.date) -> Forecast:
    """The Forecast of the one-origin window ``ws`` of the table ``used`` (one series)."""
    H, step = dm.dims.horizon, used.step_days
    pred = _predict(run, model, ws, dm.dims.has_history)
    bands = _intervals(pred.counts[0], pred.k_disp, list(cfg.get("intervals", [0.8, 0.95])))
    val = run.predictions.filter(pl.col("split") == "val") if run.predictions is not None else None
    thr = alerts.level_thresholds(as_dict(cfg.get("alert")), run.fitted, val, H)
    target_days = [asof + dt.timedelta(days=h * step) for h in range(1, H + 1)]
    known_by = asof - dt.timedelta(days=used.target_latency_days * step)
    usual = context.usual_level(used.frame, used.target, target_days, known_by)
    labels = [f"{d:%A} {d.day} {d:%b}" for d in target_days]
    dcfg = cfg.get("drivers") or {}
    records, lines = _driver_table(pred, labels, dcfg)
    days = _days(pred, bands, ws.threshold, thr, target_days, labels, usual)
    fcfg = cfg.get("freshness") or {}
    coverage, stale = _coverage(dm, used, asof, fcfg)
    observed = _observed(used, known_by, int(cfg.get("history_days", 56)) * step)
    filled = freshness.filled_in_window(
        used, asof, dm.dims.lookback * step, int(fcfg.get("recent_days", 7))
    )
    gaps = (
        freshness.history_gaps(ws.history[0], asof, used.target_latency_days)
        if dm.dims.has_history and step == 1
        else []
    )
    return Forecast(
        asof=asof,
        days=days,
        observed=observed,
        thresholds=thr,
        driver_records=records,
        driver_lines=lines,
        coverage=coverage,
        stale=stale,
        filled=filled,
        history_gaps=gaps,
        notes=_notes(filled, gaps, dm, asof, ws.threshold),
        **_run_fields(run, cfg, dm, used, records, dcfg, known_by, val),
    )


def _driver_table(pred: _Predicted, labels: list[str], dcfg) -> tuple[list[dict], list[dict]]:
    """Each input group's contribution per target day (records) and its lines for the page."""
    return drivers.driver_table(
        pred.groups,
        pred.probs,
        pred.counts,
        labels,
        min_points=float(dcfg.get("min_points", 1.0)),
        top=int(dcfg.get("top", 3)),
    )


def _days(
    pred: _Predicted,
    bands: dict[str, np.ndarray],
    peak_threshold: np.ndarray,
    thr: dict[int, dict],
    target_days: list[dt.date],
    labels: list[str],
    usual,
) -> pl.DataFrame:
    """One row per target day: expected count, intervals, peak probability, alert level."""
    H = len(target_days)
    mean, p, p_raw, k_disp = pred.counts[0], pred.probs[0], pred.raw[0], pred.k_disp
    return pl.DataFrame(
        {
            "date": target_days,
            "day": labels,
            "horizon": np.arange(1, H + 1, dtype=np.int32),
            "expected": mean,
            **bands,
            "peak_threshold": np.repeat(peak_threshold, H).astype(float),
            "usual": usual,
            "peak_prob": p,
            "peak_prob_raw": p_raw,
            "watch_threshold": [thr[h]["watch"] for h in range(1, H + 1)],
            "alert_threshold": [thr[h]["alert"] for h in range(1, H + 1)],
            "level": [alerts.level_of(float(p[h - 1]), thr[h]) for h in range(1, H + 1)],
            "dispersion": np.full(H, np.inf) if k_disp is None else np.asarray(k_disp, float),
        }
    )


def _coverage(
    dm: WindowDataModule, used: DailyTable, asof: dt.date, fcfg
) -> tuple[dict[str, dict], list[str]]:
    """Each source's coverage on the as-of date (with the page's notes) and the stale ones."""
    coverage = freshness.source_coverage(dm.cfg, used, asof)
    coverage["admissions"] = freshness.target_coverage(used, asof)
    limits = as_dict(fcfg.get("max_staleness_days"))
    stale = freshness.check_staleness(coverage, limits, str(fcfg.get("on_stale", "error")))
    for name, about in as_dict(fcfg.get("notes")).items():  # words for the page
        if name in coverage:
            coverage[name]["about"] = str(about)
    return coverage, stale


def _observed(used: DailyTable, known_by: dt.date, hist_days: int) -> pl.DataFrame:
    """The last ``hist_days`` daily admissions known on the as-of date (date, admissions)."""
    return used.frame.filter(
        pl.col("date").is_between(known_by - dt.timedelta(days=hist_days - 1), known_by)
    ).select("date", pl.col(used.target).cast(pl.Float64).alias("admissions"))


def _notes(
    filled: list[dict],
    gaps: list[str],
    dm: WindowDataModule,
    asof: dt.date,
    peak_threshold: np.ndarray,
) -> list[str]:
    """The caveats printed with the forecast: filled inputs, history gaps, not a backtest, no peak."""
    notes = []
    if filled:
        notes.append(
            f"{sum(f['days'] for f in filled)} input value(s) of the last {dm.dims.lookback} days "
            "were missing as published and were filled (fill rule in that section)"
        )
    if gaps:
        notes.append(
            f"admissions unknown on {len(gaps)} day(s) of the lookback; the model sees them as missing"
        )
    test_start = dm.part("test").origins[0]
    if np.datetime64(asof, "D") < test_start:  # the model or its calibration saw these days
        notes.append(
            f"as-of date before the run's test period ({test_start}): not an honest backtest"
        )
    if not np.isfinite(peak_threshold[0]):
        notes.append(
            "the peak threshold is undefined at this date (too little history): no peak probability"
        )
    return notes


def _run_fields(
    run: TrainedRun,
    cfg,
    dm: WindowDataModule,
    used: DailyTable,
    records: list[dict],
    dcfg,
    known_by: dt.date,
    val: pl.DataFrame | None,
) -> dict:
    """The Forecast fields describing the run, its labels, drivers' summary and decision view."""
    return dict(
        model=run.model_name,
        run_dir=str(run.run_dir),
        area=used.area,
        target=used.target,
        driver_summary=drivers.group_summary(records),
        reasons=drivers.summary_lines(
            drivers.group_summary(records),
            float(dcfg.get("min_points", 1.0)),
            int(dcfg.get("top", 3)),
        ),
        fill_rule=freshness.fill_rule(dm.cfg),
        intervals=list(cfg.get("intervals", [0.8, 0.95])),
        labels=context.labels(as_dict(cfg.get("labels")), dm.cfg, used.area),
        peak_rule=context.peak_rule_text(dm.cfg),
        decision=_decision(run, cfg, known_by),
        budgets=dict(as_dict(cfg.get("alert")).get("budget") or alerts.DEFAULT_BUDGET),
        val_period=_period(val),
    )


def _decision(run: TrainedRun, cfg, known_by: dt.date) -> list[dict]:
    """The decision view (alert budget vs peaks caught) from the run's val/test predictions of
    days whose count was known by the as-of date (the page shows nothing it could not know)."""
    from respicast.report.decision import DEFAULT_BUDGETS, decision_rows, pooled

    if run.predictions is None:
        return []
    budgets = list((cfg.get("decision") or {}).get("budgets") or DEFAULT_BUDGETS)
    known = run.predictions.filter(pl.col("target_date") <= known_by)
    return pooled(decision_rows(known, budgets))


def _period(val: pl.DataFrame | None) -> str:
    if val is None or not val.height:
        return ""
    return f"{val['target_date'].min()} to {val['target_date'].max()}"
