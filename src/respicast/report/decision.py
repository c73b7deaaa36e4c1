"""The decision view: for each alert budget (alert days a month), what a ward gets and pays.

For a budget of n days a month, the threshold is the lowest peak probability that alerted on at
most n validation days a month (chosen on validation only, like every decision threshold). At that
threshold, on validation and on the held-out test days: the share of peak days that were alerted
(peaks caught) and the alerted days that were no peak (false alerts), per month. This is the
staffing trade-off: more alert days catch more peaks and cost more false alarms.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.forecast.alerts import DAYS_PER_MONTH, budget_threshold

DEFAULT_BUDGETS = (1, 2, 4, 6, 8, 12)


def _arrays(frame: pl.DataFrame, h: int) -> tuple[np.ndarray, np.ndarray]:
    sub = frame.filter(
        (pl.col("horizon") == h) & pl.col("peak").is_not_null() & pl.col("peak_prob").is_not_null()
    )
    return sub["peak"].cast(pl.Float64).to_numpy(), sub["peak_prob"].cast(pl.Float64).to_numpy()


def _scores(y: np.ndarray, p: np.ndarray, thr: float) -> dict:
    """Peaks caught, false alerts and alerts per month at p >= thr (NaN with no row)."""
    if not y.size:
        return {"caught": np.nan, "false_per_month": np.nan, "alerts_per_month": np.nan, "n_pos": 0}
    on = p >= thr
    months = y.size / DAYS_PER_MONTH
    n_pos = int(y.sum())
    return {
        "caught": float(y[on].sum() / n_pos) if n_pos else np.nan,
        "false_per_month": float((on & (y == 0)).sum() / months),
        "alerts_per_month": float(on.sum() / months),
        "n_pos": n_pos,
    }


def threshold_row(predictions: pl.DataFrame, h: int, thr: float) -> dict:
    """The same scores at a given threshold (e.g. the one the run chose in training)."""
    val = predictions.filter(pl.col("split") == "val")
    test = predictions.filter(pl.col("split") == "test")
    return (
        {"horizon": h, "budget": float("nan"), "threshold": float(thr)}
        | {f"val_{k}": v for k, v in _scores(*_arrays(val, h), thr).items()}
        | {f"test_{k}": v for k, v in _scores(*_arrays(test, h), thr).items()}
    )


def decision_rows(
    predictions: pl.DataFrame, budgets=DEFAULT_BUDGETS, horizons: list[int] | None = None
) -> list[dict]:
    """One row per (horizon, budget): threshold set on `split == "val"`, scored on val and test.

    `predictions`: the run's predictions.parquet (val and test rows, pooled over folds).
    """
    val = predictions.filter(pl.col("split") == "val")
    test = predictions.filter(pl.col("split") == "test")
    hs = horizons or sorted(int(h) for h in val["horizon"].unique().to_list())
    rows = []
    for h in hs:
        yv, pv = _arrays(val, h)
        if not pv.size:
            continue
        yt, pt = _arrays(test, h)
        for b in budgets:
            thr = budget_threshold(pv, float(b))
            rows.append(
                {"horizon": h, "budget": float(b), "threshold": thr}
                | {f"val_{k}": v for k, v in _scores(yv, pv, thr).items()}
                | {f"test_{k}": v for k, v in _scores(yt, pt, thr).items()}
            )
    return rows


def _mean(values: list[float]) -> float:
    v = np.asarray(values, float)
    return float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else float("nan")


def pooled(rows: list[dict]) -> list[dict]:
    """Per budget, the mean over horizons (the page's one-line-per-budget view)."""
    out = []
    for b in sorted({r["budget"] for r in rows}):
        sub = [r for r in rows if r["budget"] == b]
        keys = [k for k in sub[0] if k.startswith(("val_", "test_")) and not k.endswith("n_pos")]
        mean = {k: _mean([r[k] for r in sub]) for k in keys}
        out.append({"budget": b, "horizons": len(sub)} | mean)
    return out


def pct(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{100 * x:.0f} %"


def per_month(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{x:.1f}"


__all__ = ["DEFAULT_BUDGETS", "decision_rows", "pct", "per_month", "pooled", "threshold_row"]
