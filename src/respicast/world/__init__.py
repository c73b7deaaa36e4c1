"""The simulated Toulouse world: real-format source files, PMSI-like stays, ground truth, oracle."""

from respicast.world.config import load_world_config
from respicast.world.simulate import ensure_world, simulate

__all__ = ["ensure_world", "load_world_config", "simulate"]
