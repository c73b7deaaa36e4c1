"""Trial side of a sweep: reach the Optuna trial that the sweeper asked for this job.

The sweeper passes ``++optuna_trial={storage:...,study:...,number:N}`` to every job (see
:mod:`respicast.sweep.pruning` for the whole protocol). A job, possibly on another node through
submitit, turns that node back into a live :class:`optuna.Trial` with :func:`load_trial`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from respicast.run_dir import RunDir
from respicast.sweep.storage import open_storage

if TYPE_CHECKING:
    import optuna

# Study user attribute where the sweeper records its pruner config, so that trial processes
# judge `should_prune()` with the same pruner (load_study would default to MedianPruner).
PRUNER_ATTR = "respicast_pruner"
# Trial user attribute set by the trial side when it stopped because of pruning.
PRUNED_ATTR = "pruned_at_step"


@dataclass(frozen=True)
class TrialRef:
    storage: str
    study: str
    number: int

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | TrialRef) -> TrialRef:
        if isinstance(node, TrialRef):
            return node
        return cls(
            storage=str(node["storage"]), study=str(node["study"]), number=int(node["number"])
        )

    def as_override(self, key: str = "optuna_trial") -> str:
        # ++ adds or replaces: works whether the app declares `optuna_trial: null` or not.
        from respicast.sweep.search_space import format_value

        return (
            f"++{key}={{storage:{format_value(self.storage)},"
            f"study:{format_value(self.study)},number:{self.number}}}"
        )


def _pruner_from_attrs(attrs: Mapping[str, Any]) -> optuna.pruners.BasePruner | None:
    spec = attrs.get(PRUNER_ATTR)
    if not spec:
        return None
    target = str(spec.get("_target_", ""))
    # The storage may be shared; only build Optuna's own pruners from what it holds.
    if not target.startswith("optuna.pruners."):
        raise ValueError(f"refusing pruner target {target!r} read from the study")
    from hydra.utils import instantiate

    return instantiate(spec)


def load_trial(ref: Mapping[str, Any] | TrialRef) -> optuna.Trial:
    """The running :class:`optuna.Trial` named by ``ref`` (the ``optuna_trial`` config node)."""
    import optuna

    ref = TrialRef.from_config(ref)
    storage = open_storage(ref.storage)
    study_id = storage.get_study_id_from_name(ref.study)
    pruner = _pruner_from_attrs(storage.get_study_user_attrs(study_id))
    study = optuna.load_study(study_name=ref.study, storage=storage, pruner=pruner)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, ref.number)
    return optuna.trial.Trial(study, trial_id)


def requeued_checkpoint(output_dir: str | os.PathLike[str]) -> str | None:
    """``checkpoints/last.ckpt`` of this job's own run dir when SLURM restarted the job.

    A requeued array task (preemption, time limit, ``scontrol requeue``) reruns the same
    overrides in the same job dir; resuming from its last epoch keeps the trial's curve (epochs
    already reported to Optuna are not trained again). ``SLURM_RESTART_COUNT`` is set by SLURM
    from the first requeue on, so a fresh run never picks up a stray file.
    """
    if int(os.environ.get("SLURM_RESTART_COUNT") or 0) < 1:
        return None
    last = RunDir(Path(output_dir)).last_checkpoint
    return str(last) if last.is_file() else None
