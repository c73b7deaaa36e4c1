"""Config nodes as plain Python values: the one DictConfig -> dict conversion of the package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf


def as_dict(node: DictConfig | Mapping | None) -> dict[str, Any]:
    """A config node (or None, or a plain mapping) as a plain, resolved dict."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node or {})
