"""Training overhead of respicast (Lightning Trainer + our module/datamodule) vs a bare PyTorch loop.

Same net, same windows, same loss, same batches; validation switched off in both so only the
training loop is compared. Prints seconds per epoch and the ratio (goal ≤ 1.15).

    python scripts/bench_training.py [--data chicago_nmmaps] [--epochs 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import functools
import time

import lightning.pytorch as pl
import numpy as np
import torch
from hydra import compose, initialize_config_dir

from respicast.cli import CONFIG_DIR
from respicast.dataset.datamodule import WindowDataModule
from respicast.models.module import ForecastModule
from respicast.models.nets.lstm import LSTMNet
from respicast.models.nets.tcn import TCNNet


def make_module(net_cls, dims, seed: int) -> ForecastModule:
    torch.manual_seed(seed)
    return ForecastModule(
        net=functools.partial(net_cls),
        dims=dims,
        optimizer=functools.partial(torch.optim.AdamW, lr=2e-3),
    )


def respicast_epochs(net_cls, dm, epochs: int) -> list[float]:
    times: list[float] = []

    class Clock(pl.Callback):
        def on_train_epoch_start(self, *_):
            self.t = time.perf_counter()

        def on_train_epoch_end(self, *_):
            times.append(time.perf_counter() - self.t)

    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[Clock()],
        deterministic=True,
        gradient_clip_val=1.0,
    )
    trainer.fit(make_module(net_cls, dm.dims, 0), train_dataloaders=dm.train_dataloader())
    return times


def bare_epochs(net_cls, dm, epochs: int) -> list[float]:
    model = make_module(net_cls, dm.dims, 0)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    loader = dm.train_dataloader()
    times = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        t = time.perf_counter()
        model.train()
        for batch in loader:
            loss, _, _ = model._loss(batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="chicago_nmmaps")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[f"data={args.data}", "paths.root_dir=."])
    dm = WindowDataModule(cfg.data, seed=0)
    dm.setup()
    print(
        f"data={args.data}: {len(dm.part('train'))} training windows, dims {dm.dims}, torch threads {args.threads}"
    )
    for name, net_cls in (("lstm", LSTMNet), ("tcn", TCNNet)):
        ours, bare = [], []
        for _ in range(args.repeats):  # interleaved, so machine load hits both alike
            ours += respicast_epochs(net_cls, dm, args.epochs)[1:]  # first epoch warms up
            bare += bare_epochs(net_cls, dm, args.epochs)[1:]
        o, b = float(np.median(ours)), float(np.median(bare))
        print(
            f"{name:5s} respicast {o:.3f} s/epoch   bare PyTorch {b:.3f} s/epoch   ratio {o / b:.3f}"
        )


if __name__ == "__main__":
    main()
