"""Metrics, calibration, decision thresholds and plots for a predictions frame (architecture §5)."""

from respicast.evaluation.calibration import HorizonCalibrators
from respicast.evaluation.evaluate import EvaluationResult, evaluate_predictions

__all__ = ["EvaluationResult", "HorizonCalibrators", "evaluate_predictions"]
