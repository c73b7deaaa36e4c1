"""Rolling-origin backtest: expanding-window folds by year, everything refit per fold.

Per fold, the datamodule rebuilds its windows with scalers and training-period thresholds fitted
on that fold's training part, the model is trained anew, and its calibrator and decision threshold
are fitted on that fold's validation part only. The calibrated out-of-sample predictions of all
folds are then pooled for the headline metrics: one test year holds too few peaks to rank models.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.dataset.datamodule import WindowDataModule
from respicast.dataset.splits import rolling_folds

log = logging.getLogger(__name__)

DECISION_COUNTS = ("tp", "fp", "tn", "fn")


def _fold_cfg(cfg: DictConfig, out_dir: Path, fold: int) -> DictConfig:
    """The run config with checkpoints and trainer files under fold_<k>/."""
    from respicast.run_dir import RunDir

    return RunDir(out_dir).fold(fold).owning_trainer_files(cfg)


def _pooled_decisions(test: pl.DataFrame) -> dict[str, float]:
    """Confusion counts from each fold's own alerts (thresholds chosen on each fold's val), so the
    pooled decision metrics use no threshold fitted on a later fold's data."""
    out = {}
    labelled = test.filter(pl.col("peak").is_not_null() & pl.col("alert").is_not_null())
    for (h,), g in labelled.group_by(["horizon"]):
        y, a = g["peak"].to_numpy(), g["alert"].to_numpy()
        tp, fp = float(((a == 1) & (y == 1)).sum()), float(((a == 1) & (y == 0)).sum())
        tn, fn = float(((a == 0) & (y == 0)).sum()), float(((a == 0) & (y == 1)).sum())
        out.update(
            {f"test/tp_h{h}": tp, f"test/fp_h{h}": fp, f"test/tn_h{h}": tn, f"test/fn_h{h}": fn}
        )
        out[f"test/sensitivity_h{h}"] = tp / (tp + fn) if tp + fn else float("nan")
        out[f"test/specificity_h{h}"] = tn / (tn + fp) if tn + fp else float("nan")
        out[f"test/ppv_h{h}"] = tp / (tp + fp) if tp + fp else float("nan")
    return out


def backtest_folds(origins: np.ndarray, embargo: int, bt) -> list:
    """rolling_folds from the backtest settings; a series too short for them fails naming the
    settings to change."""
    val_days, min_years = int(bt.get("val_days", 365)), int(bt.get("min_train_years", 3))
    # weekly origins: the validation span in days is that many days of weeks
    step = int(np.min(np.diff(origins)).astype(int)) if len(origins) > 1 else 1
    try:
        return rolling_folds(
            origins,
            embargo=embargo,
            first_test_year=bt.get("first_test_year"),
            min_train_years=min_years,
            val_days=-(-val_days // step),
        )
    except ValueError as err:
        span = f"{origins[0]}..{origins[-1]}" if len(origins) else "none"
        raise ValueError(
            f"{err}. Labelled origins {span}: each fold needs training origins, then "
            f"backtest.val_days={val_days} days of validation and an embargo of {embargo}, "
            f"before its test year (first one: backtest.first_test_year="
            f"{bt.get('first_test_year')}, else first year + backtest.min_train_years="
            f"{min_years}); lower backtest.val_days (e.g. backtest.val_days=120) or "
            "backtest.min_train_years, or use a longer series"
        ) from err


def run_backtest(cfg: DictConfig, dm: WindowDataModule, out_dir: Path) -> tuple[object, dict]:
    """Fit and predict every fold; returns the pooled EvaluationResult and per-fold metrics."""
    from respicast.evaluation import evaluate_predictions
    from respicast.models.ensemble_loaded import refuse_in_backtest
    from respicast.training import fit_and_predict

    refuse_in_backtest(cfg)  # an ensemble member loaded from a run cannot be refit per fold
    bt = cfg.get("backtest") or {}
    folds = backtest_folds(dm.labelled_origins(), dm.embargo, bt)
    if bt.get("last_test_year"):
        years = dm.labelled_origins().astype("datetime64[Y]").astype(int) + 1970
        folds = [f for f in folds if years[f.test.start] <= int(bt.last_test_year)]
    per_fold_cfg = OmegaConf.merge(cfg.evaluation, {"bootstrap": {"n": 0}})
    vals, tests, fold_metrics, refs = [], [], {}, []
    for split in folds:
        log.info("fold %d: %s", split.fold, split.describe(dm.labelled_origins()))
        _, preds = fit_and_predict(_fold_cfg(cfg, out_dir, split.fold), dm, split=split)
        ref = dm.reference_prob()
        refs.append(ref)
        res = evaluate_predictions(preds["val"], preds["test"], per_fold_cfg, ref)
        fold_metrics.update(
            {
                k.replace("test/", f"fold{split.fold}/", 1): v
                for k, v in res.metrics.items()
                if k.startswith("test/")
            }
        )
        vals.append(res.val)
        tests.append(res.test)
    val, test = pl.concat(vals, how="diagonal_relaxed"), pl.concat(tests, how="diagonal_relaxed")
    # probabilities are already calibrated per fold; the reference is the folds' mean base rate
    reference = {h: float(np.mean([r[h] for r in refs])) for h in refs[0]}
    pooled = evaluate_predictions(
        val, test, OmegaConf.merge(cfg.evaluation, {"calibration": "none"}), reference
    )
    pooled.metrics.update(_pooled_decisions(test))
    pooled.val, pooled.test = val, test  # keep each fold's own calibration and alerts
    fold_metrics["backtest/n_folds"] = float(len(folds))
    return pooled, fold_metrics
