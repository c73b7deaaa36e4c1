"""Alert levels from the calibrated peak probability: none < watch < alert.

watch: the decision threshold the run chose on validation (fitted.pkl), or a fixed probability.
alert: the lowest probability at which, on validation, at least `ppv` of the alerted days were
peaks (with at least `min_alerts` alerted days), or a fixed probability; never below watch.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

log = logging.getLogger(__name__)
LEVELS = ("none", "watch", "alert")


def ppv_threshold(y: np.ndarray, p: np.ndarray, ppv: float, min_alerts: int) -> float | None:
    """Lowest threshold t with PPV(p >= t) >= ppv over at least min_alerts alerted rows."""
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[np.diff(ps) != 0, True]  # each distinct value's last position (descending)
    n_alert = np.arange(1, len(ps) + 1)[last]
    prec = np.cumsum(ys)[last] / n_alert
    good = (prec >= ppv) & (n_alert >= min_alerts)
    return float(ps[last][good][-1]) if good.any() else None


def level_thresholds(
    cfg: dict, fitted: dict, val: pl.DataFrame | None, horizon: int
) -> dict[int, dict]:
    """{h: {watch, alert, alert_rule}} per horizon."""
    out = {}
    fitted_thr = fitted.get("thresholds") or {}
    for h in range(1, horizon + 1):
        w = cfg.get("watch", "fitted")
        watch = (
            float(fitted_thr.get(h, cfg.get("fallback_watch", 0.5))) if w == "fitted" else float(w)
        )
        a, rule = cfg.get("alert", "ppv"), "fixed"
        alert = None
        if a == "ppv" and val is not None:
            sub = val.filter(pl.col("horizon") == h)
            y = sub["peak"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            p = sub["peak_prob"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            alert = ppv_threshold(y, p, float(cfg.get("ppv", 0.5)), int(cfg.get("min_alerts", 5)))
            rule = f"PPV ≥ {cfg.get('ppv', 0.5)} on validation"
        if alert is None:
            alert = float(cfg.get("fallback_alert", 0.5)) if a == "ppv" else float(a)
            rule = (
                "fixed probability"
                if a != "ppv"
                else "fallback probability (PPV target not reached on validation)"
            )
        if alert < watch:
            alert, rule = watch, rule + ", raised to the watch threshold"
        out[h] = {"watch": watch, "alert": alert, "alert_rule": rule}
    return out


def level_of(p: float, thr: dict) -> str:
    if not np.isfinite(p):
        return "none"
    return "alert" if p >= thr["alert"] else "watch" if p >= thr["watch"] else "none"
