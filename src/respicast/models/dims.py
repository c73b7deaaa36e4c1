"""The input contract of a model: what it needs to know about the windows it is built for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dims:
    """What a model needs to know about its inputs."""

    lookback: int
    horizon: int
    n_past: int
    n_future: int
    has_history: bool
