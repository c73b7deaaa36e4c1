"""Scores of a panel's predictions per series, and their macro means (issue 15).

The pooled (micro) scores are evaluate's own, over every series' rows at once; here each series
is scored alone (AUROC needs both classes in it, so a series without a peak at a horizon gets
none), with its number of peaks, and ``test/<metric>_macro_h<h>`` averages the series that have
a score. Given the quantile levels, each series also gets the proper scores of its count
distribution (WIS, CRPS, log score, 80/95 % coverage, issue 16): the row scores of
``proper_scores.row_scores`` computed once over every test row (the rows evaluate scored, with
the dispersion ``ensure_dispersion`` gave them) and averaged per series and horizon, so a
series' mean weighted by its ``n_scored`` gives back the pooled ``test/<score>_h<h>``. No
scale-free WIS relative to a reference: a run's test frame holds no reference forecast's
distribution, and a climatology fitted here would need the training rows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.evaluation.metrics import auroc

# the pooled scores' names (evaluate's test/<score>_h<h>), so series and pooled keys match
SERIES_SCORES = ("wis", "crps", "logscore", "cover80", "cover95")


def series_label(row: dict, keys: list[str]) -> str:
    """One series' name in metric keys and reports: its key values joined by '|'."""
    return "|".join(str(row[k]) for k in keys)


def per_series_metrics(test: pl.DataFrame, keys: list[str], levels=None) -> dict[str, float]:
    """``series/<label>/{auroc,n_pos,n}_h<h>`` of each series of the test rows, and
    ``test/auroc_macro_h<h>`` and ``test/n_series_h<h>`` over them; with ``levels`` (the
    evaluation's quantile levels) also the proper scores of ``series_proper_scores``."""
    missing = [k for k in keys if k not in test.columns]
    if missing:
        raise ValueError(f"per-series scores: the predictions lack key column(s) {missing}")
    out = _auroc_by_series(test, keys)
    if levels is not None:
        out.update(series_proper_scores(test, keys, levels))
    return out


def _auroc_by_series(test: pl.DataFrame, keys: list[str]) -> dict[str, float]:
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


def series_proper_scores(test: pl.DataFrame, keys: list[str], levels) -> dict[str, float]:
    """``series/<label>/{<score>,n_scored}_h<h>`` for each score of ``SERIES_SCORES`` (the mean
    over the series' rows with an observed and a predicted count) and ``test/<score>_macro_h<h>``,
    the mean over the series that have one."""
    from respicast.evaluation.proper_scores import row_scores

    need = [c for c in ("observed", "predicted", "dispersion") if c not in test.columns]
    if need:
        raise ValueError(
            f"per-series proper scores: the test predictions lack column(s) {need} (score the "
            "frame evaluate_predictions returns, whose dispersion the pooled scores used)"
        )
    scores = row_scores(test, levels, "test per series")
    rows = test.select(*keys, "horizon").with_columns(
        pl.Series(m, scores[m], dtype=pl.Float64).fill_nan(None) for m in SERIES_SCORES
    )
    means = rows.group_by("horizon", *keys, maintain_order=True).agg(
        pl.col("wis").count().alias("n_scored"), *(pl.col(m).mean() for m in SERIES_SCORES)
    )
    out: dict[str, float] = {}
    for r in means.iter_rows(named=True):
        label, h = series_label(r, keys), int(r["horizon"])
        out[f"series/{label}/n_scored_h{h}"] = float(r["n_scored"])
        for m in SERIES_SCORES:
            out[f"series/{label}/{m}_h{h}"] = np.nan if r[m] is None else float(r[m])
    macro = means.group_by("horizon").agg(pl.col(m).mean() for m in SERIES_SCORES)
    for r in macro.iter_rows(named=True):
        for m in SERIES_SCORES:
            if r[m] is not None:
                out[f"test/{m}_macro_h{int(r['horizon'])}"] = float(r[m])
    return out


def series_table(metrics: dict[str, float], horizons: list[int]) -> pl.DataFrame:
    """One row per series of ``series/...`` metrics: label, then AUROC, n_pos, WIS and 80 %
    coverage per horizon (NaN where the series has none)."""
    labels = sorted({k.split("/")[1] for k in metrics if k.startswith("series/")})
    rows = []
    for label in labels:
        row: dict = {"series": label}
        for h in horizons:
            row[f"auroc_h{h}"] = metrics.get(f"series/{label}/auroc_h{h}", np.nan)
            row[f"n_pos_h{h}"] = metrics.get(f"series/{label}/n_pos_h{h}", np.nan)
            row[f"wis_h{h}"] = metrics.get(f"series/{label}/wis_h{h}", np.nan)
            row[f"cover80_h{h}"] = metrics.get(f"series/{label}/cover80_h{h}", np.nan)
        rows.append(row)
    return pl.DataFrame(rows)
