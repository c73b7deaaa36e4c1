"""Lightning callback reporting the validation curve to the trial's Optuna study.

Sweep protocol (sweeper ``hydra/sweeper=respicast_optuna`` <-> trial process)
-----------------------------------------------------------------------------
1. The sweeper asks Optuna for a trial, then launches the job with the sampled parameters as
   overrides plus ``++optuna_trial={storage:<url>,study:<name>,number:<n>}``. The storage URL is
   absolute, so the job can run in another directory or on another node (submitit).
2. The app, when ``cfg.optuna_trial`` is set, builds ``OptunaPruning(cfg.optuna_trial,
   monitor=cfg.optimized_metric)`` and adds it to the Trainer. Each validation epoch, rank 0
   reports the monitored value (step = epoch) and asks the pruner; if the trial should be
   pruned, the callback records the user attribute ``pruned_at_step`` and sets
   ``trainer.should_stop`` so fit ends cleanly (checkpoints and loggers close normally).
3. After ``trainer.fit``, the app calls ``pruning.raise_if_pruned()``, which raises
   :class:`optuna.TrialPruned`; the app lets it propagate (Hydra stores it in the job's return).
   Otherwise the app returns the optimized metric as a float.
4. The sweeper alone finishes trials (``study.tell``): a job that raised ``TrialPruned`` or whose
   trial carries ``pruned_at_step`` -> PRUNED (even if the app returned NaN instead of raising);
   any other exception, or a return value that is not a finite number (NaN, inf, None) -> FAIL
   with the reason in the trial's ``fail_reason`` user attribute; a finite float -> COMPLETE.
   A trial the job already finished itself is left as it is.
5. A trial still RUNNING when its sweep was killed is marked FAIL (``fail_reason: stale``) by
   the next run of the same command, which then runs the missing trials. COMPLETE and PRUNED
   trials count toward ``n_trials``; FAIL ones do not (they are re-run, up to ``max_failures``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl

from respicast.sweep.trial import PRUNED_ATTR, TrialRef, load_trial

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


class OptunaPruning(pl.Callback):
    """Report ``monitor`` after each validation epoch and stop training when pruned."""

    def __init__(self, trial: optuna.Trial | TrialRef | Mapping[str, Any], monitor: str) -> None:
        super().__init__()
        self._trial_or_ref = trial
        self._trial: optuna.Trial | None = None
        self.monitor = monitor
        self.pruned_at: int | None = None
        self._last_step: int | None = None
        self._warned_missing = False

    @property
    def trial(self) -> optuna.Trial:
        # Opened lazily and only on rank 0: other DDP ranks never touch the storage.
        if self._trial is None:
            import optuna

            obj = self._trial_or_ref
            self._trial = obj if isinstance(obj, optuna.Trial) else load_trial(obj)
        return self._trial

    def _report(self, trainer: pl.Trainer) -> bool:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            if not self._warned_missing:
                log.warning("OptunaPruning: metric %r not logged; nothing reported", self.monitor)
                self._warned_missing = True
            return False
        step = trainer.current_epoch
        value = float(value)
        if step == self._last_step or not math.isfinite(value):
            return False  # one report per epoch; NaN/inf is left for the app to return (-> FAIL)
        self._last_step = step
        self.trial.report(value, step=step)
        if self.trial.should_prune():
            self.trial.set_user_attr(PRUNED_ATTR, step)
            return True
        return False

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        prune = self._report(trainer) if trainer.is_global_zero else False
        prune = bool(trainer.strategy.broadcast(prune, src=0))
        if prune:
            self.pruned_at = trainer.current_epoch
            log.info("Optuna pruned this trial at epoch %d", self.pruned_at)
            trainer.should_stop = True

    def raise_if_pruned(self) -> None:
        """Raise :class:`optuna.TrialPruned` if training was stopped by the pruner."""
        if self.pruned_at is not None:
            import optuna

            raise optuna.TrialPruned(f"pruned at epoch {self.pruned_at}")
