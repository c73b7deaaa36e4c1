"""Peak-probability calibrators, fitted per horizon on the validation split.

Recalibration must never lower AUROC: every map here is strictly increasing in the raw
probability, so the ranking (and every ranking metric) of the test predictions is unchanged.
- ``platt``: sigmoid(a · logit(p) + b) with the slope a in ``SLOPE_BOUNDS`` (bounded away from 0:
  a validation period that ranks peaks backwards shrinks the probabilities, never flattens them);
- ``temperature``: sigmoid(logit(p) / T), 1/T in the same bounds;
- ``isotonic``: the isotonic fit, interpolated linearly between its blocks (not a step function);
- ``none``: the raw probabilities;
- ``auto`` (default): "none", or Platt when its log loss cross-validated on contiguous blocks of
  validation is lower than none's by more than ``AUTO_MARGIN_SE`` standard errors; "none" when validation has fewer than ``AUTO_MIN_POSITIVES``
  peaks (or negatives). The CV losses of every method are kept (``cv_log_loss``) and logged.

Floating point can merge values a fitted map pushes close to 0 or 1, so every fitted map is mixed
with ``MIX`` × p: outputs stay distinct for inputs that differ by more than ~1e-10.

Every calibrator is a plain picklable object with ``apply(probs) -> probs``; a
:class:`HorizonCalibrators` holds one per horizon so a forecast run can reuse what an evaluation
fitted (``calibrators.apply(probs, horizon)``); ``chosen`` and ``cv_log_loss`` say what auto picked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special
from sklearn.isotonic import IsotonicRegression

from respicast.evaluation.metrics import has_both_classes

log = logging.getLogger(__name__)

METHODS = ("auto", "none", "platt", "temperature", "isotonic")
FITTED = ("platt", "temperature", "isotonic")
SLOPE_BOUNDS = (0.2, 10.0)  # logit-scale slope of Platt and 1/T of temperature
MIX = 1e-6  # weight of the raw probability in every fitted map (keeps it strictly increasing)
AUTO_MIN_POSITIVES = 10  # below this many validation peaks, auto keeps the raw probabilities
# auto chooses between none and these. Platt only: on simulated worlds of seeds 7 and 11 (logistic
# and GLM, h1-h7, test years), picking among all three fits by CV gave test log loss .2605 and
# median |calibration slope - 1| .16, against .2591 and .08 for none-or-Platt (temperature cannot
# shift a biased model; isotonic overfits one validation period)
AUTO_CANDIDATES = ("platt",)
# auto takes the fit only when its CV log loss beats none's by more than this many standard errors
# of the per-block difference. Default world, 9-fold pooled backtest (refit GLM / climatology /
# logistic, AUROC h1): any improvement .746 / .610 / .647, > 2 SE .749 / .664 / .654, none .749 /
# .664 / .699 (scripts/bench_skill.py; per-fold maps that follow each validation year's base rate
# make the probabilities of different years incomparable)
AUTO_MARGIN_SE = 2.0
CV_FOLDS = 5  # contiguous blocks of the validation rows (time order) for auto's choice
_EPS = 1e-6  # clip for logits in the fits (raw 0/1 would be infinite)
_LOSS_CLIP = 1e-4  # clip for the log loss, so one overconfident row does not decide


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS))


def _mixed(mapped: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (1.0 - MIX) * mapped + MIX * p


def _logistic_nll(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


class Identity:
    name = "none"

    def fit(self, p: np.ndarray, y: np.ndarray) -> Identity:
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p, dtype=float)


class Platt:
    """sigmoid(a · logit(p) + b) by maximum likelihood, a in ``SLOPE_BOUNDS``."""

    name = "platt"

    def __init__(self) -> None:
        self.a, self.b = 1.0, 0.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> Platt:
        x = _logit(p)
        fit = optimize.minimize(
            lambda w: _logistic_nll(w[0] * x + w[1], y),
            np.array([1.0, 0.0]),
            method="L-BFGS-B",
            bounds=[SLOPE_BOUNDS, (None, None)],
        )
        self.a, self.b = float(fit.x[0]), float(fit.x[1])
        if self.a <= SLOPE_BOUNDS[0]:
            log.warning(
                "Platt calibration: validation barely ranks peaks (or ranks them backwards); "
                "slope held at its lower bound %.2g, so the ranking is kept",
                SLOPE_BOUNDS[0],
            )
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        # the same clipped logit as the fit; below the clip, the MIX term keeps values apart
        p = np.asarray(p, dtype=float)
        return _mixed(special.expit(self.a * _logit(p) + self.b), p)


class Temperature:
    """sigmoid(logit(p) / T): one parameter, keeps the 0.5 point; 1/T in ``SLOPE_BOUNDS``."""

    name = "temperature"

    def __init__(self) -> None:
        self.temperature = 1.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> Temperature:
        x = _logit(p)
        lo, hi = -np.log(SLOPE_BOUNDS[1]), -np.log(SLOPE_BOUNDS[0])
        res = optimize.minimize_scalar(
            lambda log_t: _logistic_nll(x / np.exp(log_t), y), bounds=(lo, hi), method="bounded"
        )
        self.temperature = float(np.exp(res.x))
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return _mixed(special.expit(_logit(p) / self.temperature), p)


class Isotonic:
    """Isotonic regression, interpolated linearly between the centres of its blocks.

    A plain isotonic fit is a step function: it ties distinct probabilities and so changes AUROC.
    Through the block centres (mean p of a block, its peak rate) the map rises between blocks;
    beyond the outer centres it is flat but for the ``MIX`` × p term.
    """

    name = "isotonic"

    def __init__(self) -> None:
        self.x_: np.ndarray = np.array([0.0, 1.0])
        self.y_: np.ndarray = np.array([0.0, 1.0])

    def fit(self, p: np.ndarray, y: np.ndarray) -> Isotonic:
        p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
        order = np.argsort(p, kind="stable")
        p, y = p[order], y[order]
        level = IsotonicRegression(y_min=0.0, y_max=1.0).fit(p, y).predict(p)
        # blocks: runs of equal fitted value (non-decreasing along sorted p)
        values, block = np.unique(level, return_inverse=True)
        self.x_ = np.bincount(block, weights=p) / np.bincount(block)
        self.y_ = values
        return self

    def apply(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return _mixed(np.interp(p, self.x_, self.y_), p)


_CLASSES = {c.name: c for c in (Identity, Platt, Temperature, Isotonic)}


def make_calibrator(method: str):
    if method not in _CLASSES:
        raise ValueError(
            f"evaluation.calibration: unknown method {method!r}; expected one of {METHODS}"
        )
    return _CLASSES[method]()


def log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row log loss, probabilities clipped to [``_LOSS_CLIP``, 1 − ``_LOSS_CLIP``]."""
    p = np.clip(np.asarray(p, dtype=float), _LOSS_CLIP, 1 - _LOSS_CLIP)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def cross_validated_loss(p: np.ndarray, y: np.ndarray, n_folds: int = CV_FOLDS) -> dict:
    """Mean log loss of each method on held-out contiguous blocks: {method: [loss per block]}.

    A method whose fit is impossible on some block's complement (a single class) is left out.
    """
    blocks = np.array_split(np.arange(p.size), n_folds)
    out: dict[str, list[float]] = {m: [] for m in ("none", *FITTED)}
    for held in blocks:
        rest = np.setdiff1d(np.arange(p.size), held)
        out["none"].append(float(np.mean(log_loss(y[held], p[held]))))
        for m in FITTED:
            if m not in out:
                continue
            if not has_both_classes(y[rest]):
                del out[m]
                continue
            cal = make_calibrator(m).fit(p[rest], y[rest])
            out[m].append(float(np.mean(log_loss(y[held], cal.apply(p[held])))))
    return out


def choose_method(p: np.ndarray, y: np.ndarray) -> tuple[str, dict[str, float], str]:
    """auto's pick among "none" and ``AUTO_CANDIDATES``: (method, mean CV log loss, why).

    Every fitted method's CV loss is computed and kept for the record; the pick is the lowest
    CV log loss among none and the candidates (out-of-sample, so a fit must earn its place).
    """
    n_pos = int(np.sum(y))
    if n_pos < AUTO_MIN_POSITIVES or n_pos > y.size - AUTO_MIN_POSITIVES:
        return "none", {}, f"{n_pos} peaks of {y.size} rows: too few to fit a calibrator"
    losses = cross_validated_loss(p, y)
    mean = {m: float(np.mean(v)) for m, v in losses.items()}
    best = min((m for m in AUTO_CANDIDATES if m in losses), key=mean.get, default="none")
    if best == "none":
        return "none", mean, "no calibrator could be fitted on every CV part"
    diff = np.asarray(losses[best]) - np.asarray(losses["none"])
    se = float(np.std(diff, ddof=1) / np.sqrt(diff.size))
    scores = ", ".join(f"{m} {v:.4f}" for m, v in mean.items())
    # a fit must earn its place by more than noise: one validation year's base rate moves Platt's
    # intercept, and a map that follows it lowers the pooled AUROC of later years
    pick = best if diff.mean() + AUTO_MARGIN_SE * se < 0 else "none"
    return pick, mean, f"CV log loss {scores}; {best} - none {diff.mean():+.4f} (SE {se:.4f})"


@dataclass
class HorizonCalibrators:
    """One fitted calibrator per horizon; horizons whose fit fell back to identity are listed.

    ``chosen[h]``: the calibrator in use at h (auto's pick, or the configured method);
    ``cv_log_loss[h]``: auto's cross-validated log loss by method.
    """

    method: str
    by_horizon: dict[int, object] = field(default_factory=dict)
    fallback_horizons: list[int] = field(default_factory=list)
    chosen: dict[int, str] = field(default_factory=dict)
    cv_log_loss: dict[int, dict[str, float]] = field(default_factory=dict)

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
    """Fit ``method`` per horizon (rows in time order); a single class on val keeps raw."""
    if method not in METHODS:
        raise ValueError(
            f"evaluation.calibration: unknown method {method!r}; expected one of {METHODS}"
        )
    result = HorizonCalibrators(method=method)
    for h, p in probs_by_h.items():
        p, y = np.asarray(p, dtype=float), np.asarray(labels_by_h[h], dtype=float)
        ok = np.isfinite(p) & np.isfinite(y)
        if not ok.all():
            log.warning(
                "calibration at h=%d: %d val row(s) without a finite p or label left out",
                h,
                int((~ok).sum()),
            )
            p, y = p[ok], y[ok]
        use = method
        if method == "auto":
            use, result.cv_log_loss[h], why = choose_method(p, y)
            log.info("calibration auto at h=%d: %s (%s)", h, use, why)
        elif method != "none" and not has_both_classes(y):
            log.warning(
                "calibration %s at h=%d: validation has %d positives of %d rows; keeping raw probabilities",
                method,
                h,
                int(np.sum(y)),
                y.size,
            )
            result.fallback_horizons.append(h)
            use = "none"
        result.by_horizon[h] = make_calibrator(use).fit(p, y)
        result.chosen[h] = use
    return result
