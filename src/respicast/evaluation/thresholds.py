"""Decision thresholds on the (calibrated) peak probability, chosen on validation.

An alert is raised when p >= threshold. Rules:
- ``youden``: maximise sensitivity + specificity - 1;
- ``target_sensitivity``: the highest threshold whose sensitivity reaches the target (fewest
  false alerts at that sensitivity);
- ``alert_budget``: the lowest threshold that alerts on at most that fraction of days.
"""

from __future__ import annotations

import logging

import numpy as np

from respicast.evaluation.metrics import has_both_classes

log = logging.getLogger(__name__)

RULES = ("youden", "target_sensitivity", "alert_budget")
# used when a label-based rule has no positive or no negative to work from
FALLBACK_THRESHOLD = 0.5


def _candidate_rates(y: np.ndarray, p: np.ndarray):
    """Distinct thresholds (descending) with sensitivity and specificity for p >= threshold."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last_of_value = np.r_[np.diff(ps) != 0, True]
    tp = np.cumsum(ys)[last_of_value]
    fp = np.cumsum(1 - ys)[last_of_value]
    n_pos, n_neg = ys.sum(), ys.size - ys.sum()
    return ps[last_of_value], tp / n_pos, 1 - fp / n_neg


def choose_threshold(
    y: np.ndarray,
    p: np.ndarray,
    rule: str,
    *,
    target_sensitivity: float = 0.8,
    alert_budget: float = 0.1,
) -> float:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if rule not in RULES:
        raise ValueError(
            f"evaluation.decision.rule: unknown rule {rule!r}; expected one of {RULES}"
        )
    if rule == "alert_budget":
        if not 0 < alert_budget < 1:
            raise ValueError(
                f"evaluation.decision.alert_budget must be in (0, 1), got {alert_budget}"
            )
        if p.size == 0:
            return FALLBACK_THRESHOLD
        values = np.sort(np.unique(p))[::-1]
        alerted = np.array([np.mean(p >= v) for v in values])
        within = values[alerted <= alert_budget]
        # nothing fits the budget (top value is too frequent): alert on nothing
        return float(within[-1]) if within.size else float(np.nextafter(values[0], np.inf))
    if not has_both_classes(y):
        log.warning(
            "decision rule %s needs positives and negatives on validation (%d of %d positive); "
            "using threshold %.2f",
            rule,
            int(y.sum()),
            y.size,
            FALLBACK_THRESHOLD,
        )
        return FALLBACK_THRESHOLD
    thr, sens, spec = _candidate_rates(y, p)
    if rule == "youden":
        return float(thr[np.argmax(sens + spec - 1)])
    reached = np.flatnonzero(sens >= target_sensitivity)
    return float(thr[reached[0]])
