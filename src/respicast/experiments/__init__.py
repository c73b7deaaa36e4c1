"""Experiment helpers: ablation variants by variable group (and their OmegaConf resolver).

Importing this package registers ``${respicast.ablation_groups:variant,groups,keep,data_choice}``,
which conf/experiment/ablation_groups.yaml uses to set data.groups. It must be imported before
Hydra composes a config that uses it (respicast.cli does).
"""

from omegaconf import OmegaConf

from respicast.experiments.ablation import (
    resolve_ablation_groups,
    variant_groups,
    variant_names,
)

RESOLVER = "respicast.ablation_groups"


def register_resolvers() -> None:
    """Register the experiment resolvers once (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, resolve_ablation_groups)


register_resolvers()

__all__ = [
    "RESOLVER",
    "register_resolvers",
    "resolve_ablation_groups",
    "variant_groups",
    "variant_names",
]
