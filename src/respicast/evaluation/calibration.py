"""Peak-probability calibrators, fitted per horizon on the validation split.

Every calibrator is a plain picklable object with ``apply(probs) -> probs``; a
:class:`HorizonCalibrators` holds one per horizon so a forecast run can reuse what an
evaluation fitted (``calibrators.apply(probs, horizon)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special
from sklearn.isotonic import IsotonicRegression

from respicast.evaluation.metrics import has_both_classes

log = logging.getLogger(__name__)

METHODS = ("none", "platt", "temperature", "isotonic")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS))


class Identity:
    name = "none"

    def fit(self, p: np.ndarray, y: np.ndarray) -> Identity:
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p, dtype=float)


class Platt:
    """sigmoid(a * logit(p) + b), fitted by maximum likelihood without penalty, with a ≥ 0.

    A negative slope would reverse the model's ranking on the strength of one validation
    period (a mild epidemic year is enough): recalibration may shrink or shift, never invert.
    """

    name = "platt"

    def __init__(self) -> None:
        self.a, self.b = 1.0, 0.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> Platt:
        x = _logit(p)

        def nll(w: np.ndarray) -> float:
            z = w[0] * x + w[1]
            return float(np.sum(np.logaddexp(0.0, z) - y * z))

        fit = optimize.minimize(
            nll, np.array([1.0, 0.0]), method="L-BFGS-B", bounds=[(0.0, None), (None, None)]
        )
        self.a, self.b = fit.x
        if self.a == 0.0:
            log.warning("Platt calibration: validation ranks peaks backwards; slope held at 0")
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        return special.expit(self.a * _logit(p) + self.b)


class Temperature:
    """sigmoid(logit(p) / T): one parameter, keeps the ranking and the 0.5 point."""

    name = "temperature"

    def __init__(self) -> None:
        self.temperature = 1.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> Temperature:
        x = _logit(p)

        def nll(log_t: float) -> float:
            z = x / np.exp(log_t)
            return float(np.sum(np.logaddexp(0.0, z) - y * z))

        res = optimize.minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded")
        self.temperature = float(np.exp(res.x))
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        return special.expit(_logit(p) / self.temperature)


class Isotonic:
    """Monotone step function of p (can tie distinct probabilities, so AUROC may change)."""

    name = "isotonic"

    def __init__(self) -> None:
        self.model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")

    def fit(self, p: np.ndarray, y: np.ndarray) -> Isotonic:
        self.model.fit(np.asarray(p, dtype=float), np.asarray(y, dtype=float))
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(p, dtype=float))


_CLASSES = {c.name: c for c in (Identity, Platt, Temperature, Isotonic)}


def make_calibrator(method: str):
    if method not in _CLASSES:
        raise ValueError(
            f"evaluation.calibration: unknown method {method!r}; expected one of {METHODS}"
        )
    return _CLASSES[method]()


@dataclass
class HorizonCalibrators:
    """One fitted calibrator per horizon; horizons whose fit fell back to identity are listed."""

    method: str
    by_horizon: dict[int, object] = field(default_factory=dict)
    fallback_horizons: list[int] = field(default_factory=list)

    def apply(self, probs: np.ndarray, horizon: int) -> np.ndarray:
        if horizon not in self.by_horizon:
            raise KeyError(
                f"no calibrator for horizon {horizon} (fitted: {sorted(self.by_horizon)})"
            )
        probs = np.asarray(probs, dtype=float)
        out = np.full_like(probs, np.nan)
        ok = np.isfinite(probs)
        out[ok] = self.by_horizon[horizon].apply(probs[ok])
        return out


def fit_calibrators(
    probs_by_h: dict[int, np.ndarray], labels_by_h: dict[int, np.ndarray], method: str
) -> HorizonCalibrators:
    """Fit ``method`` per horizon; a horizon with a single class on val keeps the raw probabilities."""
    result = HorizonCalibrators(method=method)
    for h, p in probs_by_h.items():
        y = labels_by_h[h]
        if method != "none" and not has_both_classes(y):
            log.warning(
                "calibration %s at h=%d: validation has %d positives of %d rows; keeping raw probabilities",
                method,
                h,
                int(np.sum(y)),
                y.size,
            )
            result.by_horizon[h] = Identity()
            result.fallback_horizons.append(h)
            continue
        result.by_horizon[h] = make_calibrator(method).fit(p, y)
    return result
