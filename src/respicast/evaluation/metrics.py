"""Per-horizon metrics on one set of predictions (numpy in, floats out).

Classification metrics take labels ``y`` (0/1) and peak probabilities ``p``; count metrics take
observed and predicted counts. torchmetrics computes the metrics it has (AUROC, average precision,
confusion matrix, MAE, Poisson deviance as Tweedie power 1); ECE and the logistic recalibration
are computed here because torchmetrics only bins by equal width and has no recalibration fit.
An undefined value (no positive, no alert, ...) is NaN, never a made-up 0.5.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import optimize, special
from torchmetrics.functional import mean_absolute_error, tweedie_deviance_score
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_average_precision,
    binary_confusion_matrix,
)

# probabilities are clipped before a logit so a 0 or 1 does not give an infinite slope
_EPS = 1e-6


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(
        np.asarray(x), dtype=torch.float64
    )  # copy: arrow-backed arrays are read-only


def has_both_classes(y: np.ndarray) -> bool:
    return y.size > 0 and 0 < int(np.sum(y)) < y.size


def auroc(y: np.ndarray, p: np.ndarray) -> float:
    if not has_both_classes(y):
        return float("nan")
    return float(binary_auroc(_t(p), torch.tensor(y, dtype=torch.long), validate_args=False))


def auprc(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision (step-wise area under the precision-recall curve)."""
    if not has_both_classes(y):
        return float("nan")
    y_t = torch.tensor(y, dtype=torch.long)
    return float(binary_average_precision(_t(p), y_t, validate_args=False))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    if y.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def brier_skill(y: np.ndarray, p: np.ndarray, reference_prob: float) -> float:
    """1 - Brier / Brier of always forecasting the climatological peak frequency."""
    ref = brier(y, np.full_like(p, reference_prob, dtype=float))
    if not np.isfinite(ref) or ref == 0:
        return float("nan")
    return 1.0 - brier(y, p) / ref


def ece_equal_frequency(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` bins holding (almost) the same number of rows.

    Rows are sorted by probability and cut into consecutive groups, so each bin holds
    len // n_bins or that + 1 rows; ECE = sum_b n_b / N * |mean(p_b) - mean(y_b)|.
    """
    if y.size == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(n_bins, y.size))
    return float(sum(len(b) / y.size * abs(p[b].mean() - y[b].mean()) for b in bins))


def reliability_bins(
    y: np.ndarray, p: np.ndarray, n_bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed frequency, count) per equal-frequency bin, as used by the ECE."""
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(n_bins, max(y.size, 1)))
    return [(float(p[b].mean()), float(y[b].mean()), len(b)) for b in bins if len(b)]


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, _EPS, 1 - _EPS))


def _logistic_nll(params: np.ndarray, x: np.ndarray, y: np.ndarray, offset: np.ndarray) -> float:
    z = offset + params[0] + (params[1] * x if params.size > 1 else 0.0)
    # log(1 + e^z) - y z, written with logaddexp for stability
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


def calibration_intercept_slope(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Logistic recalibration of the outcome on logit(p).

    slope: b in logit P(y=1) = a + b logit(p) (1 = ideal, < 1 = too extreme).
    intercept: calibration-in-the-large, a in logit P(y=1) = a + logit(p) with the slope fixed
    at 1 (0 = ideal, > 0 = probabilities too low on average).
    """
    if not has_both_classes(y):
        return float("nan"), float("nan")
    lp = _logit(p)
    zero = np.zeros_like(lp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit_slope = optimize.minimize(
            _logistic_nll, np.array([0.0, 1.0]), args=(lp, y, zero), method="BFGS"
        )
        fit_int = optimize.minimize(_logistic_nll, np.array([0.0]), args=(lp, y, lp), method="BFGS")
    return float(fit_int.x[0]), float(fit_slope.x[1])


def confusion_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Confusion counts and rates when an alert is raised for p >= threshold."""
    if y.size == 0:
        nan = float("nan")
        return dict(tp=nan, fp=nan, tn=nan, fn=nan, sensitivity=nan, specificity=nan, ppv=nan)
    alerts = torch.tensor(p >= threshold, dtype=torch.long)
    cm = binary_confusion_matrix(alerts, torch.tensor(y, dtype=torch.long), validate_args=False)
    tn, fp, fn, tp = (float(v) for v in cm.flatten())
    return dict(
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        sensitivity=tp / (tp + fn) if tp + fn else float("nan"),
        specificity=tn / (tn + fp) if tn + fp else float("nan"),
        ppv=tp / (tp + fp) if tp + fp else float("nan"),
    )


def mae(observed: np.ndarray, predicted: np.ndarray) -> float:
    if observed.size == 0:
        return float("nan")
    return float(mean_absolute_error(_t(predicted), _t(observed)))


def poisson_deviance(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Mean Poisson deviance 2 (y log(y/mu) - y + mu); mu is floored at 1e-9 (log of 0)."""
    if observed.size == 0:
        return float("nan")
    mu = _t(np.clip(predicted, 1e-9, None))
    return float(tweedie_deviance_score(mu, _t(observed), power=1.0))
