"""Hydra sweep expressions -> Optuna distributions, override formatting, storage URLs, presets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from respicast.sweep.search_space import SearchSpaceError, format_override, parse_search_space
from respicast.sweep.storage import absolute_storage_url
from respicast.sweep.trial import TrialRef

from .conftest import APPS, CONF

PRESETS = sorted((CONF / "hparams_search").glob("*_optuna.yaml"))


def one(expr: str):
    space, fixed = parse_search_space([f"k={expr}"])
    assert not fixed
    return space["k"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("interval(0.0, 0.5)", FloatDistribution(0.0, 0.5)),
        ("tag(log, interval(1e-4, 1e-2))", FloatDistribution(1e-4, 1e-2, log=True)),
        ("tag(int, interval(1, 8))", IntDistribution(1, 8)),
        ("tag(int, log, interval(2, 64))", IntDistribution(2, 64, log=True)),
        # Hydra's range excludes stop, like the basic sweeper would enumerate it
        ("range(16, 128, step=16)", IntDistribution(16, 112, step=16)),
        ("range(16, 129, step=16)", IntDistribution(16, 128, step=16)),
        ("range(1, 4)", IntDistribution(1, 3)),
        ("tag(log, range(8, 129))", IntDistribution(8, 128, log=True)),
        ("range(0.0, 0.55, step=0.1)", FloatDistribution(0.0, 0.5, step=0.1)),
        ("choice(relu, gelu)", CategoricalDistribution(["relu", "gelu"])),
        ("14,28,56", CategoricalDistribution([14, 28, 56])),
        ("choice(true, adam, 0.5)", CategoricalDistribution([True, "adam", 0.5])),
    ],
)
def test_sweep_expression_maps_to_distribution(expr, expected):
    assert one(expr) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "tag(log, range(8, 64, step=8))",
        "tag(log, choice(1, 2))",
        "tag(foo, interval(0, 1))",
        "range(5, 5)",
        "choice([1, 2], [3])",
    ],
)
def test_unmappable_expressions_are_rejected(expr):
    with pytest.raises(SearchSpaceError):
        one(expr)


def test_fixed_overrides_pass_through_and_later_sources_win():
    space, fixed = parse_search_space(
        {"a": "interval(0, 1)", "b": "choice(1, 2)"}, ["b=3", "+c=x", "a=tag(log, interval(1, 2))"]
    )
    assert space == {"a": FloatDistribution(1, 2, log=True)}
    assert fixed == ["b=3", "+c=x"]


@pytest.mark.parametrize(
    "value", [1e-05, 0.001, 3, -2, True, False, None, "relu", "true", "1", "a b", "it's", "x/y.z"]
)
def test_formatted_override_parses_back_to_same_value_and_type(value):
    (ov,) = OverridesParser.create().parse_overrides([format_override("k", value)])
    assert ov.value() == value and type(ov.value()) is type(value)


def test_trial_ref_override_round_trips_through_hydra(tmp_path):
    ref = TrialRef(storage=f"sqlite:///{tmp_path}/o p't.db", study="lstm_optuna", number=12)
    (ov,) = OverridesParser.create().parse_overrides([ref.as_override()])
    assert ov.key_or_group == "optuna_trial" and TrialRef.from_config(ov.value()) == ref


def test_storage_paths_become_absolute(tmp_path):
    assert absolute_storage_url("sqlite:///runs/a/optuna.db", tmp_path) == (
        f"sqlite:///{tmp_path}/runs/a/optuna.db"
    )
    assert (
        absolute_storage_url("journal:runs/j.log", tmp_path) == f"journal://{tmp_path}/runs/j.log"
    )
    assert (tmp_path / "runs").is_dir()
    url = "postgresql+psycopg2://me@db.cluster/optuna"
    assert absolute_storage_url(url, tmp_path) == url


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_search_space_parses_to_optuna_distributions(preset: Path):
    cfg = OmegaConf.load(preset)
    params = OmegaConf.to_container(cfg.hydra.sweeper.params)
    space, fixed = parse_search_space(params)
    assert not fixed and len(space) == len(params) >= 3
    assert cfg.hydra.sweeper.study_name == preset.stem
    assert any(k.endswith("lr") or k.endswith("learning_rate") for k in space)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_composes_and_searches_existing_keys(preset: Path):
    # primary config from tests/sweep/apps/conf; model configs from the repo's conf/
    with initialize_config_dir(version_base="1.3", config_dir=str(APPS / "conf")):
        cfg = compose(
            "search_check",
            overrides=[f"hydra.searchpath=[file://{CONF}]", f"hparams_search={preset.stem}"],
            return_hydra_config=True,
        )
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("RespicastOptunaSweeper")
    assert sweeper.pruner._target_.startswith("optuna.pruners.")
    assert cfg.model.name.startswith(preset.stem.removesuffix("_optuna"))
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, f"{preset.stem}: {key} not in the config"
