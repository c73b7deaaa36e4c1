"""report.md and report.html for one run: data, model, metrics with CIs, pictures, oracle and
achievable ceiling."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import polars as pl

from respicast.evaluation.evaluate import CI_METRICS
from respicast.report.document import Cell, Document
from respicast.report.format import (
    LABELS,
    as_float,
    fmt,
    fmt_ci,
    metric_triplet,
    oracle_skill_fraction,
)
from respicast.run_dir import RunDir

log = logging.getLogger(__name__)

# every metric given a CI, in the order evaluate_predictions lists them
TABLE_METRICS = CI_METRICS
PLOT_CAPTIONS = {
    "roc": "ROC curves by horizon (dot: chosen alert threshold)",
    "reliability": "Reliability diagram (equal-count bins) with the distribution of predicted probabilities",
    "confusion": "Confusion matrices at the chosen alert thresholds",
    "pit": "Randomised PIT histograms of the count distribution (flat = calibrated)",
}


def _caption(plot_name: str) -> str:
    if plot_name.startswith("timeseries_h"):
        return f"Observed vs predicted admissions/day, h={plot_name.removeprefix('timeseries_h')} d"
    return PLOT_CAPTIONS.get(plot_name, plot_name)


def _horizons_in(metrics: dict, split: str) -> list[int]:
    pattern = re.compile(rf"^{split}/n_pos_h(\d+)$")
    return sorted(int(m.group(1)) for k in metrics if (m := pattern.match(k)))


def _period_text(period) -> str:
    return " to ".join(map(str, period)) if isinstance(period, list | tuple) else str(period)


def _summary_rows(data_summary: dict) -> list[list[str]]:
    """The data in one key/value table; the bulky keys get tables of their own."""
    rows = []
    for key in ("name", "period", "days", "target", "groups", "lookback", "horizon"):
        if key in data_summary:
            v = data_summary[key]
            text = _period_text(v) if key == "period" else v
            rows.append([key, ", ".join(map(str, text)) if isinstance(text, list) else str(text)])
    for part, text in (data_summary.get("split") or {}).items():
        rows.append([f"{part} origins", str(text)])
    skip = {"period", "days", "target", "groups", "lookback", "horizon", "name", "split"}
    skip |= {"sources", "missingness", "filled"}
    rows += [[k, str(v)] for k, v in data_summary.items() if k not in skip]
    return rows


def _source_rows(sources, missing: dict) -> list[list[str]]:
    """One row per source: kind, period covered, files, sites, and its days with a value."""
    if not isinstance(sources, dict):
        return [[str(s), "", "", "", "", "", ""] for s in sources]
    rows = []
    for name, info in sources.items():
        info = info if isinstance(info, dict) else {}
        cols = {c: float(v) for c, v in missing.items() if c.startswith(f"{name}_")}
        worst = max(cols.items(), key=lambda kv: kv[1]) if cols else None
        files = info.get("files")
        rows.append(
            [
                name,
                f"{info.get('kind', '')} ({info.get('resolution', '')})",
                _period_text([str(x)[:10] for x in info.get("period") or []]) or "—",
                str(len(files)) if isinstance(files, list | tuple | dict) else str(files or "—"),
                str(len(info.get("sites") or {})),
                f"{100 * (1 - sum(cols.values()) / len(cols)):.1f} %" if cols else "—",
                f"{worst[0]} {100 * worst[1]:.1f} %" if worst else "—",
            ]
        )
    return rows


def _data_section(doc: Document, data_summary: dict) -> None:
    """data_summary (run_outputs.data_summary): period, days, target, groups, split, sources
    {name: {kind, files, resolution, period, sites, ...}} or a list of names, missingness
    {column: share of days missing before filling}, filled {column: values filled}."""
    doc.heading("Data")
    rows = _summary_rows(data_summary)
    if rows:
        doc.table(["", "value"], rows)
    else:
        doc.paragraph("No data summary given.")
    missing = data_summary.get("missingness") or {}
    sources = data_summary.get("sources")
    if sources:
        doc.heading("Sources", 3)
        doc.table(
            [
                "source",
                "kind",
                "period read",
                "files",
                "sites",
                "days with a value",
                "most missing",
            ],
            _source_rows(sources, missing),
        )
    if missing:
        filled = data_summary.get("filled") or {}
        doc.paragraph(
            "Missing values per variable (share of days, before filling), and the values filled:"
        )
        rows = [
            [var, f"{100 * float(frac):.1f} %", str(filled.get(var, "—"))]
            for var, frac in sorted(missing.items(), key=lambda kv: -float(kv[1]))
        ]
        doc.table(["variable", "missing", "filled"], rows)


def _flat(d, prefix: str = "") -> list[tuple[str, str]]:
    """Nested config -> (dotted key, text); Hydra's `_target_` shown as `class`."""
    out = []
    for k, v in (d or {}).items():
        if k == "_partial_":
            continue
        k = "class" if k == "_target_" else k
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", ", ".join(map(str, v)) if isinstance(v, list) else str(v)))
    return out


def _run_config(run_dir: Path) -> dict:
    path = RunDir(run_dir).find_config()
    if path is None:
        return {}
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def learning_curves(run_dir: Path) -> pl.DataFrame | None:
    """Per epoch: train/val loss (and lr) from the CSV logger's newest metrics.csv, if any."""
    files = RunDir(run_dir).learning_curve_files()
    if not files:
        return None
    frame = pl.read_csv(files[-1], infer_schema_length=None)
    cols = [c for c in ("train/loss", "val/loss", "lr") if c in frame.columns]
    if "epoch" not in frame.columns or not cols:
        return None
    per_epoch = (
        frame.filter(pl.col("epoch").is_not_null())
        .group_by("epoch")
        .agg([pl.col(c).drop_nulls().last().alias(c) for c in cols])
        .sort("epoch")
    )
    return per_epoch if per_epoch.height else None


def _model_section(doc: Document, run_dir: Path, model_name: str, test: pl.DataFrame) -> None:
    """Model and its hyper-parameters (config_resolved.yaml), best epoch and learning curves."""
    doc.heading("Model")
    cfg = _run_config(run_dir)
    rows = [["model", model_name]]
    rows += [[f"model.{k}", v] for k, v in _flat(cfg.get("model")) if k != "name"]
    trainer = cfg.get("trainer") or {}
    rows += [
        [f"trainer.{k}", str(trainer[k])] for k in ("max_epochs", "accelerator") if k in trainer
    ]
    if "seed" in cfg:
        rows.append(["seed", str(cfg["seed"])])
    if test.height:
        days = test["target_date"].n_unique()
        rows.append(
            [
                "test period",
                f"{test['target_date'].min()} to {test['target_date'].max()} ({days} days)",
            ]
        )
        rows.append(
            ["horizons (days)", ", ".join(map(str, sorted(test["horizon"].unique().to_list())))]
        )
        if "fold" in test.columns and test["fold"].n_unique() > 1:
            rows.append(["folds pooled", str(test["fold"].n_unique())])
    curves = learning_curves(run_dir)
    if (
        curves is not None
        and "val/loss" in curves.columns
        and curves["val/loss"].is_not_null().any()
    ):
        best = curves.filter(pl.col("val/loss") == pl.col("val/loss").min()).row(0, named=True)
        rows.append(
            [
                "best epoch (lowest val/loss)",
                f"{best['epoch'] + 1} of {curves.height}, val/loss {best['val/loss']:.4f}",
            ]
        )
    elif cfg:
        rows.append(["training epochs", "none (fitted in one pass, no learning curve)"])
    doc.table(["", "value"], rows)
    if curves is not None:
        from respicast.evaluation.plots import plot_learning_curves

        png = plot_learning_curves(curves, RunDir(run_dir).plot("learning_curves"), model_name)
        doc.image("Learning curves: loss per epoch (dot: best epoch)", png)


def _metrics_section(doc: Document, metrics: dict, split: str) -> None:
    horizons = _horizons_in(metrics, split)
    doc.heading(f"Metrics ({split})")
    if not horizons:
        doc.paragraph(f"No {split} metrics in this run.")
        return
    headers = ["horizon", "n_pos"] + [LABELS[m] for m in TABLE_METRICS] + ["flag"]
    rows = []
    for h in horizons:
        row: list[Cell | str] = [f"h={h} d", fmt(as_float(metrics.get(f"{split}/n_pos_h{h}")), 0)]
        row += [fmt_ci(*metric_triplet(metrics, f"{split}/{m}_h{h}")) for m in TABLE_METRICS]
        flags = []
        if metrics.get(f"{split}/auroc_h{h}_unreliable"):
            flags.append("unreliable (few peaks)")
        if metrics.get(f"{split}/auroc_h{h}_undefined"):
            flags.append("AUROC undefined (one class)")
        row.append("; ".join(flags))
        rows.append(row)
    doc.table(headers, rows)
    doc.paragraph(
        "Values with 95 % CIs from a bootstrap over whole ISO weeks. n_pos: peak days. "
        "BSS: Brier skill score against the training-period peak frequency. "
        "MASE: MAE over the MAE of a naive forecast on the validation period. "
        "Sensitivity, specificity and PPV at the alert threshold chosen on validation. "
        "'unreliable': fewer peak days than the minimum set in evaluation.min_positives."
    )


def _proper_scores_section(doc: Document, metrics: dict, split: str) -> None:
    """WIS and its parts, CRPS, log score and interval coverage per horizon (evaluation.proper_scores)."""
    from respicast.evaluation.proper_scores import SCORES

    horizons = [h for h in _horizons_in(metrics, split) if f"{split}/wis_h{h}" in metrics]
    if not horizons:
        return
    doc.heading(f"Count distribution ({split})")
    rows = [
        [f"h={h} d"] + [fmt_ci(*metric_triplet(metrics, f"{split}/{m}_h{h}")) for m in SCORES]
        for h in horizons
    ]
    doc.table(["horizon"] + [LABELS.get(m, m) for m in SCORES], rows)
    doc.paragraph(
        "Proper scores of each model's count distribution (its expected count and dispersion), "
        "lower is better: weighted interval score over evaluation.quantile_levels (Bracher et al. "
        "2021) with its dispersion / over- / under-prediction parts, CRPS, log score -log P(y). "
        "Coverage: share of days inside the central 50/80/95 % interval; exp.: the mass the "
        "forecast itself gives that interval, which a calibrated forecast's coverage matches "
        "(counts are discrete: an '80 %' interval of a small count holds more than 80 %); "
        "rand.: coverage of the randomised interval (share of days whose randomised PIT lies in "
        "the central band), which a calibrated forecast brings to the nominal level."
    )


def _calibration_section(doc: Document, metrics: dict, split: str) -> None:
    """Before → after the calibrator fitted on validation, when one was fitted."""
    horizons = [h for h in _horizons_in(metrics, split) if f"{split}/brier_raw_h{h}" in metrics]
    if not horizons:
        return
    doc.heading(f"Calibration ({split}, before → after)")
    names = ("brier", "ece", "cal_intercept", "cal_slope")
    rows = [
        [f"h={h} d"]
        + [
            f"{fmt(as_float(metrics.get(f'{split}/{m}_raw_h{h}')))} → {fmt(as_float(metrics.get(f'{split}/{m}_h{h}')))}"
            for m in names
        ]
        + [fmt(as_float(metrics.get(f"{split}/alert_threshold_h{h}")))]
        for h in horizons
    ]
    doc.table(
        ["horizon", "Brier", "ECE", "intercept (0 ideal)", "slope (1 ideal)", "alert threshold"],
        rows,
    )


def _decision_section(
    doc: Document, predictions: pl.DataFrame | None, budgets, metrics: dict
) -> None:
    """The staffing trade-off per alert budget (report.decision), for the shortest and longest
    horizons, with the threshold the run chose in training for comparison."""
    from respicast.report.decision import decision_rows, pct, per_month, threshold_row

    if predictions is None or not {"split", "peak", "peak_prob"} <= set(predictions.columns):
        return
    hs = sorted(int(h) for h in predictions["horizon"].unique().to_list())
    shown = sorted({hs[0], hs[-1]}) if hs else []
    rows = decision_rows(predictions, budgets, shown)
    if not rows:
        return
    for h in shown:  # the training threshold, where the metrics above were counted
        thr = metrics.get(f"test/alert_threshold_h{h}")
        if thr is not None and np.isfinite(thr):
            at = [i for i, r in enumerate(rows) if r["horizon"] == h][-1] + 1
            rows.insert(at, threshold_row(predictions, h, float(thr)))
    doc.heading("Decision view: alert budget vs peaks caught")
    doc.paragraph(
        "For each alert budget (alert days a month), the threshold is the lowest peak probability "
        "that alerted on at most that many validation days a month. 'Peaks caught': share of peak "
        "days that had an alert; 'false alerts': alert days that were not peak days, per month. "
        "More alert days catch more peaks and cost more false alarms: a ward picks the row it can "
        "staff (conf/forecast.yaml alert.budget), the forecast page uses it. 'training "
        "threshold': the decision threshold the metrics and confusion matrices above use."
    )
    table = [
        [
            f"h={r['horizon']} d",
            f"{r['budget']:g}" if np.isfinite(r["budget"]) else "training threshold",
            fmt(r["threshold"]),
            pct(r["val_caught"]),
            per_month(r["val_false_per_month"]),
            pct(r["test_caught"]),
            per_month(r["test_false_per_month"]),
            per_month(r["test_alerts_per_month"]),
        ]
        for r in rows
    ]
    doc.table(
        [
            "horizon",
            "alert days/month (budget)",
            "threshold",
            "peaks caught (val)",
            "false alerts/month (val)",
            "peaks caught (test)",
            "false alerts/month (test)",
            "alert days/month (test)",
        ],
        table,
    )


def _oracle_section(doc: Document, metrics: dict, oracle: dict, split: str) -> None:
    doc.heading("Oracle ceiling (simulated data)")
    doc.paragraph(
        "The oracle knows the simulator's true expected counts; its AUROC is the best any model can "
        "reach on these data. Share of oracle skill = (AUROC − 0.5) / (AUROC_oracle − 0.5)."
    )
    rows = []
    for key in sorted(oracle):
        m = re.fullmatch(r"auroc_h(\d+)", key)
        if not m:
            continue
        h = int(m.group(1))
        auc = as_float(metrics.get(f"{split}/auroc_h{h}"))
        auc_o = as_float(oracle[key])
        frac = oracle_skill_fraction(auc, auc_o)
        rows.append(
            [
                f"h={h} d",
                fmt(auc),
                fmt(auc_o),
                fmt(100 * frac, 0) + " %" if frac == frac else "—",
                fmt(as_float(metrics.get(f"{split}/brier_h{h}"))),
                fmt(as_float(oracle.get(f"brier_h{h}"))),
            ]
        )
    doc.table(
        [
            "horizon",
            "AUROC model",
            "AUROC oracle",
            "share of oracle skill",
            "Brier model",
            "Brier oracle",
        ],
        rows,
    )


def _ceiling_section(doc: Document, metrics: dict, ceiling: dict, split: str) -> None:
    """``ceiling`` holds the ``ceiling/...`` and ``ceiling_no_<group>/auroc_h<h>`` keys."""
    horizons = sorted(
        int(m.group(1)) for k in ceiling if (m := re.fullmatch(r"ceiling/auroc_h(\d+)", k))
    )
    if not horizons:
        return
    doc.heading("Achievable ceiling (simulated data)")
    doc.paragraph(
        "The ceiling is the planted model forecasting from what is known at the origin: exact "
        "calendar, season and lockdown terms, exposures published by the origin (later days held "
        "at the last published value), the unobserved level estimated from the published counts, "
        "and the negative-binomial tail above the threshold. A model near it has learnt what the "
        "data hold; the oracle above it also knows the level no model can see. Share of ceiling "
        "skill = (AUROC − 0.5) / (AUROC_ceiling − 0.5)."
    )
    rows = []
    for h in horizons:
        auc, auc_c = (
            as_float(metrics.get(f"{split}/auroc_h{h}")),
            as_float(ceiling[f"ceiling/auroc_h{h}"]),
        )
        frac = oracle_skill_fraction(auc, auc_c)
        rows.append(
            [f"h={h} d", fmt(auc), fmt(auc_c), fmt(as_float(metrics.get(f"oracle/auroc_h{h}")))]
            + [fmt(100 * frac, 0) + " %" if frac == frac else "—"]
            + [fmt(as_float(ceiling.get(f"ceiling/{m}_h{h}"))) for m in ("brier", "ece")]
        )
    headers = ["horizon", "AUROC model", "AUROC ceiling", "AUROC oracle", "share of ceiling skill"]
    doc.table(headers + ["Brier ceiling", "ECE ceiling"], rows)
    groups = sorted(
        {m.group(1) for k in ceiling if (m := re.fullmatch(r"ceiling_no_(\w+)/auroc_h\d+", k))}
    )
    if not groups:
        return
    doc.paragraph(
        "The most each variable group can add: ceiling AUROC minus that of the ceiling without "
        "the group's drivers (the estimated level then absorbs what it can of them)."
    )
    rows = [
        [f"h={h} d"]
        + [
            fmt(
                as_float(ceiling[f"ceiling/auroc_h{h}"])
                - as_float(ceiling.get(f"ceiling_no_{g}/auroc_h{h}"))
            )
            for g in groups
        ]
        for h in horizons
    ]
    doc.table(["horizon"] + groups, rows)


def _series_section(doc: Document, metrics: dict, split: str) -> None:
    """A panel's scores per series (the pooled table above is the micro average)."""
    if not any(k.startswith("series/") for k in metrics):
        return
    from respicast.evaluation.per_series import series_table

    horizons = [
        h
        for h in _horizons_in(metrics, split)
        if f"{split}/auroc_macro_h{h}" in metrics or f"{split}/wis_macro_h{h}" in metrics
    ]
    if not horizons:
        return
    shown = [h for h in horizons if h in (horizons[0], 3, horizons[-1])]
    table = series_table(metrics, shown)
    cols = (
        ("AUROC", "auroc", 3),
        ("n_pos", "n_pos", 0),
        ("WIS", "wis", 3),
        ("cov80", "cover80", 2),
    )
    doc.heading(f"Series ({split})")
    headers = ["series"] + [f"{name} h={h}" for h in shown for name, _, _ in cols]
    rows = [
        [r["series"]] + [fmt(r[f"{m}_h{h}"], d) for h in shown for _, m, d in cols]
        for r in table.iter_rows(named=True)
    ]
    rows.append(
        ["macro mean"]
        + [
            "" if m == "n_pos" else fmt(metrics.get(f"{split}/{m}_macro_h{h}"), d)
            for h in shown
            for _, m, d in cols
        ]
    )
    doc.table(headers, rows)
    doc.paragraph(
        "One row per series of the panel (data.series), each scored alone; 'macro mean' averages "
        "the series that have the score at that horizon, the metrics table above pools every "
        "series' rows (micro). A series with no peak at a horizon has no AUROC. WIS and cov80 "
        "(share of rows inside the central 80 % interval) are those of the count distribution "
        "the pooled proper scores use; WIS is in counts, so it grows with the series' size."
    )


def _totals_section(doc: Document, metrics: dict, split: str) -> None:
    """Each total series of a panel: its direct forecast against the sum of its parts'."""
    labels = sorted({k.split("/")[1] for k in metrics if k.startswith("total/")})
    if not labels:
        return
    horizons = [h for h in _horizons_in(metrics, split) if h in (1, 3, 7)]
    doc.heading(f"Totals: direct vs bottom-up ({split})")
    rows = []
    for label in labels:
        for h in horizons:
            m = {
                f"{what}_{how}": metrics.get(f"total/{label}/{what}_{how}_h{h}")
                for what in ("auroc", "mae")
                for how in ("direct", "bottom_up")
            }
            rows.append(
                [label, f"h={h} d"]
                + [
                    fmt(m[c], 3)
                    for c in ("auroc_direct", "auroc_bottom_up", "mae_direct", "mae_bottom_up")
                ]
            )
    doc.table(
        ["total", "horizon", "AUROC direct", "AUROC bottom-up", "MAE direct", "MAE bottom-up"], rows
    )
    doc.paragraph(
        "A total (data.totals, 'all' in the summed keys) is forecast directly as a series of its "
        "own and bottom-up as the sum of its parts' expected counts, its peak probability from a "
        "negative binomial with the sum's mean and variance; both against the total's threshold."
    )


def write_run_report(
    run_dir: Path,
    *,
    metrics: dict,
    test: pl.DataFrame,
    plots: dict[str, Path],
    data_summary: dict,
    model_name: str,
    oracle: dict | None,
    ceiling: dict | None = None,
    predictions: pl.DataFrame | None = None,
    budgets=None,
) -> tuple[Path, Path]:
    """Write ``run_dir/report.md`` and the self-contained ``run_dir/report.html``.

    ``predictions``: val and test rows for the decision view; by default the run's
    predictions.parquet when it is there."""
    from respicast.report.decision import DEFAULT_BUDGETS

    run_dir = Path(run_dir)
    if predictions is None:
        predictions = RunDir(run_dir).read_predictions()
    run_dir.mkdir(parents=True, exist_ok=True)
    doc = Document(f"respicast run report: {model_name}")
    _data_section(doc, data_summary)

    _model_section(doc, run_dir, model_name, test)
    _metrics_section(doc, metrics, "test")
    _series_section(doc, metrics, "test")
    _totals_section(doc, metrics, "test")
    _proper_scores_section(doc, metrics, "test")
    _calibration_section(doc, metrics, "test")
    _decision_section(doc, predictions, budgets or DEFAULT_BUDGETS, metrics)
    if oracle:
        _oracle_section(doc, metrics, oracle, "test")
    if ceiling:
        _ceiling_section(doc, metrics, ceiling, "test")

    if plots:
        doc.heading("Pictures")
        for name, path in plots.items():
            if not Path(path).exists():
                log.warning("report: plot %r not found at %s; left out", name, path)
                continue
            doc.image(_caption(name), Path(path))
    return doc.write(*RunDir(run_dir).report_files())
