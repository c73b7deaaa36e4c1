"""Callbacks of our own (the rest are Lightning's, instantiated from conf/callbacks/).

Exact resume from a kill at any epoch needs three things Lightning 2.6 does not give together:
``last.ckpt`` rewritten at every epoch end (``ModelCheckpoint(save_last=True)`` rewrites it only
when a top-k file is saved, so after the best epoch it goes stale), the best-so-far carried into a
new run dir (Lightning drops it when the dirpath changes), and per-step random state (StepSeed).
The plateau scheduler's half lives in ForecastModule.on_validation_end.
"""

from __future__ import annotations

import logging
import os
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only

from respicast.run_dir import LAST_CKPT, RunDir

log = logging.getLogger(__name__)


class StepSeed(pl.Callback):
    """Reseed torch before every training batch (dropout masks) from the global step.

    A run resumed from last.ckpt then replays exactly what the uninterrupted run did, whatever
    else consumed random numbers in between (data loader set-up, sanity checks).
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module, batch, batch_idx: int) -> None:
        torch.manual_seed(self.seed * 1_000_003 + trainer.global_step)


class LastCheckpoint(Checkpoint):
    """Rewrite ``last.ckpt`` at the end of every training epoch: the point a killed run resumes from.

    As a Checkpoint it runs after EarlyStopping and after the ModelCheckpoint callbacks listed
    before it, so the file holds their state for this epoch. It is written to a temporary file and
    renamed, so a kill during the write leaves the previous epoch's file whole. ``dirpath`` defaults
    to the first ModelCheckpoint's folder, else ``<trainer.default_root_dir>/checkpoints``.
    """

    def __init__(self, dirpath: str | None = None, filename: str = LAST_CKPT):
        self.dirpath, self.filename = dirpath, filename

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        checkpoints = trainer.checkpoint_callbacks
        if checkpoints[-1] is not self:
            raise ValueError(
                "callbacks: LastCheckpoint must come after every other checkpoint callback "
                f"(it saves their state), got the order {[type(c).__name__ for c in checkpoints]}"
            )
        if self.dirpath is None:
            models = [c for c in checkpoints if isinstance(c, ModelCheckpoint) and c.dirpath]
            root = RunDir(Path(trainer.default_root_dir)).checkpoints
            self.dirpath = models[0].dirpath if models else str(root)

    @property
    def path(self) -> Path:
        return Path(self.dirpath) / self.filename

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking:
            return
        partial = self.path.with_name(self.path.name + ".part")
        trainer.save_checkpoint(partial)
        if trainer.is_global_zero:
            os.replace(partial, self.path)
        trainer.strategy.barrier()


class ResumableCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint whose best-so-far survives a resume into another run dir.

    When the dirpath changes, Lightning keeps only ``best_model_path`` and forgets the best score
    and the top-k files: the resumed run's first epoch becomes "best" and the final restore loads
    another epoch. Here the top-k files are copied into the new dirpath and the whole state is
    reloaded as if the dir were the same. A file is looked for next to the checkpoint resumed
    from, then where the state says.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._trainer: Callable[[], pl.Trainer | None] = lambda: None

    @property
    def state_key(self) -> str:
        # Lightning's own key: checkpoints stay interchangeable with plain ModelCheckpoint ones,
        # and trained_run finds the best file under "ModelCheckpoint{...}"
        return super().state_key.replace(type(self).__qualname__, "ModelCheckpoint", 1)

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._trainer = weakref.ref(trainer)  # its ckpt_path is set only after setup

    @property
    def _resumed_from(self) -> str | None:
        trainer = self._trainer()
        return str(trainer.ckpt_path) if trainer and trainer.ckpt_path else None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old = state_dict.get("dirpath")
        if not old or self.dirpath is None or _same_path(old, self.dirpath):
            super().load_state_dict(state_dict)
            return
        keys = ("best_model_path", "kth_best_model_path", "last_model_path")
        named = [state_dict.get(k) or "" for k in keys] + list(state_dict.get("best_k_models", {}))
        moved = {p: self._adopt(p) for p in dict.fromkeys(named) if p}
        state = dict(state_dict, dirpath=self.dirpath)
        state.update({k: moved.get(state_dict.get(k) or "", "") for k in keys})
        state["best_k_models"] = {moved[p]: v for p, v in state_dict["best_k_models"].items()}
        super().load_state_dict(state)

    def _adopt(self, path: str) -> str:
        """Copy one checkpoint named in the resumed state into this run's dirpath."""
        # next to the checkpoint resumed from first: that is the same run's file even if its run
        # dir was moved and another run now sits at the old path
        here = [Path(self._resumed_from).parent / Path(path).name] if self._resumed_from else []
        found = [p for p in [*here, Path(path)] if p.exists()]
        if not found:
            raise FileNotFoundError(
                f"resuming from {self._resumed_from}: its ModelCheckpoint(monitor={self.monitor!r}) "
                f"state names {path}, which is missing (also next to the checkpoint resumed from); "
                "the best-so-far cannot be carried into the new run dir without it"
            )
        src = found[0]
        dst = Path(self.dirpath) / src.name
        if not _same_path(src, dst) and rank_zero_only.rank == 0:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            log.info("resume into a new run dir: copied %s to %s", src, dst)
        return str(dst)


def _same_path(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


class LearningRates(pl.Callback):
    """The learning rate each training epoch ran with (what a refit replays)."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, float] = {}

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        self.by_epoch[trainer.current_epoch] = float(trainer.optimizers[0].param_groups[0]["lr"])

    # saved in checkpoints, so a resumed run replays the rates of the epochs it did not run
    def state_dict(self) -> dict[str, Any]:
        return {"by_epoch": dict(self.by_epoch)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.by_epoch = {int(k): float(v) for k, v in state_dict.get("by_epoch", {}).items()}

    def schedule(self, epochs: int) -> list[float]:
        """Rates of epochs 0..epochs-1; epochs a resumed run did not see take the next known."""
        known = sorted(self.by_epoch)
        return [self.by_epoch[next((k for k in known if k >= e), known[-1])] for e in range(epochs)]


class ReplayLearningRates(pl.Callback):
    """Set each epoch's learning rate from a recorded list (the last one beyond its end)."""

    def __init__(self, values: list[float]):
        self.values = list(values)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        if not self.values:
            return
        lr = self.values[min(trainer.current_epoch, len(self.values) - 1)]
        for group in trainer.optimizers[0].param_groups:
            group["lr"] = lr
