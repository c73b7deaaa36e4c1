"""Hyperparameter sweeps: trial-side helpers for the ``respicast_optuna`` Hydra sweeper.

``OptunaPruning`` is imported lazily: the sweeper plugin imports this package at every Hydra
start-up, and Lightning/torch must not slow that down.
"""

from __future__ import annotations

from typing import Any

from respicast.sweep.search_space import format_override, parse_search_space
from respicast.sweep.storage import absolute_storage_url, open_storage
from respicast.sweep.trial import TrialRef, load_trial

__all__ = [
    "OptunaPruning",
    "TrialRef",
    "absolute_storage_url",
    "format_override",
    "load_trial",
    "open_storage",
    "parse_search_space",
]


def __getattr__(name: str) -> Any:
    if name == "OptunaPruning":
        from respicast.sweep.pruning import OptunaPruning

        return OptunaPruning
    raise AttributeError(name)
