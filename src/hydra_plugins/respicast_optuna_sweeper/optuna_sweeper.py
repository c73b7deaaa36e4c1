"""Optuna sweeper: asks Optuna for trials, launches them through Hydra's launcher, tells results.

Written for Optuna >= 4 because the published hydra-optuna-sweeper pins optuna<3 and runs trials
without giving them their ``optuna.Trial`` (so they cannot report a curve and be pruned).
The trial/sweeper protocol is documented in :mod:`respicast.sweep.pruning`.

Hydra discovers this module at every app start-up, so Optuna and SQLAlchemy are imported lazily.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import TrialState

log = logging.getLogger(__name__)

FAIL_REASON_ATTR = "fail_reason"


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _build(spec: Mapping[str, Any] | None, default: str) -> Any:
    from hydra.utils import instantiate

    return instantiate(dict(spec) if spec else {"_target_": default})


class RespicastOptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: Mapping[str, Any] | None = None,
        pruner: Mapping[str, Any] | None = None,
        direction: str = "maximize",
        n_trials: int = 20,
        n_jobs: int = 1,
        storage: str | None = None,
        study_name: str | None = None,
        params: Mapping[str, Any] | None = None,
        max_failures: int | None = None,
        fail_stale_running: bool = True,
        trial_key: str = "optuna_trial",
    ) -> None:
        if direction not in ("maximize", "minimize"):
            raise HydraException(f"direction must be maximize or minimize, not {direction!r}")
        if n_trials < 1 or n_jobs < 1:
            raise HydraException("n_trials and n_jobs must be >= 1")
        # Kept as plain configs: the pruner spec is stored in the study for the trial processes.
        self.sampler_spec = _plain(sampler)
        self.pruner_spec = _plain(pruner) or {"_target_": "optuna.pruners.NopPruner"}
        self.direction = direction
        self.n_trials = int(n_trials)
        self.n_jobs = int(n_jobs)
        self.storage = storage
        self.study_name = study_name
        self.params = _plain(params) or {}
        self.max_failures = self.n_trials if max_failures is None else int(max_failures)
        self.fail_stale_running = fail_stale_running
        self.trial_key = trial_key
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self._storage: Any = None  # set with the study: an optuna BaseStorage
        self._study_id = -1

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    # -- study ---------------------------------------------------------------------------------

    def _open_study(self, sweep_dir: Path) -> tuple[optuna.Study, str]:
        import optuna

        from respicast.sweep.storage import absolute_storage_url, open_storage
        from respicast.sweep.trial import PRUNER_ATTR

        url = absolute_storage_url(self.storage or f"sqlite:///{sweep_dir}/optuna.db")
        assert self.config is not None
        name = self.study_name or str(self.config.hydra.job.name)
        storage = open_storage(url)
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=self.direction,
            pruner=_build(self.pruner_spec, "optuna.pruners.NopPruner"),
            load_if_exists=True,
        )
        # a resumed study must not replay a seeded sampler's first draws (same configs again)
        spec = dict(self.sampler_spec or {"_target_": "optuna.samplers.TPESampler"})
        done = len(study.get_trials(deepcopy=False))
        if done and spec.get("seed") is not None:
            spec["seed"] = int(spec["seed"]) + done
        study.sampler = _build(spec, "optuna.samplers.TPESampler")
        if study.direction.name.lower() != self.direction:
            raise HydraException(
                f"study {name!r} in {url} is {study.direction.name.lower()}, not {self.direction}"
            )
        study.set_user_attr(PRUNER_ATTR, self.pruner_spec)
        self._storage = storage
        self._study_id = storage.get_study_id_from_name(name)
        return study, url

    def _trial_id(self, number: int) -> int:
        return self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _fail(self, study: optuna.Study, number: int, reason: str) -> None:
        from optuna.trial import TrialState

        trial_id = self._trial_id(number)
        self._storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason[:2000])
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)

    def _fail_stale(self, study: optuna.Study) -> None:
        from optuna.trial import TrialState

        stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        for t in stale:
            self._fail(study, t.number, "stale: still RUNNING when the sweep (re)started")
        if stale:
            log.warning(
                "Marked %d stale RUNNING trial(s) FAIL: %s", len(stale), [t.number for t in stale]
            )

    # -- results -------------------------------------------------------------------------------

    def _finish(
        self, study: optuna.Study, number: int, ret: JobReturn | None, error: Any
    ) -> TrialState:
        """Tell Optuna how trial ``number`` ended (see the protocol in respicast.sweep.pruning)."""
        import optuna
        from optuna.trial import TrialState

        from respicast.sweep.trial import PRUNED_ATTR

        frozen = self._storage.get_trial(self._trial_id(number))
        if frozen.state.is_finished():  # the job told Optuna itself
            return frozen.state
        value: Any = None
        if ret is not None:
            try:
                value = ret.return_value  # re-raises the job's exception
            except Exception as e:  # any job failure becomes a FAIL trial
                error = e
        if isinstance(error, optuna.TrialPruned) or PRUNED_ATTR in frozen.user_attrs:
            study.tell(number, state=TrialState.PRUNED)
            log.info("Trial %d pruned", number)
            return TrialState.PRUNED
        if error is not None:
            text = "".join(traceback.format_exception(error)).strip()
            log.warning("Trial %d failed:\n%s", number, text)
            self._fail(study, number, f"exception: {text}")
            return TrialState.FAIL
        try:
            number_value = float(value)
        except (TypeError, ValueError):
            number_value = math.nan
        if not math.isfinite(number_value):
            log.warning("Trial %d returned %r, not a finite number: FAIL", number, value)
            self._fail(study, number, f"return value: {value!r}")
            return TrialState.FAIL
        study.tell(number, number_value)
        return TrialState.COMPLETE

    def _write_results(self, study: optuna.Study, url: str, sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
        results: dict[str, Any] = {
            "study_name": study.study_name,
            "storage": url,
            "direction": self.direction,
            "trials": dict(counts),
        }
        if counts.get(TrialState.COMPLETE.name):
            best = study.best_trial
            results |= {
                "best_trial": best.number,
                "best_value": best.value,
                "best_params": best.params,
            }
            log.info("Best trial %d: %s = %s", best.number, best.params, best.value)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")

    # -- sweep ---------------------------------------------------------------------------------

    def _batch_overrides(
        self, trials: Sequence[optuna.Trial], fixed: list[str], url: str, name: str
    ) -> list[list[str]]:
        from respicast.sweep.search_space import format_override
        from respicast.sweep.trial import TrialRef

        return [
            [*fixed, *(format_override(k, v) for k, v in t.params.items())]
            + [TrialRef(url, name, t.number).as_override(self.trial_key)]
            for t in trials
        ]

    def _remaining(self, study: optuna.Study) -> int:
        from optuna.trial import TrialState

        counts = Counter(t.state for t in study.get_trials(deepcopy=False))
        # RUNNING trials here belong to other sweepers sharing the study (ours are finished).
        taken = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED] + counts[TrialState.RUNNING]
        return self.n_trials - taken

    def _drop_surplus(self, study: optuna.Study, trials: list[optuna.Trial]) -> list[optuna.Trial]:
        """Trials of ``trials`` within ``n_trials``; the others are told FAIL ("surplus").

        Another sweeper on the same study may ask between our count and our ``ask``: Optuna
        numbers trials in storage order, so the live (not FAIL) trials numbered after the
        ``n_trials``-th one are the surplus, whichever process asked for them.
        """
        from optuna.trial import TrialState

        live = sorted(
            t.number for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL
        )
        if len(live) <= self.n_trials:
            return trials
        last = live[self.n_trials - 1]
        keep = [t for t in trials if t.number <= last]
        for t in trials:
            if t.number > last:
                self._fail(study, t.number, f"surplus: n_trials={self.n_trials} already taken")
        if len(keep) < len(trials):
            log.info(
                "Trials %s not run: other workers on the study took the last of n_trials=%d",
                [t.number for t in trials if t.number > last],
                self.n_trials,
            )
        return keep

    def sweep(self, arguments: list[str]) -> Any:
        from optuna.trial import TrialState

        from respicast.sweep.search_space import parse_search_space

        assert self.config is not None and self.launcher is not None
        space: dict[str, BaseDistribution]
        space, fixed = parse_search_space(self.params, arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        study, url = self._open_study(sweep_dir)
        if self.fail_stale_running:
            self._fail_stale(study)
        before = Counter(t.state.name for t in study.get_trials(deepcopy=False))
        log.info(
            "Study %r in %s: %s already; COMPLETE and PRUNED count toward n_trials=%d, FAIL do not",
            study.study_name,
            url,
            dict(before) or "no trials",
            self.n_trials,
        )

        failures = 0
        returns: list[Sequence[JobReturn]] = []
        while (remaining := self._remaining(study)) > 0:
            if failures >= self.max_failures:
                log.error("Stopping: %d failed trials in this run (max_failures)", failures)
                break
            asked = [study.ask(space) for _ in range(min(self.n_jobs, remaining))]
            trials = self._drop_surplus(study, asked)
            if not trials:
                continue  # the loop condition sees the study full (or others still running)
            batch = self._batch_overrides(trials, fixed, url, study.study_name)
            if not returns:
                # Compose the first batch here to stop early on a config error (not on every
                # batch: composing twice per trial is slow; a later bad value just FAILs its trial).
                try:
                    self.validate_batch_is_legal(batch)
                except Exception:
                    for t in trials:
                        self._fail(study, t.number, "config composition failed")
                    raise
            error: BaseException | None = None
            results: Sequence[JobReturn | None]
            try:
                # Job numbers follow trial numbers so a resumed sweep never reuses a job dir.
                results = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            except Exception as e:  # e.g. a submitit job killed by the scheduler
                log.error("Launcher failed for trials %s: %r", [t.number for t in trials], e)
                error, results = e, [None] * len(trials)
            for t, ret in zip(trials, results, strict=True):
                if self._finish(study, t.number, ret, error) == TrialState.FAIL:
                    failures += 1
            returns.append([r for r in results if r is not None])

        self._write_results(study, url, sweep_dir)
        return returns
