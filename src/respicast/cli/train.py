"""respicast-train: data → model → fit → test → run files. Returns the optimized metric."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from respicast.cli import CONFIG_DIR

log = logging.getLogger(__name__)


def _pruning_callbacks(cfg: DictConfig) -> list:
    if not cfg.get("optuna_trial"):
        return []
    from respicast.sweep import OptunaPruning

    return [OptunaPruning(cfg.optuna_trial, monitor=cfg.optimized_metric)]


def _requeued_checkpoint(out_dir: Path) -> str | None:
    from respicast.sweep.trial import requeued_checkpoint

    ckpt = requeued_checkpoint(out_dir)
    if ckpt:
        restarts = os.environ.get("SLURM_RESTART_COUNT")
        log.info("SLURM requeued this job (restart %s): resuming from %s", restarts, ckpt)
    return ckpt


def _is_global_zero() -> bool:
    # set by the Lightning strategy from the process's global rank; 0 outside DDP
    from lightning.pytorch.utilities import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, evaluate on the held-out later period, write the run files; return all metrics."""
    # heavy imports here, not at module load: `respicast-train --help` must start fast
    from respicast.dataset.panel_datamodule import make_datamodule
    from respicast.run_outputs import evaluate_run
    from respicast.training import fit_and_predict
    from respicast.utils.setup import setup_run
    from respicast.utils.tracking import close_loggers, start_loggers

    setup_run(cfg)
    out_dir = Path(cfg.paths.output_dir)
    dm = make_datamodule(cfg.data, seed=cfg.seed)
    dm.setup()
    loggers = start_loggers(cfg)
    status = "failed"
    try:
        model, preds = fit_and_predict(
            cfg,
            dm,
            loggers=loggers,
            extra_callbacks=_pruning_callbacks(cfg),
            ckpt_path=cfg.get("ckpt_path") or _requeued_checkpoint(out_dir),
        )
        if not _is_global_zero():  # DDP: rank 0 alone predicts, scores and writes the run dir
            status = "success"
            return {}
        metrics = evaluate_run(cfg, dm, preds, out_dir, loggers=loggers, model=model)
        status = "success"
    except Exception as e:
        if type(e).__name__ == "TrialPruned":  # Optuna stopped it: not a failed run
            status = "pruned"
        raise
    finally:
        close_loggers(loggers, status)
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    from respicast.utils.run_files import apply_extras

    apply_extras(cfg)
    metrics = train(cfg)
    if not _is_global_zero():
        return None  # rank 0 returns the optimized metric
    value = metrics.get(cfg.optimized_metric) if cfg.get("optimized_metric") else None
    if cfg.get("optimized_metric") and value is None:
        raise KeyError(
            f"optimized_metric={cfg.optimized_metric!r} is not among the run's metrics "
            f"(e.g. {sorted(metrics)[:5]})"
        )
    return None if value is None else float(value) if not math.isnan(value) else float("nan")


if __name__ == "__main__":
    main()
