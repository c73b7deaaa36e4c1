"""Alert levels from the calibrated peak probability: none < watch < alert.

Each level's threshold follows one rule (conf/forecast.yaml, `alert`):
- ``budget`` (default): the lowest probability that, on the run's validation days, would have
  raised that level on at most ``budget.<level>_days_per_month`` days a month (watch counts
  watch-or-alert days), so the alarm rings as often as a ward agreed to, no more;
- ``fitted`` (watch only): the decision threshold the run chose on validation (fitted.pkl);
- ``ppv`` (alert only): the lowest probability at which, on validation, at least ``ppv`` of the
  alerted days were peaks (with at least ``min_alerts`` alerted days);
- a number: that fixed probability.
Alert is never below watch. What each level meant on validation (days a month, share of those
days that were peaks, share of peak days caught) goes with it, for the page to say in words.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

log = logging.getLogger(__name__)
LEVELS = ("none", "watch", "alert")
DAYS_PER_MONTH = 365.25 / 12
# used when the config gives no budget (forecast.yaml sets the same values)
DEFAULT_BUDGET = {"watch_days_per_month": 6, "alert_days_per_month": 2}


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


def budget_threshold(p: np.ndarray, days_per_month: float) -> float:
    """Lowest probability raising a level on at most `days_per_month` of the days in `p`."""
    from respicast.evaluation.thresholds import choose_threshold

    share = float(days_per_month) / DAYS_PER_MONTH
    if not 0 < share < 1:
        raise ValueError(
            f"forecast.alert.budget: {days_per_month:g} days a month must be between 0 and "
            f"{DAYS_PER_MONTH:.1f}"
        )
    p = p[np.isfinite(p)]
    return choose_threshold(np.zeros_like(p), p, "alert_budget", alert_budget=share)


def on_validation(y: np.ndarray, p: np.ndarray, thr: float) -> dict:
    """What p >= thr meant on validation: days a month, share of them peaks, peak days caught."""
    ok = np.isfinite(p)
    y, p = y[ok], p[ok]
    on = p >= thr
    labelled = np.isfinite(y)
    n_pos = float(np.nansum(y[labelled]))
    hits = float(np.sum(y[on & labelled]))
    return {
        "per_month": float(on.mean() * DAYS_PER_MONTH) if p.size else float("nan"),
        "ppv": hits / on[labelled].sum() if on[labelled].any() else float("nan"),
        "caught": hits / n_pos if n_pos else float("nan"),
    }


def _val_arrays(val: pl.DataFrame | None, h: int) -> tuple[np.ndarray, np.ndarray]:
    if val is None:
        return np.array([]), np.array([])
    sub = val.filter(pl.col("horizon") == h)
    y = sub["peak"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return y, sub["peak_prob"].cast(pl.Float64).fill_null(np.nan).to_numpy()


def _one_level(level: str, cfg: dict, fitted_thr: dict, y, p, h: int) -> tuple[float, str]:
    """(threshold, how it was set, in plain words) for one level and horizon."""
    rule = cfg.get(level, "budget")
    if rule == "budget" and np.isfinite(p).any():
        n = (cfg.get("budget") or DEFAULT_BUDGET).get(f"{level}_days_per_month")
        if n is None:
            raise ValueError(f"forecast.alert.budget.{level}_days_per_month is required")
        return budget_threshold(p, float(n)), f"at most {n:g} {level} days a month on validation"
    if rule == "fitted" and h in fitted_thr:
        return float(fitted_thr[h]), "the decision threshold chosen in training"
    if rule == "ppv" and np.isfinite(p).any():
        ppv = float(cfg.get("ppv", 0.5))
        t = ppv_threshold(y, p, ppv, int(cfg.get("min_alerts", 5)))
        if t is not None:
            return t, f"at least {100 * ppv:.0f} % of alert days were peaks on validation"
    if isinstance(rule, int | float) and not isinstance(rule, bool):
        return float(rule), f"a fixed probability of {100 * float(rule):.0f} %"
    fb = float(cfg.get(f"fallback_{level}", 0.5))
    log.warning("alert level %s, h=%d: rule %r not usable; fixed at %.2f", level, h, rule, fb)
    return fb, f"a fixed probability of {100 * fb:.0f} % (no validation data to set it)"


def level_thresholds(
    cfg: dict, fitted: dict, val: pl.DataFrame | None, horizon: int
) -> dict[int, dict]:
    """{h: {watch, alert, watch_rule, alert_rule, watch_val, alert_val}} per horizon."""
    out = {}
    fitted_thr = fitted.get("thresholds") or {}
    for h in range(1, horizon + 1):
        y, p = _val_arrays(val, h)
        watch, watch_rule = _one_level("watch", cfg, fitted_thr, y, p, h)
        alert, alert_rule = _one_level("alert", cfg, fitted_thr, y, p, h)
        if alert < watch:
            alert, alert_rule = watch, alert_rule + ", raised to the watch threshold"
        entry = {"watch": watch, "alert": alert, "watch_rule": watch_rule, "alert_rule": alert_rule}
        if np.isfinite(p).any():
            entry["watch_val"] = on_validation(y, p, watch)
            entry["alert_val"] = on_validation(y, p, alert)
        out[h] = entry
    return out


def level_of(p: float, thr: dict) -> str:
    if not np.isfinite(p):
        return "none"
    return "alert" if p >= thr["alert"] else "watch" if p >= thr["watch"] else "none"
