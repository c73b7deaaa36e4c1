"""Coherent totals of a panel: the total's forecast summed from its parts (bottom-up), scored
beside the total's own, direct forecast on the same rows (issue 15).

A total series (data.totals, label "all" in the summed keys) is a series of the panel, with its
own peak threshold from its own past. Its bottom-up forecast at an origin and horizon is the sum
of its parts' expected counts; its peak probability is the tail above the total's threshold of a
negative binomial with the sum's mean and variance (parts independent given their forecasts:
var = sum(mu + mu^2 / k)).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import nbinom

from respicast.evaluation.metrics import auroc
from respicast.evaluation.per_series import series_label

TOTAL = "all"


def _parts_of(test: pl.DataFrame, keys: list[str], total: dict) -> pl.DataFrame:
    """Rows of the leaf series under ``total``: those matching its non-"all" keys, with no
    "all" key of their own (totals of totals are not parts)."""
    cond = pl.lit(True)
    for k in keys:
        if total[k] == TOTAL:
            cond = cond & (pl.col(k) != TOTAL)
        else:
            cond = cond & (pl.col(k) == total[k])
    return test.filter(cond)


def bottom_up(test: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows of each total series with ``bottom_up`` (sum of the parts' expected counts) and
    ``bottom_up_prob`` beside its direct ``predicted`` and ``peak_prob``."""
    is_total = pl.any_horizontal([pl.col(k) == TOTAL for k in keys])
    totals = test.filter(is_total)
    k = pl.col("dispersion") if "dispersion" in test.columns else pl.lit(np.inf)
    out = []
    for total in totals.select(keys).unique(maintain_order=True).iter_rows(named=True):
        rows = totals.filter(*[pl.col(c) == v for c, v in total.items()])
        parts = _parts_of(test, keys, total).with_columns(
            var=pl.col("predicted") + pl.col("predicted") ** 2 / k
        )
        summed = parts.group_by("origin_date", "horizon").agg(
            bottom_up=pl.col("predicted").sum(), var=pl.col("var").sum(), n_parts=pl.len()
        )
        rows = rows.join(summed, on=["origin_date", "horizon"], how="left")
        n_parts = rows["n_parts"].max()
        if rows["n_parts"].null_count() or rows["n_parts"].min() != n_parts:
            raise ValueError(
                f"bottom-up total {series_label(total, keys)}: its parts miss some of its "
                "origins (a part's series is shorter than the total)"
            )
        mean, var = rows["bottom_up"].to_numpy(), rows["var"].to_numpy()
        excess = np.maximum(var - mean, 1e-9)
        kk = np.where(var > mean * (1 + 1e-9), mean**2 / excess, 1e12)  # near-Poisson: large k
        thr = rows["threshold"].to_numpy()
        prob = nbinom.sf(np.floor(np.nan_to_num(thr)), kk, kk / (kk + mean))
        out.append(
            rows.with_columns(bottom_up_prob=pl.Series(np.where(np.isnan(thr), np.nan, prob)))
        )
    if not out:
        return test.clear().with_columns(bottom_up=pl.lit(0.0), bottom_up_prob=pl.lit(0.0))
    return pl.concat(out, how="vertical_relaxed")


def coherence_metrics(test: pl.DataFrame, keys: list[str]) -> dict[str, float]:
    """``total/<label>/{auroc,mae}_{direct,bottom_up}_h<h>`` of each total series."""
    rows = bottom_up(test, keys)
    out: dict[str, float] = {}
    for key_values, part in rows.group_by([*keys, "horizon"], maintain_order=True):
        *kv, h = key_values
        label = series_label(dict(zip(keys, kv, strict=True)), keys)
        lab = part.filter(pl.col("peak").is_not_null())
        y = lab["peak"].to_numpy().astype(int)
        obs = part["observed"].to_numpy()
        for name, mean, prob in (
            ("direct", part["predicted"], lab["peak_prob"]),
            ("bottom_up", part["bottom_up"], lab["bottom_up_prob"]),
        ):
            out[f"total/{label}/auroc_{name}_h{h}"] = auroc(y, prob.to_numpy())
            out[f"total/{label}/mae_{name}_h{h}"] = float(np.nanmean(np.abs(obs - mean.to_numpy())))
    return out
