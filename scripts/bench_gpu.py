"""Time the trials of a small Optuna sweep on CPU (trainer=cpu) and on GPU (trainer=gpu).

Both sweeps run the same command but for the trainer preset, with the same sampler seed, so the
trials draw the same hyper-parameters on each device. Each trial's time is Optuna's start-to-end
of the trial (data loading, training, evaluation); the sweep's wall time includes start-up.
Without a CUDA device it says so and times the CPU sweep only.

    python scripts/bench_gpu.py [--model tcn] [--trials 3] [--epochs 3] [--data chicago_nmmaps] \
        [override ...]      # e.g. data.batch_size=256, passed to both sweeps
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def gpu_status() -> tuple[bool, str]:
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        bf16 = torch.cuda.is_bf16_supported()
        return True, f"GPU: {name} (CUDA {torch.version.cuda}, bf16 {'yes' if bf16 else 'no'})"
    built = torch.version.cuda or "none (CPU-only build)"
    return False, f"no GPU: torch {torch.__version__} sees no CUDA device (built for CUDA {built})"


def sweep(device: str, root: Path, args: argparse.Namespace) -> tuple[float, list[float], int]:
    """Run the sweep with trainer=<device>; returns wall seconds, per-trial seconds, trials done."""
    import optuna

    sweep_dir = root / device
    cmd = [
        str(Path(sys.executable).parent / "respicast-train"),
        "-m",
        f"hparams_search={args.model}_optuna",
        f"trainer={device}",
        f"data={args.data}",
        f"hydra.sweeper.n_trials={args.trials}",
        "hydra.sweeper.sampler.seed=0",
        "hydra/sweeper/pruner=none",  # same work on both devices
        f"hydra.sweep.dir={sweep_dir}",
        f"trainer.max_epochs={args.epochs}",
        "callbacks.early_stopping.patience=1000",
        "logger=none",
        "extras.print_config=false",
        "+trainer.enable_progress_bar=false",
        "evaluation.bootstrap.n=0",
        f"torch_threads={args.threads}",
        *args.overrides,
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{device} sweep failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    study = optuna.load_study(
        study_name=f"{args.model}_optuna", storage=f"sqlite:///{sweep_dir}/optuna.db"
    )
    trials = [t for t in study.trials if t.state.name == "COMPLETE"]
    for t in study.trials:
        if t.state.name != "COMPLETE":
            reason = t.user_attrs.get("fail_reason", "")[-500:]
            print(f"{device} trial {t.number} {t.state.name}: {reason}", file=sys.stderr)
    seconds = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    return wall, seconds, len(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tcn", help="hparams_search=<model>_optuna")
    parser.add_argument("--data", default="chicago_nmmaps")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for both sweeps")
    args = parser.parse_args()

    has_gpu, status = gpu_status()
    print(status)
    devices = ["cpu", "gpu"] if has_gpu else ["cpu"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        for device in devices:
            wall, seconds, n = sweep(device, Path(tmp), args)
            rows.append((device, n, wall, sum(seconds) / max(n, 1)))
    print(f"{args.model}_optuna on {args.data}: {args.trials} trials x {args.epochs} epochs")
    print(f"{'trainer':8} {'trials':>6} {'sweep s':>9} {'s/trial':>8}")
    for device, n, wall, per in rows:
        print(f"{device:8} {n:6d} {wall:9.1f} {per:8.1f}")
    if has_gpu:
        print(f"GPU speed-up per trial: {rows[0][3] / rows[1][3]:.2f}x")
    else:
        print("GPU not timed (no GPU on this machine)")


if __name__ == "__main__":
    main()
