"""End-to-end sweeps of the toy app: resume, failures, NaN, pruning, parallel launchers."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

RANDOM = "hydra/sweeper/sampler=random"


def ok(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_trials_get_sampled_params_and_best_is_recorded(sweep):
    ok(sweep.run("hydra.sweeper.n_trials=4", "x=interval(-2, 4)", "y=choice(0, 1)"))
    study = sweep.study()
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    for t in study.trials:  # each job saw its own sampled overrides
        assert t.value == pytest.approx(-((t.params["x"] - 2) ** 2) - t.params["y"])
        assert -2 <= t.params["x"] <= 4 and t.params["y"] in (0, 1)
        assert (sweep.dir / str(t.number) / ".hydra" / "overrides.yaml").exists()
    res = OmegaConf.load(sweep.dir / "optimization_results.yaml")
    assert res.best_value == pytest.approx(study.best_value)
    assert res.trials.COMPLETE == 4


def test_killed_sweep_resumes_to_n_trials(sweep):
    marker = sweep.root / "killed_once"
    args = (
        "hydra.sweeper.n_trials=6",
        "x=interval(-2, 4)",
        "mode=kill",
        "kill_at=3",
        f"kill_marker={marker}",
    )
    first = sweep.run(*args)
    assert first.returncode != 0 and marker.exists()  # SIGKILL took the whole sweep down
    assert sweep.states() == {"COMPLETE": 3, "RUNNING": 1}

    ok(sweep.run(*args))  # the very same command
    trials = sweep.study().trials
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 6 and states.count("FAIL") == 1
    assert trials[3].state.name == "FAIL" and trials[3].user_attrs["fail_reason"].startswith(
        "stale"
    )
    assert len(trials) == 7  # only the missing 3 trials were run again


def test_raising_n_trials_runs_only_the_remainder(sweep):
    ok(sweep.run("hydra.sweeper.n_trials=2", "x=interval(-2, 4)"))
    second = sweep.run("hydra.sweeper.n_trials=4", "x=interval(-2, 4)")
    ok(second)
    assert sweep.states() == {"COMPLETE": 4}
    assert (second.stdout + second.stderr).count("Launching 1 jobs") == 2
    # the seeded sampler does not replay its first draws on resume
    xs = [t.params["x"] for t in sweep.study().trials]
    assert len(set(xs)) == 4


@pytest.mark.parametrize(
    ("mode", "reason"), [("raise", "ValueError: x="), ("return_nan", "return value: nan")]
)
def test_failing_trial_is_fail_and_sweep_finishes(sweep, mode, reason):
    # the task misbehaves when x > 1; FAIL trials do not count toward n_trials
    args = ("hydra.sweeper.n_trials=4", "hydra.sweeper.max_failures=30", "x=interval(-2, 4)")
    ok(sweep.run(RANDOM, *args, f"mode={mode}", "threshold=1.0"))
    trials = sweep.study().trials
    failed = [t for t in trials if t.state.name == "FAIL"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and failed
    assert all(t.params["x"] > 1.0 and reason in t.user_attrs["fail_reason"] for t in failed)
    assert all(t.params["x"] <= 1.0 and math.isfinite(t.value) for t in complete)


def test_max_failures_stops_a_hopeless_sweep(sweep):
    ok(
        sweep.run(
            "hydra.sweeper.n_trials=5",
            "hydra.sweeper.max_failures=2",
            "x=interval(2, 4)",
            "mode=raise",
        )
    )
    assert sweep.states() == {"FAIL": 2}


@pytest.mark.parametrize("mode", ["report", "report_nan"])
def test_bad_curves_are_pruned(sweep, mode):
    proc = sweep.run(
        RANDOM,
        "hydra.sweeper.n_trials=6",
        "x=interval(-4, 4)",
        f"mode={mode}",
        "hydra.sweeper.pruner.n_startup_trials=2",
        "hydra.sweeper.pruner.n_warmup_steps=0",
    )
    ok(proc)
    trials = sweep.study().trials
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert pruned and len(pruned) + len(complete) == 6 == len(trials)  # PRUNED counts, no FAIL
    assert all(len(t.intermediate_values) < 8 for t in pruned)
    assert all(len(t.intermediate_values) == 8 for t in complete)
    # pruned trials were the bad ones: worse than the best complete trial
    assert max(abs(t.params["x"] - 2) for t in pruned) > min(
        abs(t.params["x"] - 2) for t in complete
    )


def test_joblib_launcher_runs_trials_in_parallel_processes(sweep):
    proc = sweep.run(
        "hydra/launcher=local_joblib",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=2",
        "x=interval(-2, 4)",
        "mode=report",
        "hydra/sweeper/pruner=none",
    )
    ok(proc)
    assert sweep.states() == {"COMPLETE": 2}
    assert (proc.stdout + proc.stderr).count("Joblib.Parallel(n_jobs=2,") == 1  # one batch of 2
    assert all(len(t.intermediate_values) == 8 for t in sweep.study().trials)


@pytest.mark.slow
def test_submitit_local_launcher(sweep):
    proc = sweep.run(
        "hydra/launcher=local_submitit",
        "hydra.launcher.cpus_per_task=1",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=2",
        "x=interval(-2, 4)",
        "mode=report",
        timeout=300,
    )
    ok(proc)
    study = sweep.study()
    assert sweep.states() == {"COMPLETE": 2}
    assert all(len(t.intermediate_values) == 8 for t in study.trials)  # reported from the jobs
    assert list((sweep.dir / ".submitit").iterdir())


@pytest.mark.slow
def test_worker_killed_under_joblib_fails_its_batch_and_sweep_goes_on(sweep):
    marker = sweep.root / "killed_once"
    proc = sweep.run(
        "hydra/launcher=local_joblib",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.max_failures=5",
        "x=interval(-2, 4)",
        "mode=kill",
        "kill_at=1",
        f"kill_marker={marker}",
    )
    ok(proc)  # the launcher raised (worker died); the sweeper recorded it and ran more trials
    states = [t.state.name for t in sweep.study().trials]
    # the whole batch is lost with the pool (trial 0 too); later batches complete
    assert states[:2] == ["FAIL", "FAIL"] and states.count("COMPLETE") == 2


def test_search_over_unknown_key_stops_before_launching(sweep):
    proc = sweep.run("hydra.sweeper.n_trials=3", "not_a_key=choice(1, 2)")
    assert proc.returncode != 0 and "not_a_key" in proc.stderr
    (trial,) = sweep.study().trials
    assert (
        trial.state.name == "FAIL"
        and trial.user_attrs["fail_reason"] == "config composition failed"
    )
    assert not (sweep.dir / "0").exists()
