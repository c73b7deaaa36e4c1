"""Callbacks of our own (the rest are Lightning's, instantiated from conf/callbacks/)."""

from __future__ import annotations

import lightning.pytorch as pl
import torch


class StepSeed(pl.Callback):
    """Reseed torch before every training batch (dropout masks) from the global step.

    A run resumed from last.ckpt then replays exactly what the uninterrupted run did, whatever
    else consumed random numbers in between (data loader set-up, sanity checks).
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module, batch, batch_idx: int) -> None:
        torch.manual_seed(self.seed * 1_000_003 + trainer.global_step)
