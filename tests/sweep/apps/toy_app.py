"""Toy Hydra app swept by tests/sweep: objective -(x-2)^2 - y, with failure modes."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig


def _report_curve(cfg: DictConfig, final: float) -> float:
    """Report a curve converging to `final`; prune when the pruner says so."""
    import optuna

    from respicast.sweep import load_trial
    from respicast.sweep.trial import PRUNED_ATTR

    trial = load_trial(cfg.optuna_trial)
    for step in range(8):
        trial.report(final * (1 + 1 / (step + 1)), step=step)
        if trial.should_prune():
            if cfg.mode == "report_nan":  # an app that returns NaN instead of raising
                trial.set_user_attr(PRUNED_ATTR, step)
                return math.nan
            raise optuna.TrialPruned()
    return final


@hydra.main(version_base="1.3", config_path="conf", config_name="toy")
def main(cfg: DictConfig) -> float:
    time.sleep(cfg.sleep_s)
    value = -((cfg.x - 2.0) ** 2) - cfg.y
    if cfg.mode == "raise" and cfg.x > cfg.threshold:
        raise ValueError(f"x={cfg.x} too large")
    if cfg.mode == "return_nan" and cfg.x > cfg.threshold:
        return math.nan
    if cfg.mode == "kill" and cfg.optuna_trial.number == cfg.kill_at:
        marker = Path(cfg.kill_marker)
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # a sweep killed mid-trial (node loss, OOM)
    if cfg.mode in ("report", "report_nan"):
        return _report_curve(cfg, value)
    return value


if __name__ == "__main__":
    main()
