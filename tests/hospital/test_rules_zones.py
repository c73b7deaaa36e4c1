"""Selection rules (dataclass, YAML config), SQL binding and the zones map."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from respicast.hospital import DEFAULT_RULES, Rule, SelectionRules, read_zone_map
from respicast.hospital.query import counts_sql

CONF = Path(__file__).parents[2] / "conf" / "data" / "hospital" / "icd10.yaml"


def test_shipped_config_equals_default_rules():
    assert SelectionRules.from_yaml(CONF) == DEFAULT_RULES
    assert DEFAULT_RULES.outcomes == ["copd", "asthma"]


def test_rule_codes_are_normalised_and_expanded():
    rule = Rule("copd", ["j44.0", " J441"], ["J44"])
    assert rule.principal == ("J440", "J441") and rule.associated == ("J44",)
    rows = SelectionRules((rule, Rule("asthma", ("J45", "J46")))).rows()
    assert rows == [
        (0, "copd", "J440", "J44"),
        (0, "copd", "J441", "J44"),
        (1, "asthma", "J45", None),
        (1, "asthma", "J46", None),
    ]


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"rules": []}, "at least one rule"),
        ({"rules": [{"outcome": "copd"}]}, r"rules\[0\]: needs keys"),
        (
            {"rules": [{"outcome": "copd", "principal": "J44"}]},
            r"rules\[0\]: copd.principal: expected a list",
        ),
        (
            {"rules": [{"outcome": "copd", "principal": ["J44'; DROP"]}]},
            r"copd.principal\[0\].*not an ICD-10",
        ),
        (
            {"rules": [{"outcome": "copd", "principal": ["J44"], "asociated": ["J45"]}]},
            "unknown keys",
        ),
        ({"rule": []}, "key 'rules'"),
    ],
)
def test_bad_rule_config_names_the_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        SelectionRules.from_config(cfg)


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - outcome: copd\n    principal: [J44, 12]\n")
    with pytest.raises(ValueError, match=rf"{path}: rules\[0\]: copd.principal\[1\]"):
        SelectionRules.from_yaml(path)


def test_rules_and_dates_are_bound_not_pasted():
    sql, params = counts_sql(
        DEFAULT_RULES, ((0, 14),), dt.date(2021, 1, 1), dt.date(2021, 2, 1), "unknown"
    )
    for value in ("J44", "J45", "J96", "copd", "asthma", "2021", "0-14", "unknown"):
        assert value not in sql
    assert {"J440", "J441", "J45", "J46", "J96", "J960", "J44"} <= set(params.values())


def test_zone_map_keeps_leading_zeros_and_dedupes(tmp_path, caplog):
    path = tmp_path / "zones.csv"
    path.write_text(
        "zone,zone_name,postcode,population,lat,lon\n09,Ariege,09000,1,0,0\n09,Ariege,09000,1,0,0\n31,HG,31000,1,0,0\n"
    )
    with caplog.at_level(logging.WARNING):
        zones = read_zone_map(path)
    assert zones.rows() == [("09000", "09"), ("31000", "31")]
    assert "1 repeated postcode row(s)" in caplog.text


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "zone,postcode\na,31000\nb,31000\n",
            r"postcode '31000' maps to several zones \['a', 'b'\] on lines \[2, 3\]",
        ),
        ("zone,code\na,31000\n", r"lacks column\(s\) \['postcode'\]"),
        ("zone,postcode\na,31000\n,31100\n", r"empty zone or postcode on line\(s\) \[3\]"),
        ("zone,postcode\nunknown,31000\n", "reserved"),
    ],
)
def test_bad_zone_map_names_file_and_line(tmp_path, body, message):
    path = tmp_path / "zones.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message):
        read_zone_map(path)
    assert str(path) in str(pytest.raises(ValueError, read_zone_map, path).value)


def test_missing_zone_map(tmp_path):
    with pytest.raises(FileNotFoundError, match="zones.csv"):
        read_zone_map(tmp_path / "zones.csv")
