"""Callbacks of our own (the rest are Lightning's, instantiated from conf/callbacks/)."""

from __future__ import annotations

import lightning.pytorch as pl
import torch


class EpochSeed(pl.Callback):
    """Reseed torch at every epoch start (dropout, initial states), so a run resumed from the
    end-of-epoch checkpoint replays exactly what the uninterrupted run did."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        torch.manual_seed(self.seed + trainer.current_epoch)
