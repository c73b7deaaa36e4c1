"""report.md and report.html for one run: data, model, metrics with CIs, pictures, oracle and
achievable ceiling."""

from __future__ import annotations

import logging
import re
from pathlib import Path

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

log = logging.getLogger(__name__)

# every metric given a CI, in the order evaluate_predictions lists them
TABLE_METRICS = CI_METRICS
PLOT_CAPTIONS = {
    "roc": "ROC curves by horizon (dot: chosen alert threshold)",
    "reliability": "Reliability diagram (equal-count bins) with the distribution of predicted probabilities",
    "confusion": "Confusion matrices at the chosen alert thresholds",
}


def _caption(plot_name: str) -> str:
    if plot_name.startswith("timeseries_h"):
        return f"Observed vs predicted admissions/day, h={plot_name.removeprefix('timeseries_h')} d"
    return PLOT_CAPTIONS.get(plot_name, plot_name)


def _horizons_in(metrics: dict, split: str) -> list[int]:
    pattern = re.compile(rf"^{split}/n_pos_h(\d+)$")
    return sorted(int(m.group(1)) for k in metrics if (m := pattern.match(k)))


def _data_section(doc: Document, data_summary: dict) -> None:
    """data_summary: period (str or [start, end]), sources, groups, missingness {variable: fraction};
    any other key is listed as it is."""
    doc.heading("Data")
    items = []
    period = data_summary.get("period")
    if period is not None:
        items.append(
            "period: "
            + (" to ".join(map(str, period)) if isinstance(period, list | tuple) else str(period))
        )
    for key in ("sources", "groups"):
        if key in data_summary:
            value = data_summary[key]
            items.append(
                f"{key}: "
                + (", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value))
            )
    for key, value in data_summary.items():
        if key not in ("period", "sources", "groups", "missingness"):
            items.append(f"{key}: {value}")
    doc.bullets(items or ["no data summary given"])
    missing = data_summary.get("missingness") or {}
    if missing:
        doc.paragraph("Missing values per variable (share of days, before filling):")
        rows = [
            [var, f"{100 * float(frac):.1f} %"]
            for var, frac in sorted(missing.items(), key=lambda kv: -float(kv[1]))
        ]
        doc.table(["variable", "missing"], rows)


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
) -> tuple[Path, Path]:
    """Write ``run_dir/report.md`` and the self-contained ``run_dir/report.html``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    doc = Document(f"respicast run report: {model_name}")
    _data_section(doc, data_summary)

    doc.heading("Model")
    items = [f"model: {model_name}"]
    if test.height:
        items.append(
            f"test period: {test['target_date'].min()} to {test['target_date'].max()} ({test['target_date'].n_unique()} days)"
        )
        items.append(
            "horizons: " + ", ".join(str(h) for h in sorted(test["horizon"].unique().to_list()))
        )
        if "fold" in test.columns and test["fold"].n_unique() > 1:
            items.append(f"folds pooled: {test['fold'].n_unique()}")
    doc.bullets(items)

    _metrics_section(doc, metrics, "test")
    _calibration_section(doc, metrics, "test")
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
    return doc.write(run_dir / "report.md", run_dir / "report.html")
