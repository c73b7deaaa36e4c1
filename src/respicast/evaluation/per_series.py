"""Scores of a panel's predictions per series, and their macro means (issue 15).

The pooled (micro) scores are evaluate's own, over every series' rows at once; here each series
is scored alone (AUROC needs both classes in it, so a series without a peak at a horizon gets
none), with its number of peaks, and ``test/<metric>_macro_h<h>`` averages the series that have
a score.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.evaluation.metrics import auroc


def series_label(row: dict, keys: list[str]) -> str:
    """One series' name in metric keys and reports: its key values joined by '|'."""
    return "|".join(str(row[k]) for k in keys)


def per_series_metrics(test: pl.DataFrame, keys: list[str]) -> dict[str, float]:
    """``series/<label>/{auroc,n_pos,n}_h<h>`` of each series of the test rows, and
    ``test/auroc_macro_h<h>`` and ``test/n_series_h<h>`` over them."""
    missing = [k for k in keys if k not in test.columns]
    if missing:
        raise ValueError(f"per-series scores: the predictions lack key column(s) {missing}")
    out: dict[str, float] = {}
    macro: dict[int, list[float]] = {}
    labelled = test.filter(pl.col("peak").is_not_null() & pl.col("peak_prob").is_not_nan())
    for (h,), rows in sorted(labelled.group_by(["horizon"]), key=lambda g: g[0][0]):
        for key_values, part in rows.group_by(keys, maintain_order=True):
            label = series_label(dict(zip(keys, key_values, strict=True)), keys)
            y = part["peak"].to_numpy().astype(int)
            n_pos = int(y.sum())
            out[f"series/{label}/n_pos_h{h}"] = float(n_pos)
            out[f"series/{label}/n_h{h}"] = float(len(y))
            score = auroc(y, part["peak_prob"].to_numpy()) if 0 < n_pos < len(y) else np.nan
            out[f"series/{label}/auroc_h{h}"] = float(score)
            if np.isfinite(score):
                macro.setdefault(int(h), []).append(float(score))
    for h, scores in macro.items():
        out[f"test/auroc_macro_h{h}"] = float(np.mean(scores))
        out[f"test/n_series_h{h}"] = float(len(scores))
    return out


def series_table(metrics: dict[str, float], horizons: list[int]) -> pl.DataFrame:
    """One row per series of ``series/...`` metrics: label, then AUROC and n_pos per horizon."""
    labels = sorted({k.split("/")[1] for k in metrics if k.startswith("series/")})
    rows = []
    for label in labels:
        row: dict = {"series": label}
        for h in horizons:
            row[f"auroc_h{h}"] = metrics.get(f"series/{label}/auroc_h{h}", np.nan)
            row[f"n_pos_h{h}"] = metrics.get(f"series/{label}/n_pos_h{h}", np.nan)
        rows.append(row)
    return pl.DataFrame(rows)
