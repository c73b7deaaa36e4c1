"""Ablation variants: groups per variant, the data-config default, the Hydra experiment file."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import respicast.experiments  # noqa: F401  registers the resolver (respicast.cli will import it)
from respicast.cli import CONFIG_DIR
from respicast.experiments.ablation import data_config_groups, main, variant_groups, variant_names

ALL = ["history", "pollution", "pollen", "epidemics", "weather", "calendar"]
KEEP = ["history", "calendar"]


def test_variant_groups_drop_only_full_base():
    assert variant_groups("full", ALL, KEEP) == ALL
    assert variant_groups("drop_pollen", ALL, KEEP) == [
        "history",
        "pollution",
        "epidemics",
        "weather",
        "calendar",
    ]
    assert variant_groups("only_epidemics", ALL, KEEP) == ["history", "epidemics", "calendar"]
    assert variant_groups("base", ALL, KEEP) == KEEP
    # with only the calendar kept, the history is ablated like any other group
    assert variant_groups("drop_history", ALL, ["calendar"]) == ALL[1:]
    assert variant_groups("only_pollution", ALL, ["calendar"]) == ["pollution", "calendar"]
    # order follows the table's GROUPS whatever order the config lists them in
    assert variant_groups("full", ["calendar", "pollution", "history"], KEEP) == [
        "history",
        "pollution",
        "calendar",
    ]


def test_variant_names_follow_the_data_groups():
    assert variant_names(ALL, KEEP) == [
        "full",
        "drop_pollution",
        "drop_pollen",
        "drop_epidemics",
        "drop_weather",
        "only_pollution",
        "only_pollen",
        "only_epidemics",
        "only_weather",
    ]
    chicago = data_config_groups("chicago_nmmaps", CONFIG_DIR)
    assert variant_names(chicago, KEEP) == [
        "full",
        "drop_pollution",
        "drop_weather",
        "only_pollution",
        "only_weather",
    ]


@pytest.mark.parametrize(
    ("variant", "match"),
    [
        ("drop_history", "kept in every variant"),
        ("only_pollen", "not in data.groups"),
        ("without_pollen", "expected full, base"),
        ("drop_", "expected full, base"),
    ],
)
def test_bad_variants_name_the_valid_ones(variant, match):
    with pytest.raises(ValueError, match=match):
        variant_groups(variant, ["history", "pollution", "weather", "calendar"], KEEP)


def test_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown group"):
        variant_groups("full", ["history", "traffic"], KEEP)


def test_cli_prints_the_variant_list(capsys):
    main(["chicago_nmmaps", "calendar"], CONFIG_DIR)
    out = capsys.readouterr().out.strip()
    assert (
        out
        == "full,drop_history,drop_pollution,drop_weather,only_history,only_pollution,only_weather"
    )


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train", overrides=["experiment=ablation_groups", *overrides], return_hydra_config=True
        )
    HydraConfig().set_config(cfg)
    GlobalHydra.instance().clear()
    return cfg


def test_experiment_sets_data_groups_per_variant():
    cfg = _compose([])
    assert cfg.model.name == "logistic" and "ablation" in cfg.tags
    assert list(cfg.data.groups) == ALL
    sweep = cfg.hydra.sweeper.params
    assert sweep["ablation.variant"].split(",") == variant_names(ALL, KEEP)
    assert len(sweep["seed"].split(",")) == 3
    assert list(_compose(["ablation.variant=only_pollution"]).data.groups) == [
        "history",
        "pollution",
        "calendar",
    ]
    assert "pollen" not in _compose(["ablation.variant=drop_pollen"]).data.groups
    # the model stays overridable; the base groups can be narrowed through ablation.groups
    assert _compose(["model=glm_dlnm"]).model.name == "glm_dlnm"
    narrowed = _compose(
        ["ablation.groups=[history,pollution,weather,calendar]", "ablation.variant=drop_weather"]
    )
    assert list(narrowed.data.groups) == ["history", "pollution", "calendar"]


def test_experiment_follows_another_data_config():
    cfg = _compose(["data=chicago_nmmaps", "ablation.variant=only_weather"])
    assert list(cfg.data.groups) == ["history", "weather", "calendar"]
    cfg = _compose(["data=chicago_nmmaps", "ablation.variant=drop_pollen"])
    with pytest.raises(Exception, match="not in data.groups"):
        OmegaConf.to_container(cfg.data, resolve=True)


def test_example_experiment_composes():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=example"])
    GlobalHydra.instance().clear()
    assert cfg.model.name == "tcn" and cfg.data.lookback == 56 and "example" in cfg.tags
