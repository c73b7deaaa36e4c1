"""trainer=gpu: bf16 mixed precision and a DataLoader set up for a GPU (checked on CPU)."""

from __future__ import annotations

import hydra
import pytest

from respicast.dataset.datamodule import WindowDataModule


def test_gpu_preset_sets_bf16_and_gpu_loader_keys(compose_app, tmp_path):
    gpu = compose_app("train", tmp_path, ["trainer=gpu"])
    assert gpu.trainer.accelerator == "gpu" and gpu.trainer.precision == "bf16-mixed"
    assert gpu.trainer.max_epochs == compose_app("train", tmp_path, []).trainer.max_epochs
    assert gpu.data.pin_memory and gpu.data.persistent_workers and gpu.data.num_workers == 4
    # the command line still wins over the preset
    few = compose_app("train", tmp_path, ["trainer=gpu", "data.num_workers=1"])
    assert few.data.num_workers == 1
    cpu = compose_app("train", tmp_path, ["trainer=cpu"])
    assert "pin_memory" not in cpu.data and "precision" not in cpu.trainer
    # a valid Trainer config (on a CPU machine: bf16-mixed exists on CPU too)
    trainer = hydra.utils.instantiate(gpu.trainer, accelerator="cpu", logger=False)
    assert trainer.precision == "bf16-mixed"


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_reads_pin_memory_and_persistent_workers(data_cfg, table, workers):
    cfg = {**data_cfg, "pin_memory": True, "persistent_workers": True, "num_workers": workers}
    dm = WindowDataModule(cfg, table=table, seed=0)
    dm.setup()
    loader = dm.train_dataloader()
    assert loader.pin_memory and loader.num_workers == workers
    # persistent workers need workers: with none, the key is ignored instead of an error
    assert loader.persistent_workers == (workers > 0)
    plain = WindowDataModule(data_cfg, table=table, seed=0)
    plain.setup()
    assert not plain.val_dataloader().pin_memory
