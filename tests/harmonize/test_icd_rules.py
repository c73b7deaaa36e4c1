"""data.hospital (conf/data/hospital/icd10.yaml) is what the stays extraction counts with."""

from __future__ import annotations

import duckdb
import pytest
from omegaconf import OmegaConf

from respicast.cli import CONFIG_DIR
from respicast.harmonize import build_daily_table
from respicast.harmonize.target import hospital_target
from respicast.world import ensure_world, load_world_config

# four months of the small world (SPF COVID rows start in March 2020)
SHORT = {"seed": 3, "start": "2020-04-01", "end": "2020-07-31"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    cfg = {**load_world_config("small", CONFIG_DIR), **SHORT}
    return cfg, ensure_world(cfg, tmp_path_factory.mktemp("icd_world") / "w")


def _data_cfg(compose_app, tmp_path, world, overrides=()) -> dict:
    app = compose_app(
        "train", tmp_path, ["data=toulouse_sim_small", f"paths.root_dir={tmp_path}", *overrides]
    )
    data = OmegaConf.to_container(app.data, resolve=True)
    world_cfg, world_dir = world
    data["world"] = {"dir": str(world_dir), "config": world_cfg, "seed": world_cfg["seed"]}
    data["cache_dir"] = None
    return data


def _stays_with_principal(world_dir, prefix: str) -> int:
    with duckdb.connect(str(world_dir / "hospital" / "stays.duckdb"), read_only=True) as con:
        sql = (
            "SELECT count(*) FROM stays WHERE admission_ts IS NOT NULL AND "
            "replace(upper(trim(principal_dx)), '.', '') LIKE ?"
        )
        return con.execute(sql, [f"{prefix}%"]).fetchone()[0]


def test_composed_rules_are_the_icd10_file(compose_app, tmp_path, world):
    data = _data_cfg(compose_app, tmp_path, world)
    raw = OmegaConf.to_container(OmegaConf.load("conf/data/hospital/icd10.yaml"))
    assert data["hospital"] == raw


def test_dropping_a_code_from_copd_lowers_the_counts_by_its_stays(compose_app, tmp_path, world):
    base = build_daily_table(_data_cfg(compose_app, tmp_path, world)).frame
    # rule 0 is COPD on J44.0/J44.1; keep J44.0 only
    narrow = build_daily_table(
        _data_cfg(compose_app, tmp_path, world, ["data.hospital.rules.0.principal=[J44.0]"])
    ).frame
    assert base["date"].equals(narrow["date"])
    assert (narrow["admissions"] <= base["admissions"]).all()
    dropped = base["admissions"].sum() - narrow["admissions"].sum()
    # a J44.1 principal stay matches no other rule, so each one leaves the counts
    j441 = _stays_with_principal(world[1], "J441")
    assert j441 > 0 and dropped == j441


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.hospital.rules.1.principal=[J45,4J5]", r"data\.hospital\.rules\[1\].*4J5"),
        ("data.hospital.rules.0.outcome=''", r"data\.hospital\.rules\[0\].*outcome"),
        ("+data.hospital.rules.2.severity=high", r"data\.hospital\.rules\[2\].*severity"),
        ("data.hospital.age_bands=[[0,70],[65,200]]", r"data\.hospital\.age_bands.*overlap"),
        ("+data.hospital.rule_file=x.yaml", r"data\.hospital: unknown key.*rule_file"),
    ],
)
def test_invalid_rule_is_an_error_naming_the_key(compose_app, tmp_path, world, override, message):
    data = _data_cfg(compose_app, tmp_path, world, [override])
    with pytest.raises(ValueError, match=message):
        hospital_target(data["target"], str(world[1]), None, data["hospital"])


def test_missing_rules_or_unknown_outcome_is_an_error(compose_app, tmp_path, world):
    data = _data_cfg(compose_app, tmp_path, world)
    with pytest.raises(ValueError, match=r"data\.hospital\.rules is missing"):
        hospital_target(data["target"], str(world[1]), None, None)
    target = {**data["target"], "outcomes": ["copd", "bronchiolitis"]}
    with pytest.raises(ValueError, match=r"data\.target\.outcomes \['bronchiolitis'\]"):
        hospital_target(target, str(world[1]), None, data["hospital"])
