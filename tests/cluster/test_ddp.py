"""trainer=ddp on CPU: 2 gloo processes give the single-process metrics, one set of outputs.

Same windows per optimizer step: the single process (trainer=cpu) takes batches of 64; each of the
2 DDP processes takes 32 (``data.batch_size`` is per process). Our epoch-seeded sampler deals the
single run's shuffled order out (process r gets positions r, r+2, ...; trainer=ddp turns off
Lightning's DistributedSampler, which would shuffle that order again), so a step's 2 x 32 windows
are the single run's 64 and DDP averages the two gradients. Validation runs whole on each process,
so val/loss, early stopping, the plateau scheduler and the best checkpoint see what one process
sees. What still differs, hence a tolerance and not equality: the loss is normalized per process
(by the batch's mean level, the BCE averaged over its labelled rows: the mean of two half-batch
means is not the full-batch mean), and the gradient all-reduce sums in another order. Dropout
masks would be drawn per process, so dropout is off here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = [
    "data=chicago_nmmaps",
    "model=lstm",
    "model.net.dropout=0.0",  # dropout masks are drawn per process: keep training deterministic
    "model.past_dropout=0.0",
    "logger=none",
    "extras.print_config=false",
    "trainer.max_epochs=2",
    "+trainer.limit_train_batches=6",
    # whole validation: a batch limit would cut it at another size (batches are per process)
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
    "evaluation.calibration=none",
    "torch_threads=1",
]
# allowed |difference|: AUROC and Brier absolute, MAE relative (measured <= 0.0003, 0.0003, 0.2 %)
AUROC_TOL = 0.005
BRIER_TOL = 0.002
MAE_REL_TOL = 0.01


def _train(root: Path, name: str, *overrides: str) -> tuple[Path, str]:
    """Run respicast-train; returns the run dir and the console output of all its processes."""
    run_dir = root / name
    cmd = [str(Path(sys.executable).parent / "respicast-train"), *SMALL, *overrides]
    done = subprocess.run(
        [*cmd, f"hydra.run.dir={run_dir}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return run_dir, done.stdout + done.stderr


@pytest.mark.slow
def test_ddp_two_cpu_processes_match_one_and_write_one_run_dir(tmp_path):
    single, _ = _train(tmp_path, "single", "trainer=cpu", "data.batch_size=64")
    # gloo backend on CPU
    ddp, out = _train(
        tmp_path,
        "ddp",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "data.batch_size=32",
    )

    # both processes trained (rank 1 is a child with the same console); rank 0 alone wrote
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in out and "GLOBAL_RANK: 1, MEMBER: 2/2" in out
    assert out.count("wrote metrics.json, predictions.parquet") == 1, out[-3000:]
    assert out.count("test metrics") == 1  # one printed table
    for name in ("metrics.json", "predictions.parquet", "report.md", "checkpoints/last.ckpt"):
        assert (ddp / name).is_file(), name

    a = json.loads((single / "metrics.json").read_text())
    b = json.loads((ddp / "metrics.json").read_text())
    for h in (1, 3, 7):
        assert b[f"test/auroc_h{h}"] == pytest.approx(a[f"test/auroc_h{h}"], abs=AUROC_TOL)
        assert b[f"test/mae_h{h}"] == pytest.approx(a[f"test/mae_h{h}"], rel=MAE_REL_TOL)
        assert b[f"test/brier_h{h}"] == pytest.approx(a[f"test/brier_h{h}"], abs=BRIER_TOL)
    assert b["test/n_pos_h1"] == a["test/n_pos_h1"]  # same test windows scored


@pytest.mark.parametrize("n", [10, 11])
def test_sampler_deals_the_single_process_order_out(monkeypatch, n):
    """Per step, the batches of the 2 processes are the single-process batch (of twice the size)."""
    from respicast.dataset import datamodule

    def order(rank: int, world: int) -> list[int]:
        monkeypatch.setattr(datamodule, "_rank_and_world", lambda: (rank, world))
        sampler = datamodule.EpochSeededSampler(n, seed=3)
        sampler.set_epoch(2)
        out = list(sampler)
        assert len(out) == len(sampler)
        return out

    single = order(0, 1)
    shares = [order(0, 2), order(1, 2)]
    assert len(shares[0]) == len(shares[1]) == -(-n // 2)
    half = 2  # per-process batch
    for step in range(n // (2 * half)):  # the steps before the padded end
        dealt = (
            shares[0][step * half : (step + 1) * half] + shares[1][step * half : (step + 1) * half]
        )
        assert sorted(dealt) == sorted(single[step * 2 * half : (step + 1) * 2 * half])
    # every window is seen; an odd count is padded with the first one again
    assert sorted(set(shares[0] + shares[1])) == list(range(n))
    assert sorted(shares[0] + shares[1]) == sorted(single + single[: n % 2])
