"""Instantiate every named entry of a config group (loggers, callbacks) generically."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def instantiate_named(group: DictConfig | None, what: str) -> list:
    """One object per entry that has a _target_; entries set to null are switched off."""
    objects = []
    if not group:
        return objects
    if not isinstance(group, DictConfig):
        raise TypeError(
            f"{what} config must be a mapping of named entries, got {type(group).__name__}"
        )
    for name, conf in group.items():
        if isinstance(conf, DictConfig) and "_target_" in conf:
            log.info("instantiating %s %s <%s>", what, name, conf._target_)
            objects.append(hydra.utils.instantiate(conf))
    return objects
