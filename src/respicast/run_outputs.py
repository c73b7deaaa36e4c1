"""Turn a run's val/test predictions into everything it leaves behind: calibrated metrics with
CIs, the oracle ceiling on simulated data, pictures, report, tracking, and the printed table."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import DictConfig

from respicast.dataset.datamodule import WindowDataModule
from respicast.run_dir import RunDir
from respicast.utils.run_files import print_metrics_table

log = logging.getLogger(__name__)


def truth_selection(cfg: DictConfig) -> dict:
    """The truth cells the target sums: outcomes, zone (zone-level data) and age bands."""
    target = cfg.data.get("target") or {}
    spatial = cfg.data.get("spatial") or {}
    zone = spatial.get("zone") if spatial.get("level") == "zone" else None
    bands = target.get("age_bands")
    return {
        "outcomes": tuple(target.get("outcomes") or ("copd", "asthma")),
        "zones": [str(zone)] if zone is not None else None,
        "age_bands": [str(b) for b in bands] if bands else None,
    }


def _score_truth_rows(dm, test, cfg, name: str, predicted, prob) -> dict[str, float]:
    """Scores of a truth-derived forecast on the model's test rows, under the prefix `name`."""
    from respicast.evaluation import evaluate_predictions

    # the truth replaces the model's outputs (and anything derived from them)
    rows = test.drop(
        "peak_prob_raw", "alert", "alert_threshold", "dispersion", strict=False
    ).with_columns(
        predicted=pl.Series(predicted, dtype=pl.Float64),
        peak_prob=pl.Series(prob, dtype=pl.Float64),
        model=pl.lit(name),
    )
    # no calibration and no bootstrap for a ceiling: it is fitted on nothing
    ev = evaluate_predictions(
        rows.with_columns(split=pl.lit("val")),
        rows,
        {**dict(cfg.evaluation), "calibration": "none", "bootstrap": {"n": 0}},
        dm.reference_prob(),
    )
    return {
        k.replace("test/", f"{name}/", 1): v for k, v in ev.metrics.items() if k.startswith("test/")
    }


def oracle_metrics(dm: WindowDataModule, test: pl.DataFrame, cfg: DictConfig) -> dict[str, float]:
    """Scores of the true peak probability (simulator truth) on the same test rows."""
    world_dir = dm.table.meta.get("world_dir")
    if not world_dir:
        return {}
    from respicast.world.oracle import expected_counts, peak_probability

    dates = test["target_date"].to_numpy().astype("datetime64[D]")
    thr = test["threshold"].to_numpy()
    predicted, prob = np.full(test.height, np.nan), np.full(test.height, np.nan)
    for sel, rows in _selections(dm, test, cfg, world_dir):
        predicted[rows] = expected_counts(world_dir, dates[rows], **sel)
        prob[rows] = peak_probability(world_dir, dates[rows], thr[rows], **sel)
    return _score_truth_rows(dm, test, cfg, "oracle", predicted, prob)


def _selections(dm, test: pl.DataFrame, cfg: DictConfig, world_dir: str):
    """(truth selection, test rows) of the run's one series, or of each series of a panel (its
    zone, outcome and age band in the world's labels)."""
    base = truth_selection(cfg)
    keys = getattr(dm, "keys", None)
    if not keys:
        yield base, np.arange(test.height)
        return
    from respicast.harmonize.panel import truth_band

    bands = pl.scan_parquet(Path(world_dir) / "truth.parquet").select("age_band").unique()
    bands = bands.collect()["age_band"].to_list()
    idx = test.with_row_index("_row").group_by(keys, maintain_order=True).agg(pl.col("_row"))
    for row in idx.iter_rows(named=True):
        sel, mine = dict(base), {k: str(row[k]) for k in keys if str(row[k]) != "all"}
        if "zone" in mine:  # a total ("all") keeps the run's selection for its summed keys
            sel["zones"] = [mine["zone"]]
        if "outcome" in mine:
            sel["outcomes"] = (mine["outcome"],)
        if "age_band" in mine:
            sel["age_bands"] = [truth_band(mine["age_band"], bands)]
        yield sel, np.asarray(row["_row"], dtype=np.int64)


def ceiling_metrics(dm: WindowDataModule, test: pl.DataFrame, cfg: DictConfig) -> dict[str, float]:
    """The achievable ceiling (planted model, information known at each origin) on the same test
    rows: every metric as ``ceiling/...``, and the AUROC without each variable group's drivers as
    ``ceiling_no_<group>/auroc_h<h>`` (respicast.world.ceiling)."""
    world_dir = dm.table.meta.get("world_dir")
    if not world_dir:
        return {}
    from respicast.world.ceiling import CEILING_GROUPS, World, ceiling_forecast

    latency = int(dm.table.target_latency_days)
    origins = test["origin_date"].to_numpy().astype("datetime64[D]")
    horizons, thr = test["horizon"].to_numpy(), test["threshold"].to_numpy()
    if getattr(dm, "keys", None):  # a panel: the full ceiling of each series
        mean, prob = np.full(test.height, np.nan), np.full(test.height, np.nan)
        for sel, rows in _selections(dm, test, cfg, world_dir):
            mean[rows], prob[rows] = ceiling_forecast(
                world_dir,
                origins[rows],
                horizons[rows],
                thr[rows],
                target_latency_days=latency,
                world=World(world_dir, **sel),
            )
        return _score_truth_rows(dm, test, cfg, "ceiling", mean, prob)
    world = World(world_dir, **truth_selection(cfg))
    args = (world_dir, origins, horizons, thr)
    out = _score_truth_rows(
        dm, test, cfg, "ceiling", *ceiling_forecast(*args, target_latency_days=latency, world=world)
    )
    for group in CEILING_GROUPS:
        _, prob = ceiling_forecast(
            *args, target_latency_days=latency, drop_groups=[group], world=world
        )
        out.update(_auroc_by_horizon(test, prob, f"ceiling_no_{group}"))
    return out


def _auroc_by_horizon(test: pl.DataFrame, prob: np.ndarray, name: str) -> dict[str, float]:
    """``{name}/auroc_h<h>`` of ``prob`` on the labelled test rows: the only score a per-group
    ceiling reports, so the full evaluation (proper scores, both splits) is not run for it."""
    from respicast.evaluation.metrics import auroc

    peak = test["peak"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    horizon = test["horizon"].to_numpy()
    out = {}
    for h in np.unique(horizon):
        rows = (horizon == h) & np.isfinite(peak)
        out[f"{name}/auroc_h{int(h)}"] = auroc(peak[rows].astype(int), np.asarray(prob)[rows])
    return out


def data_summary(dm: WindowDataModule) -> dict:
    t = dm.table_used
    frame = t.frame
    panel = {}
    if getattr(dm, "keys", None):
        panel = {"series_keys": dm.keys, "n_series": dm.series_table().height}
    return {
        "name": t.meta.get("name", ""),
        "period": f"{frame['date'].min()} … {frame['date'].max()}",
        "days": frame["date"].n_unique(),
        **panel,
        "target": t.target,
        "groups": dm.groups,
        "sources": t.meta.get("sources", {}),
        "missingness": t.meta.get("missing_fraction", {}),
        "filled": t.meta.get("fill_counts", {}),
        "split": dm.split.describe(dm.labelled_origins()),
        "lookback": dm.dims.lookback,
        "horizon": dm.dims.horizon,
    }


def evaluate_run(
    cfg: DictConfig,
    dm: WindowDataModule,
    preds: dict[str, pl.DataFrame],
    out_dir: Path,
    *,
    loggers: list | None = None,
    model=None,
) -> dict[str, float]:
    """One split: calibrate on val, score test, then write everything."""
    from respicast.evaluation import evaluate_predictions

    result = evaluate_predictions(preds["val"], preds["test"], cfg.evaluation, dm.reference_prob())
    return write_outputs(cfg, dm, result, out_dir, loggers=loggers, model=model)


def write_outputs(
    cfg: DictConfig,
    dm: WindowDataModule,
    result,
    out_dir: Path,
    *,
    loggers: list | None = None,
    model=None,
    extra_metrics: dict | None = None,
    model_name: str | None = None,
) -> dict[str, float]:
    from respicast.evaluation.config import load_config
    from respicast.evaluation.plots import log_to_wandb, save_run_plots
    from respicast.report import write_run_report

    own = model.name if model is not None else None
    name = model_name or own or str(cfg.model.get("name", "model"))
    metrics = dict(result.metrics)
    metrics.update(extra_metrics or {})
    metrics.update(oracle_metrics(dm, result.test, cfg))
    metrics.update(ceiling_metrics(dm, result.test, cfg))
    if getattr(dm, "keys", None):
        from respicast.evaluation.coherence import coherence_metrics
        from respicast.evaluation.per_series import per_series_metrics

        levels = load_config(cfg.evaluation).quantile_levels  # the pooled scores' levels
        metrics.update(per_series_metrics(result.test, dm.keys, levels))
        metrics.update(coherence_metrics(result.test, dm.keys))
    predictions = pl.concat([result.val, result.test], how="diagonal_relaxed")
    run_dir = RunDir(out_dir)
    write_run_files(run_dir, cfg, metrics, predictions)
    write_quantiles(run_dir, predictions, load_config(cfg.evaluation).quantile_levels)
    plots = save_run_plots(result.test, run_dir.plots, result.thresholds)
    oracle = {k.split("/", 1)[1]: v for k, v in metrics.items() if k.startswith("oracle/")} or None
    ceiling = {k: v for k, v in metrics.items() if k.startswith("ceiling")} or None
    write_run_report(
        out_dir,
        metrics=metrics,
        test=result.test,
        plots=plots,
        data_summary=data_summary(dm),
        model_name=name,
        oracle=oracle,
        ceiling=ceiling,
    )
    from lightning.pytorch.loggers import WandbLogger

    for lg in loggers or []:
        lg.log_metrics({k: v for k, v in metrics.items() if v is not None and np.isfinite(v)})
        if isinstance(lg, WandbLogger):
            log_to_wandb(lg.experiment, plots, result.test)
    save_fitted(run_dir, result, model)
    print_metrics_table(metrics, "test", title=f"{name} on {cfg.data.name}: test metrics")
    return metrics


def write_run_files(
    run_dir: RunDir, cfg: DictConfig, metrics: dict, predictions: pl.DataFrame
) -> None:
    """metrics.json, predictions.parquet and config_resolved.yaml."""
    run_dir.write_metrics(metrics)
    run_dir.write_predictions(predictions)
    run_dir.write_config(cfg)
    names = ", ".join(p.name for p in (run_dir.metrics_file, run_dir.predictions_file))
    log.info("wrote %s and %s to %s", names, run_dir.config_file.name, run_dir.path)


def write_quantiles(run_dir: RunDir, predictions: pl.DataFrame, levels) -> Path | None:
    """The count quantiles beside the predictions (None without a dispersion column)."""
    from respicast.evaluation.quantiles import quantile_frame

    if "dispersion" not in predictions.columns:
        log.warning("predictions have no 'dispersion' column: no %s", run_dir.quantiles_file.name)
        return None
    return run_dir.write_quantiles(quantile_frame(predictions, levels))


def save_fitted(run_dir: RunDir, result, model) -> None:
    """Calibrators and thresholds, then what the model (a Forecaster) saves itself, for
    respicast-eval and respicast-forecast."""
    state = {"calibrators": getattr(result, "calibrators", None), "thresholds": result.thresholds}
    run_dir.write_fitted(state)
    if model is not None:
        model.save(run_dir)
