"""Many workers, one study: two sweeper processes on the same study (journal file, PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from respicast.sweep.storage import open_storage

N_TRIALS = 10


def _run_two_workers(sweep_at, root: Path, storage: str, *args: str) -> list:
    """Start two sweepers on one study at once (each with its own sweep dir) and wait for both."""
    workers = [sweep_at(root / f"w{i}") for i in range(2)]
    common = (
        f"hydra.sweeper.storage='{storage}'",  # quoted: a URL's ?a=b&c=d
        "hydra.sweeper.study_name=shared",
        "hydra.sweeper.fail_stale_running=false",  # the other worker's RUNNING trials are live
        f"hydra.sweeper.n_trials={N_TRIALS}",
        "hydra/sweeper/sampler=random",
        "x=interval(-4, 4)",
        "sleep_s=0.2",  # trials overlap in time, so the workers interleave
        *args,
    )
    procs = []
    for i, w in enumerate(workers):
        w.root.mkdir(parents=True)
        # different seeds: the two workers must not draw the same parameters
        procs.append(w.popen(*common, f"hydra.sweeper.sampler.seed={i + 1}"))
    for w, p in zip(workers, procs, strict=True):
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, f"worker {w.root.name}:\n{out[-3000:]}\n{err[-3000:]}"
    return workers


def _job_trial_numbers(w) -> list[int]:
    """The Optuna trial number each job of this worker ran (from its Hydra overrides)."""
    numbers = []
    for overrides in sorted(w.dir.glob("*/.hydra/overrides.yaml")):
        (line,) = [o for o in OmegaConf.load(overrides) if o.startswith("++optuna_trial=")]
        numbers.append(int(line.rsplit("number:", 1)[1].rstrip("}")))
    return numbers


def _check_shared_study(workers: list, storage: str) -> None:
    import optuna

    study = optuna.load_study(study_name="shared", storage=open_storage(storage))
    trials = study.trials
    per_worker = [_job_trial_numbers(w) for w in workers]
    assert all(per_worker), f"a worker ran no trial: {per_worker}"  # both took part
    ran = per_worker[0] + per_worker[1]
    assert len(ran) == len(set(ran)), f"a trial number ran twice: {per_worker}"
    states = Counter(t.state.name for t in trials)
    # exactly the requested count: COMPLETE + PRUNED, nothing left RUNNING
    assert states["COMPLETE"] + states["PRUNED"] == N_TRIALS and not states["RUNNING"], states
    finished = {t.number for t in trials if t.state.name in ("COMPLETE", "PRUNED")}
    assert finished <= set(ran)  # every counted trial was run by one of the workers
    # a trial told FAIL here can only be one asked at the same moment by both workers
    for t in trials:
        if t.state.name == "FAIL":
            assert t.user_attrs["fail_reason"].startswith("surplus"), t.user_attrs
    # pruning judged across workers: some bad curves were stopped early
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert pruned and all(len(t.intermediate_values) < 8 for t in pruned)
    assert all(len(t.intermediate_values) == 8 for t in complete)
    for w in workers:
        res = OmegaConf.load(w.dir / "optimization_results.yaml")
        assert res.study_name == "shared"


PRUNE = (
    "mode=report",
    "hydra.sweeper.pruner.n_startup_trials=2",
    "hydra.sweeper.pruner.n_warmup_steps=0",
)


def test_two_workers_share_a_journal_study(tmp_path, sweep_at):
    storage = f"journal:///{tmp_path}/study.journal"
    workers = _run_two_workers(sweep_at, tmp_path, storage, *PRUNE)
    _check_shared_study(workers, storage)


@pytest.mark.postgres
def test_two_workers_share_a_postgres_study(tmp_path, sweep_at, postgres_url):
    workers = _run_two_workers(sweep_at, tmp_path, postgres_url, *PRUNE)
    _check_shared_study(workers, postgres_url)


def test_trials_asked_past_n_trials_are_failed_as_surplus(tmp_path):
    """The race two workers can run into: both count 3 of 4 trials taken, both ask one more."""
    import optuna

    from hydra_plugins.respicast_optuna_sweeper.optuna_sweeper import RespicastOptunaSweeper

    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db")
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    for _ in range(3):  # the other worker's live trials
        study.ask()
    sweeper = RespicastOptunaSweeper(n_trials=4)
    sweeper._storage, sweeper._study_id = storage, storage.get_study_id_from_name("s")
    mine = [study.ask(), study.ask()]  # numbers 3 and 4: only 3 fits in n_trials=4
    kept = sweeper._drop_surplus(study, mine)
    assert [t.number for t in kept] == [3]
    last = study.trials[4]
    assert last.state.name == "FAIL" and last.user_attrs["fail_reason"].startswith("surplus")
    # a FAIL trial below the cut frees its place: the same ask is then within n_trials
    study.tell(0, state=optuna.trial.TrialState.FAIL)
    again = study.ask()
    assert [t.number for t in sweeper._drop_surplus(study, [again])] == [5]
