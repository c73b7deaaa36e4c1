"""evaluate_predictions: calibrate on val, choose thresholds on val, score val and test.

Metric keys are flat ``{split}/{metric}_h{h}`` (architecture §5), with ``_lo``/``_hi`` for the
bootstrap CI, ``_raw`` for the value before calibration, ``_unreliable`` = 1.0 when the split has
fewer than ``min_positives`` peaks at that horizon and ``_undefined`` = 1.0 when a ranking metric
cannot be computed (a single class).

MASE: MAE divided by the MAE of a naive forecast on the observed daily series of the val period
(persistence y(t-h), or seasonal y(t-7); ``mase_naive``), the period just before test. The
training period is not in the predictions frame; a caller that has it passes ``mase_scale``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from omegaconf import DictConfig

from respicast.evaluation import metrics as M
from respicast.evaluation import proper_scores
from respicast.evaluation.bootstrap import bootstrap_cis, iso_week_ids
from respicast.evaluation.calibration import HorizonCalibrators, fit_calibrators
from respicast.evaluation.config import EvaluationConfig, load_config
from respicast.evaluation.quantiles import ensure_dispersion
from respicast.evaluation.thresholds import choose_threshold

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("target_date", "horizon", "observed", "predicted", "peak", "peak_prob")
# metrics that need labels: flagged unreliable when positives are few
LABEL_METRICS = (
    "auroc",
    "auprc",
    "brier",
    "bss",
    "ece",
    "cal_intercept",
    "cal_slope",
    "sensitivity",
    "specificity",
    "ppv",
)
PROB_METRICS = ("auroc", "auprc", "brier", "bss", "ece", "cal_intercept", "cal_slope")
RANKING_METRICS = ("auroc", "auprc")
# metrics given a bootstrap CI (the recalibration fit is too slow to repeat hundreds of times)
CI_METRICS = (
    "auroc",
    "auprc",
    "brier",
    "bss",
    "ece",
    "sensitivity",
    "specificity",
    "ppv",
    "mae",
    "mase",
    "poisson_deviance",
)


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    test: pl.DataFrame
    val: pl.DataFrame
    thresholds: dict[int, float]
    calibrators: HorizonCalibrators
    mase_scale: dict[int, float] = field(default_factory=dict)


@dataclass
class _HorizonRows:
    """One split at one horizon, as numpy arrays; masks select usable rows per metric family."""

    y: np.ndarray
    p: np.ndarray
    p_raw: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    weeks: np.ndarray
    labelled: np.ndarray
    counted: np.ndarray

    @classmethod
    def from_frame(cls, df: pl.DataFrame) -> _HorizonRows:
        def arr(col: str) -> np.ndarray:
            return df[col].cast(pl.Float64).fill_null(np.nan).to_numpy()

        y, p, obs, pred = arr("peak"), arr("peak_prob"), arr("observed"), arr("predicted")
        return cls(
            y=y,
            p=p,
            p_raw=arr("peak_prob_raw"),
            observed=obs,
            predicted=pred,
            weeks=iso_week_ids(df["target_date"]),
            labelled=np.isfinite(y) & np.isfinite(p),
            counted=np.isfinite(obs) & np.isfinite(pred),
        )


def _check_frame(df: pl.DataFrame, name: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"predictions frame {name!r}: missing column(s) {missing} (architecture §5)"
        )
    nan = df.filter(pl.col("peak_prob").is_nan()).height
    if nan:
        raise ValueError(
            f"predictions frame {name!r}: column 'peak_prob' has {nan} NaN value(s); a model "
            "without a probability for a row writes null (no threshold yet), not NaN"
        )
    bad = df.filter(pl.col("peak_prob").is_not_null() & ~pl.col("peak_prob").is_between(0.0, 1.0))
    if bad.height:
        raise ValueError(
            f"predictions frame {name!r}: column 'peak_prob' has {bad.height} value(s) outside [0, 1]"
        )


def _log_dropped(df: pl.DataFrame, name: str) -> None:
    """Rows that cannot enter some metrics are counted and logged, not silently ignored."""
    no_label = df.filter(pl.col("peak").is_null()).height
    no_prob = df.filter(pl.col("peak").is_not_null() & pl.col("peak_prob").is_null()).height
    no_count = df.filter(pl.col("observed").is_null() | pl.col("predicted").is_null()).height
    for n, what in (
        (no_label, "peak label null (threshold undefined): left out of classification metrics"),
        (no_prob, "peak_prob null with a label: left out of classification metrics"),
        (no_count, "observed or predicted null: left out of count metrics"),
    ):
        if n:
            log.warning("%s: %d row(s) with %s", name, n, what)


def series_keys_of(frame: pl.DataFrame) -> list[str]:
    """A panel's key columns: those before ``origin_date`` (models.predict puts them first)."""
    cols = frame.columns
    return cols[: cols.index("origin_date")] if "origin_date" in cols else []


def period_days(frame: pl.DataFrame) -> int:
    """Days between consecutive target dates: 1 for daily data, 7 for weekly."""
    days = np.unique(frame["target_date"].drop_nulls().to_numpy().astype("datetime64[D]"))
    return int(np.min(np.diff(days)).astype(int)) if days.size > 1 else 1


def naive_mae(frame: pl.DataFrame, lag_days: int) -> float:
    """MAE of y(d - lag) as a forecast of y(d) over each fold's (and series') observed series."""
    by = ["fold", *series_keys_of(frame), "target_date"]
    daily = (
        frame.filter(pl.col("observed").is_not_null() & pl.col("observed").is_not_nan())
        .group_by(by)
        .agg(pl.col("observed").first())
    )
    lagged = daily.with_columns(pl.col("target_date") + pl.duration(days=lag_days)).rename(
        {"observed": "naive"}
    )
    joined = daily.join(lagged, on=by, how="inner")
    if joined.height == 0:
        return float("nan")
    return float((joined["observed"] - joined["naive"]).abs().mean())


def _metrics_for(
    rows: _HorizonRows,
    idx: np.ndarray,
    *,
    threshold: float,
    reference_prob: float,
    mase_scale: float,
    cfg: EvaluationConfig,
    with_raw: bool,
    with_recalibration: bool,
) -> dict[str, float]:
    lab = idx[rows.labelled[idx]]
    cnt = idx[rows.counted[idx]]
    y = rows.y[lab]
    out: dict[str, float] = {}

    def prob_metrics(p: np.ndarray, suffix: str) -> None:
        out["auroc" + suffix] = M.auroc(y, p)
        out["auprc" + suffix] = M.auprc(y, p)
        out["brier" + suffix] = M.brier(y, p)
        out["bss" + suffix] = M.brier_skill(y, p, reference_prob)
        out["ece" + suffix] = M.ece_equal_frequency(y, p, cfg.ece_bins)
        if with_recalibration:
            out["cal_intercept" + suffix], out["cal_slope" + suffix] = (
                M.calibration_intercept_slope(y, p)
            )

    prob_metrics(rows.p[lab], "")
    if with_raw:
        prob_metrics(rows.p_raw[lab], "_raw")
    conf = M.confusion_at(y, rows.p[lab], threshold)
    out.update(
        conf if with_recalibration else {k: conf[k] for k in ("sensitivity", "specificity", "ppv")}
    )
    out["mae"] = M.mae(rows.observed[cnt], rows.predicted[cnt])
    out["mase"] = out["mae"] / mase_scale if mase_scale > 0 else float("nan")
    out["poisson_deviance"] = M.poisson_deviance(rows.observed[cnt], rows.predicted[cnt])
    return out


def _ci_metrics(idx: np.ndarray, rows: _HorizonRows, kw: dict) -> dict[str, float]:
    """The metrics given a CI, on one resample."""
    out = _metrics_for(rows, idx, with_recalibration=False, **kw)
    return {k: v for k, v in out.items() if k.removesuffix("_raw") in CI_METRICS}


def _score_split(
    frame: pl.DataFrame,
    split: str,
    horizons: list[int],
    thresholds: dict[int, float],
    reference_prob: dict[int, float],
    mase_scale: dict[int, float],
    cfg: EvaluationConfig,
) -> dict[str, float]:
    with_raw = cfg.calibration != "none"
    result: dict[str, float] = {}
    for h in horizons:
        sub = frame.filter(pl.col("horizon") == h)
        rows = _HorizonRows.from_frame(sub)
        n_pos = int(np.nansum(rows.y[rows.labelled]))
        n_lab = int(rows.labelled.sum())
        kw = dict(
            threshold=thresholds[h],
            reference_prob=reference_prob.get(h, float("nan")),
            mase_scale=mase_scale.get(h, float("nan")),
            cfg=cfg,
            with_raw=with_raw,
        )
        point = _metrics_for(rows, np.arange(sub.height), with_recalibration=True, **kw)
        if h not in reference_prob:
            log.warning("%s h=%d: no reference_prob; Brier skill score is NaN", split, h)
        key = f"{split}/{{}}_h{h}".format
        result.update({key(m): v for m, v in point.items()})
        result[key("n_pos")] = float(n_pos)
        result[key("n")] = float(n_lab)
        result[key("alert_threshold")] = thresholds[h]
        result[key("alert_rate")] = (
            float(np.mean(rows.p[rows.labelled] >= thresholds[h])) if n_lab else float("nan")
        )

        result.update(_flags(rows, n_pos, key, f"{split} h={h}", cfg, with_raw))
        if cfg.bootstrap.n > 0 and sub.height:
            result.update(_bootstrap(rows, kw, key, cfg, h))
        result.update(_proper_scores(sub, cfg, key, f"{split} h={h}", cfg.bootstrap.seed + h))
    return result


def _flags(
    rows: _HorizonRows, n_pos: int, key, where: str, cfg: EvaluationConfig, with_raw: bool
) -> dict[str, float]:
    """The ``_undefined`` (single class) and ``_unreliable`` (few positives) flags of one horizon."""
    out: dict[str, float] = {}
    if not M.has_both_classes(rows.y[rows.labelled]):
        log.warning(
            "%s: %d positives among %d labelled rows; AUROC/AUPRC undefined (NaN)",
            where,
            n_pos,
            int(rows.labelled.sum()),
        )
        for m in RANKING_METRICS:
            out[key(m) + "_undefined"] = 1.0
            if with_raw:
                out[key(m + "_raw") + "_undefined"] = 1.0
    if n_pos < cfg.min_positives:
        for m in LABEL_METRICS:
            out[key(m) + "_unreliable"] = 1.0
            if with_raw and m in PROB_METRICS:
                out[key(m + "_raw") + "_unreliable"] = 1.0
    return out


def _bootstrap(rows: _HorizonRows, kw: dict, key, cfg: EvaluationConfig, h: int) -> dict:
    """The ``_lo``/``_hi`` bootstrap CI bounds (resampling ISO weeks) of the CI metrics at ``h``."""
    cis = bootstrap_cis(
        partial(_ci_metrics, rows=rows, kw=kw),
        rows.weeks,
        cfg.bootstrap.n,
        cfg.bootstrap.seed + h,
        cfg.bootstrap.level,
    )
    out = {}
    for m, (lo, hi) in cis.items():
        out[key(m) + "_lo"], out[key(m) + "_hi"] = lo, hi
    return out


def _proper_scores(sub: pl.DataFrame, cfg: EvaluationConfig, key, where: str, seed: int) -> dict:
    """WIS (+ parts), CRPS, log score and coverage of the count distribution, with CIs."""
    point, cis = proper_scores.horizon_scores(sub, cfg.quantile_levels, cfg.bootstrap, seed, where)
    out = {key(m): v for m, v in point.items()}
    for m, (lo, hi) in cis.items():
        out[key(m) + "_lo"], out[key(m) + "_hi"] = lo, hi
    return out


def _calibrated(
    frame: pl.DataFrame, calibrators: HorizonCalibrators, thresholds: dict[int, float]
) -> pl.DataFrame:
    if "peak_prob_raw" in frame.columns:
        log.warning(
            "predictions already hold 'peak_prob_raw'; it is replaced by the incoming 'peak_prob'"
        )
    parts = []
    for (h,), sub in frame.with_columns(pl.col("peak_prob").alias("peak_prob_raw")).group_by(
        ["horizon"], maintain_order=True
    ):
        h = int(h)
        if h not in calibrators.by_horizon:
            continue
        cal = calibrators.apply(
            sub["peak_prob_raw"].cast(pl.Float64).fill_null(np.nan).to_numpy(), h
        )
        sub = sub.with_columns(
            pl.Series("peak_prob", cal).fill_nan(None),
            pl.lit(thresholds[h], dtype=pl.Float64).alias("alert_threshold"),
        )
        parts.append(
            sub.with_columns(
                (pl.col("peak_prob") >= pl.col("alert_threshold")).cast(pl.Int8).alias("alert")
            )
        )
    return pl.concat(parts) if parts else frame


def _horizons(val: pl.DataFrame, test: pl.DataFrame, conf: EvaluationConfig) -> list[int]:
    """The horizons scored: the configured ones, else every one present; each must be in val."""
    present = sorted(
        set(test["horizon"].unique().to_list()) | set(val["horizon"].unique().to_list())
    )
    horizons = [int(h) for h in (conf.horizons or present)]
    missing_val = [h for h in horizons if h not in set(val["horizon"].to_list())]
    if missing_val:
        raise ValueError(
            f"predictions frame 'val': no row for horizon(s) {missing_val} (needed to calibrate)"
        )
    return horizons


def _fit_decision(
    val: pl.DataFrame, horizons: list[int], conf: EvaluationConfig
) -> tuple[HorizonCalibrators, dict[int, float]]:
    """The calibrators and alert thresholds per horizon, both fitted on val's labelled rows."""
    val_lab = val.filter(pl.col("peak").is_not_null() & pl.col("peak_prob").is_not_null())
    probs, labels = {}, {}
    for h in horizons:
        sub = val_lab.filter(pl.col("horizon") == h)
        probs[h] = sub["peak_prob"].cast(pl.Float64).to_numpy()
        labels[h] = sub["peak"].cast(pl.Float64).to_numpy()
    calibrators = fit_calibrators(probs, labels, conf.calibration)
    d = conf.decision
    thresholds = {
        h: choose_threshold(
            labels[h],
            calibrators.apply(probs[h], h),
            d.rule,
            target_sensitivity=d.target_sensitivity,
            alert_budget=d.alert_budget,
        )
        for h in horizons
    }
    return calibrators, thresholds


def _naive_scales(
    val: pl.DataFrame, horizons: list[int], conf: EvaluationConfig
) -> dict[int, float]:
    """The MASE denominator per horizon: the naive forecast's MAE on val (``mase_naive``)."""
    mase_scale = {}
    step = period_days(val) if val.height else 1
    for h in horizons:
        # persistence: the value h periods back; seasonal: a week back (daily), a year (weekly)
        lag = h * step if conf.mase_naive == "persistence" else (7 if step == 1 else 364)
        mase_scale[h] = naive_mae(val.filter(pl.col("horizon") == h), lag)
        if not np.isfinite(mase_scale[h]) or mase_scale[h] == 0:
            log.warning("h=%d: naive MAE on val is %s; MASE is NaN", h, mase_scale[h])
    return mase_scale


def evaluate_predictions(
    val: pl.DataFrame,
    test: pl.DataFrame,
    cfg: DictConfig | dict | EvaluationConfig | None,
    reference_prob: dict[int, float],
    *,
    mase_scale: dict[int, float] | None = None,
) -> EvaluationResult:
    """Calibrate and threshold on ``val`` per horizon, then score ``val`` and ``test``.

    ``reference_prob[h]``: climatological peak frequency of the training period (Brier skill).
    """
    conf = load_config(cfg)
    for frame, name in ((val, "val"), (test, "test")):
        _check_frame(frame, name)
        _log_dropped(frame, name)
    if "fold" not in val.columns:
        val = val.with_columns(pl.lit(0, dtype=pl.Int32).alias("fold"))
    if "fold" not in test.columns:
        test = test.with_columns(pl.lit(0, dtype=pl.Int32).alias("fold"))

    horizons = _horizons(val, test, conf)
    calibrators, thresholds = _fit_decision(val, horizons, conf)
    if mase_scale is None:
        mase_scale = _naive_scales(val, horizons, conf)

    val, test = ensure_dispersion(val, test)  # the count distribution of the proper scores
    val_cal = _calibrated(val.filter(pl.col("horizon").is_in(horizons)), calibrators, thresholds)
    test_cal = _calibrated(test.filter(pl.col("horizon").is_in(horizons)), calibrators, thresholds)
    metrics: dict[str, Any] = {}
    for frame, split in ((val_cal, "val"), (test_cal, "test")):
        metrics.update(
            _score_split(frame, split, horizons, thresholds, reference_prob, mase_scale, conf)
        )
    return EvaluationResult(
        metrics={k: float(v) for k, v in metrics.items()},
        test=test_cal,
        val=val_cal,
        thresholds=thresholds,
        calibrators=calibrators,
        mase_scale=mase_scale,
    )
