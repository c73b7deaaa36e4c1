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

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from omegaconf import OmegaConf

# respicast.table (polars) is imported in the functions: respicast.cli imports this module at
# every app start-up, `--help` included


def data_config_groups(data_choice: str, conf_dir: str | Path | None = None) -> list[str]:
    """``groups`` of conf/data/<data_choice>.yaml (all GROUPS when the file sets none)."""
    from respicast.cli import CONFIG_DIR
    from respicast.table import GROUPS

    path = Path(conf_dir or CONFIG_DIR) / "data" / f"{data_choice}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"ablation: data config {path} not found (data={data_choice})")
    groups = OmegaConf.load(path).get("groups")
    return list(groups) if groups else list(GROUPS)


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


def main(argv: list[str] | None = None) -> None:
    """Print the variant list for a data config, ready for ``ablation.variant=...``.

    python -m respicast.experiments.ablation chicago_nmmaps [history,calendar]
    """
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit(
            "usage: python -m respicast.experiments.ablation <data config> [keep,groups]"
        )
    keep = args[1].split(",") if len(args) > 1 else ["history", "calendar"]
    print(",".join(variant_names(data_config_groups(args[0]), keep)))


if __name__ == "__main__":
    main()
