"""An Optuna sweep run as real SLURM array jobs on a single-node cluster, one task requeued."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

N_TRIALS = 3
MAX_EPOCHS = 4
REQUEUED = 0  # the array task (= trial number, first batch) requeued once it has a checkpoint


def sweep_command(sweep_dir: Path, storage: str) -> list[str]:
    """README "On a SLURM cluster", with a CPU node's resources and tiny data and training."""
    venv = Path(sys.executable).parent
    return [
        str(venv / "respicast-train"),
        "-m",
        "hparams_search=tcn_optuna",
        "trainer=cpu",
        "hydra/launcher=slurm",
        "hydra.launcher.partition=debug",
        f"hydra.sweeper.n_jobs={N_TRIALS}",
        f'hydra.launcher.setup=["source {venv / "activate"}"]',
        f"hydra.sweeper.storage='{storage}'",
        # this node has no GPU and 2 CPUs; a trial is seconds of training
        "hydra.launcher.gpus_per_task=null",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=30",
        f"hydra.sweeper.n_trials={N_TRIALS}",
        f"hydra.sweep.dir={sweep_dir}",
        "data=chicago_nmmaps",
        "logger=none",
        "extras.print_config=false",
        f"trainer.max_epochs={MAX_EPOCHS}",
        "+trainer.limit_train_batches=8",
        "+trainer.limit_val_batches=3",
        "+trainer.enable_progress_bar=false",
        "callbacks.early_stopping.patience=100",  # every trial trains all epochs
        "evaluation.bootstrap.n=0",
        "torch_threads=1",
    ]


def _start_now_when_pending(slurm, job: str, timeout: float = 60) -> None:
    """Slurm holds a requeued job for about two minutes (reason BeginTime); let it start now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [j["State"] for j in slurm.squeue() if j["JobID"] == job]
        if states == ["PENDING"]:
            cmd = ["scontrol", "update", f"JobId={job}", "StartTime=now"]
            subprocess.run(cmd, env=slurm.env, check=True, timeout=60)
            return
        time.sleep(0.5)
    pytest.fail(f"{job} never PENDING after its requeue: {slurm.squeue()}")


def _wait_until_ended(slurm, array_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(j["ArrayJobID"] == array_id for j in slurm.squeue()):
        if time.monotonic() > deadline:
            pytest.fail(f"array {array_id} still queued {timeout} s after the sweep")
        time.sleep(0.5)


def _requeue_when_checkpointed(slurm, sweep_dir: Path, proc, timeout: float = 600) -> str:
    """Wait for the task's first last.ckpt, then `scontrol requeue` it; returns its job id."""
    ckpt = sweep_dir / str(REQUEUED) / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the sweep ended before the task could be requeued"
        if ckpt.exists():
            running = [
                j
                for j in slurm.squeue()
                if j["ArrayTaskID"] == str(REQUEUED) and j["State"] == "RUNNING"
            ]
            assert running, f"{ckpt} written but task {REQUEUED} not running: {slurm.squeue()}"
            job = f"{running[0]['ArrayJobID']}_{REQUEUED}"
            subprocess.run(["scontrol", "requeue", job], env=slurm.env, check=True, timeout=60)
            _start_now_when_pending(slurm, job)
            return job
        time.sleep(0.5)
    pytest.fail(f"no {ckpt} after {timeout} s:\n{slurm.logs()}")


@pytest.mark.slow
def test_optuna_sweep_as_slurm_array_with_a_requeued_task(slurm, postgres_url, tmp_path):
    import optuna

    sweep_dir = tmp_path / "sweep"
    proc = subprocess.Popen(
        sweep_command(sweep_dir, postgres_url),
        cwd=tmp_path,
        env=slurm.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        requeued = _requeue_when_checkpointed(slurm, sweep_dir, proc)
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-5000:] + slurm.logs()

    # the study: every trial COMPLETE, each epoch reported once, although task 0 ran twice
    study = optuna.load_study(study_name="tcn_optuna", storage=postgres_url)
    assert Counter(t.state.name for t in study.trials) == {"COMPLETE": N_TRIALS}
    for t in study.trials:
        assert sorted(t.intermediate_values) == list(range(MAX_EPOCHS)), t.number

    # real SLURM array tasks, one per trial: each ended COMPLETED once (the requeued one also
    # has the record of its cut run), and sacct reports the same jobs
    array_id = requeued.split("_")[0]
    _wait_until_ended(slurm, array_id)  # submitit returns on the result files, before job ends
    tasks = [r for r in slurm.jobcomp() if r.get("ArrayJobId") == array_id]
    ends = Counter((int(r["ArrayTaskId"]), r["JobState"]) for r in tasks)
    assert {t for t, state in ends if state == "COMPLETED"} == set(range(N_TRIALS)), tasks
    assert all(ends[(t, "COMPLETED")] == 1 for t in range(N_TRIALS)), tasks
    cut = [r for r in tasks if int(r["ArrayTaskId"]) == REQUEUED and r["JobState"] != "COMPLETED"]
    assert len(cut) == 1 and len(tasks) == N_TRIALS + 1, tasks
    completed = {r["JobIDRaw"] for r in slurm.sacct() if r["State"] == "COMPLETED"}
    assert {r["JobId"] for r in tasks if r["JobState"] == "COMPLETED"} <= completed

    # the rerun resumed from its own checkpoint instead of starting over
    log = (sweep_dir / str(REQUEUED) / "train.log").read_text()
    assert "SLURM requeued this job (restart 1): resuming from" in log, log[-3000:]
    assert "Restoring states from the checkpoint path" in log or "Restored all states" in log
    for task in range(1, N_TRIALS):
        assert "SLURM requeued" not in (sweep_dir / str(task) / "train.log").read_text()
    assert (sweep_dir / "optimization_results.yaml").exists()
