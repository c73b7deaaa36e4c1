"""What every respicast app does before it touches data: the one set-up train and eval share."""

from __future__ import annotations

import os

from omegaconf import DictConfig


def setup_run(cfg: DictConfig) -> None:
    """Seed every generator (and dataloader workers), cap torch's CPU threads when
    ``torch_threads`` is set, and quiet W&B's own end-of-run summary."""
    # heavy imports here, not at module load: the apps' `--help` must start fast
    from lightning.pytorch import seed_everything

    seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        import torch

        torch.set_num_threads(int(cfg.torch_threads))
    # W&B prints its own run summary (hundreds of lines); our table is the summary
    os.environ.setdefault("WANDB_SILENT", "true")
