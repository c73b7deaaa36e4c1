"""Number formatting and metric metadata shared by the run report and the comparison table."""

from __future__ import annotations

import math

# which way is better, for the "best" mark; metrics absent here are never marked
HIGHER_IS_BETTER = {"auroc", "auprc", "bss", "sensitivity", "specificity", "ppv"}
LOWER_IS_BETTER = {"brier", "ece", "mae", "mase", "poisson_deviance", "wis", "crps", "logscore"}
LABELS = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "brier": "Brier",
    "bss": "BSS",
    "ece": "ECE",
    "sensitivity": "sens.",
    "specificity": "spec.",
    "ppv": "PPV",
    "mae": "MAE",
    "mase": "MASE",
    "poisson_deviance": "Poisson dev.",
    "wis": "WIS",
    "wis_dispersion": "WIS disp.",
    "wis_overprediction": "WIS over",
    "wis_underprediction": "WIS under",
    "crps": "CRPS",
    "logscore": "log score",
    "cover50": "cover 50%",
    "cover80": "cover 80%",
    "cover95": "cover 95%",
    "cover50_expected": "exp. 50%",
    "cover80_expected": "exp. 80%",
    "cover95_expected": "exp. 95%",
    "pit_cover50": "rand. 50%",
    "pit_cover80": "rand. 80%",
    "pit_cover95": "rand. 95%",
}


def is_number(v) -> bool:
    return isinstance(v, int | float) and not math.isnan(v)


def as_float(v) -> float:
    """metrics.json stores NaN as null."""
    return float(v) if v is not None else float("nan")


def fmt(v, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if is_number(v) else "—"


def fmt_ci(v, lo, hi, digits: int = 3) -> str:
    if not is_number(v):
        return "—"
    if is_number(lo) and is_number(hi):
        return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{v:.{digits}f}"


def oracle_skill_fraction(auc: float, auc_oracle: float) -> float:
    """(AUC − 0.5) / (AUC_oracle − 0.5): the share of the attainable ranking skill reached."""
    if not (is_number(auc) and is_number(auc_oracle)) or auc_oracle <= 0.5:
        return float("nan")
    return (auc - 0.5) / (auc_oracle - 0.5)


def metric_triplet(metrics: dict, key: str) -> tuple[float, float, float]:
    """(value, lo, hi) for a flat key such as ``test/auroc_h1``."""
    return tuple(as_float(metrics.get(k)) for k in (key, key + "_lo", key + "_hi"))
