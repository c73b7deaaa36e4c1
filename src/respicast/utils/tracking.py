"""What an experiment tracker records about a run: the composed config flattened, and the run's
name, group and tags. The same hyperparameters go to every logger (W&B config, CSV hparams.yaml).

Only the config is logged here, never data: metrics are logged by respicast.run_outputs.

- name: ``<model>-<data>-s<seed>``, plus ``-j<job number>`` in a multirun, or ``-t<trial number>``
  in an Optuna sweep;
- group: the study name in an Optuna sweep, ``<task>-<sweep dir name>`` in another multirun (an
  ablation's sweep dir is ``ablation_groups_<date>``), the data name for a single run;
- tags: ``tags`` of the config, then the model and data names.

A logger entry that sets ``name``/``group``/``tags`` itself (not null) keeps its value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

# the W&B logger's keys filled from the run identity when the logger config leaves them null
WANDB_KEYS = ("name", "group", "tags")


@dataclass(frozen=True)
class RunIdentity:
    name: str
    group: str
    tags: tuple[str, ...]

    def as_params(self) -> dict[str, Any]:
        return {"run.name": self.name, "run.group": self.group, "run.tags": list(self.tags)}


def flatten(node: dict, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys (``{"data": {"lookback": 28}}`` → ``data.lookback``);
    lists stay values, so ``data.groups`` is one key holding the list."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def flat_config(cfg: DictConfig) -> dict[str, Any]:
    """The composed config, resolved and flattened, without Hydra's own node."""
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    container.pop("hydra", None)
    return flatten(container)


def _hydra_node(cfg: DictConfig) -> DictConfig | None:
    """Hydra's node: inside an app from HydraConfig, in a composed config (tests) from cfg.hydra."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return HydraConfig.get()
    return cfg.get("hydra")


def _multirun(hydra_cfg: DictConfig | None) -> bool:
    from hydra.types import RunMode

    return hydra_cfg is not None and hydra_cfg.get("mode") == RunMode.MULTIRUN


def run_identity(cfg: DictConfig) -> RunIdentity:
    hydra_cfg = _hydra_node(cfg)
    model = str(cfg.model.get("name") or cfg.model.get("_target_", "model").rsplit(".", 1)[-1])
    data = str(cfg.data.get("name", "data"))
    name = f"{model}-{data}-s{cfg.get('seed')}"
    trial = cfg.get("optuna_trial")
    if trial:
        name += f"-t{trial['number']}"
        group = str(trial["study"])
    elif _multirun(hydra_cfg):
        name += f"-j{hydra_cfg.job.num}"
        group = f"{cfg.get('task_name', 'run')}-{Path(str(hydra_cfg.sweep.dir)).name}"
    else:
        group = data
    tags = dict.fromkeys([*(str(t) for t in cfg.get("tags") or []), model, data])
    return RunIdentity(name=name, group=group, tags=tuple(tags))


def logger_config(cfg: DictConfig, ident: RunIdentity) -> DictConfig | None:
    """The ``logger`` group resolved, with each W&B entry's null name/group/tags filled."""
    group = cfg.get("logger")
    if not group:
        return group
    resolved = OmegaConf.create(OmegaConf.to_container(group, resolve=True))
    for entry in resolved.values():
        if isinstance(entry, DictConfig) and str(entry.get("_target_", "")).endswith("WandbLogger"):
            for key in WANDB_KEYS:
                if entry.get(key) is None:
                    entry[key] = list(ident.tags) if key == "tags" else getattr(ident, key)
            # Lightning's offline=True only sets WANDB_MODE, which wandb reads when its settings
            # singleton is first made: a process that already used wandb would go online (and ask
            # for an API key). The mode passed to wandb.init always wins.
            if entry.get("offline") and entry.get("mode") is None:
                entry["mode"] = "offline"
    return resolved


def start_loggers(cfg: DictConfig) -> list:
    """Instantiate the configured loggers and give each the run's hyperparameters."""
    from respicast.utils.instantiate import instantiate_named

    ident = run_identity(cfg)
    loggers = instantiate_named(logger_config(cfg, ident), "logger")
    if loggers:
        params = {**flat_config(cfg), **ident.as_params()}
        for lg in loggers:
            lg.log_hyperparams(params)
        log.info(
            "run %s (group %s): %d hyperparameters logged", ident.name, ident.group, len(params)
        )
    return loggers


def close_loggers(loggers: list, status: str = "success") -> None:
    """Write what the loggers still buffer (the CSV logger's hparams.yaml and last metrics, which
    a baseline fitted without a Trainer would otherwise never write) and end the W&B run."""
    for lg in loggers:
        lg.finalize(status)
        if type(lg).__name__ == "WandbLogger":
            lg.experiment.finish(exit_code=0 if status == "success" else 1)
