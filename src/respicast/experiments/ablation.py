"""Ablation by variable group: which feature groups each variant of an ablation sweep uses.

Variants, over the *ablated* groups (the data config's ``groups`` minus the ``keep`` groups):

- ``full``: every group;
- ``drop_<g>``: every group but g (what g adds to everything else);
- ``only_<g>``: the ``keep`` groups plus g (what g adds to the baseline alone);
- ``base``: the ``keep`` groups alone (the floor the only_ variants climb from).

``keep`` defaults to ``[history, calendar]`` in conf/experiment/ablation_groups.yaml: the
autoregressive history and the calendar are the forecaster's baseline (the fast baselines need
both), so "only pollution" means history + calendar + pollution. Set ``ablation.keep=[calendar]``
with a deep model to ablate the history too (only_<g> then means g + calendar).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

# respicast.table (polars) is imported in the functions: respicast.cli imports this module at
# every app start-up, `--help` included


def data_config_groups(data_choice: str, conf_dir: str | Path | None = None) -> list[str]:
    """``groups`` of the data config ``data_choice`` as Hydra composes it (all GROUPS when it
    sets none). ``conf_dir`` None: the config search path of the running (or last) Hydra app."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from respicast.table import GROUPS

    overrides = [f"+data={data_choice}"]
    if conf_dir is None and GlobalHydra.instance().is_initialized():
        groups = compose(overrides=overrides).data.get("groups")
    else:
        conf_dir, extra = (conf_dir, []) if conf_dir is not None else _app_search_path(data_choice)
        with initialize_config_dir(config_dir=str(Path(conf_dir).resolve()), version_base="1.3"):
            groups = compose(overrides=[*overrides, *extra]).data.get("groups")
    return list(groups) if groups else list(GROUPS)


def _app_search_path(data_choice: str) -> tuple[str, list[str]]:
    """The app's config dir and its other file sources, from the Hydra config a job carries
    (a config resolved after its app returned, e.g. in a test)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        raise ValueError(f"ablation: data config {data_choice!r}: no Hydra config to compose it")
    sources = HydraConfig.get().runtime.config_sources
    main = [s.path for s in sources if s.provider == "main"]
    more = [f"file://{s.path}" for s in sources if s.schema == "file" and s.provider != "main"]
    return main[0], ([f"hydra.searchpath=[{','.join(more)}]"] if more else [])


def _ordered(groups: Iterable[str]) -> list[str]:
    from respicast.table import GROUPS

    wanted = set(groups)
    unknown = sorted(wanted - set(GROUPS))
    if unknown:
        raise ValueError(f"ablation: unknown group(s) {unknown}; known: {list(GROUPS)}")
    return [g for g in GROUPS if g in wanted]


def ablated_groups(groups: Sequence[str], keep: Sequence[str]) -> list[str]:
    """The groups that get drop_/only_ variants: all of ``groups`` not kept in every variant."""
    return [g for g in _ordered(groups) if g not in set(keep)]


def variant_names(groups: Sequence[str], keep: Sequence[str], with_base: bool = False) -> list[str]:
    """full, drop_<g>..., only_<g>... (and base) in group order."""
    ablated = ablated_groups(groups, keep)
    names = ["full", *(f"drop_{g}" for g in ablated), *(f"only_{g}" for g in ablated)]
    return [*names, "base"] if with_base else names


def variant_groups(variant: str, groups: Sequence[str], keep: Sequence[str]) -> list[str]:
    """data.groups for ``variant`` given the data's groups and the always-kept ones."""
    groups = _ordered(groups)
    kept = [g for g in groups if g in set(keep)]
    ablated = ablated_groups(groups, keep)
    if variant == "full":
        return groups
    if variant == "base":
        if not kept:
            raise ValueError(
                "ablation variant 'base' needs ablation.keep groups present in data.groups"
            )
        return kept
    kind, _, group = variant.partition("_")
    if kind not in ("drop", "only") or not group:
        raise ValueError(
            f"ablation.variant={variant!r}: expected full, base, drop_<group> or only_<group>"
        )
    if group not in ablated:
        why = (
            "is kept in every variant (ablation.keep)" if group in kept else "is not in data.groups"
        )
        raise ValueError(
            f"ablation.variant={variant!r}: group {group!r} {why}; variants for these data: "
            f"{','.join(variant_names(groups, keep))}  (set them with ablation.variant=...)"
        )
    chosen = [g for g in groups if g != group] if kind == "drop" else [*kept, group]
    return _ordered(chosen)


def resolve_ablation_groups(variant, groups, keep, data_choice) -> list[str]:
    """OmegaConf resolver ``respicast.ablation_groups``: data.groups of one ablation variant.

    ``groups`` null means the ``groups`` of the chosen data config file: data.groups itself is the
    value this resolver computes, so it cannot be read back from the composed config.
    """
    base = list(groups) if groups is not None else data_config_groups(str(data_choice))
    return variant_groups(str(variant), base, list(keep or []))


def main(argv: list[str], conf_dir: str | Path) -> None:
    """Print the variant list for a data config, ready for ``ablation.variant=...``
    (``python -m respicast.cli.ablation_variants <data config> [keep,groups]``)."""
    if not argv:
        raise SystemExit(
            "usage: python -m respicast.cli.ablation_variants <data config> [keep,groups]"
        )
    keep = argv[1].split(",") if len(argv) > 1 else ["history", "calendar"]
    print(",".join(variant_names(data_config_groups(argv[0], conf_dir), keep)))
