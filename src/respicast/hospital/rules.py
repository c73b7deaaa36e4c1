"""ICD-10 selection rules: which stays count as a COPD or asthma admission.

A rule matches a stay when its principal diagnosis starts with one of ``principal`` and, if
``associated`` is not empty, at least one associated diagnosis starts with one of ``associated``.
Codes are compared without dot, upper case (``J44.1`` -> ``J441``), so the French 5-character
extensions (``J4410``, ``J9600``) match their 4-character prefix.

Precedence: rules are ordered and the first matching rule decides the outcome, so a stay is
counted at most once. The default order puts the rules on the principal diagnosis alone first
(J44.0/J44.1 -> COPD, J45/J46 -> asthma), then the respiratory-failure (J96) rules with COPD
before asthma: a J96.0 stay with both J44 and J45 associated counts as COPD.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_PREFIX = re.compile(r"^[A-Z][0-9A-Z]{0,6}$")


def normalise_code(code: str) -> str:
    """ICD-10 code in the database form: no dot, no blanks, upper case (``j44.1`` -> ``J441``)."""
    return code.strip().replace(".", "").upper()


def _prefixes(values: Any, key: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"{key}: expected a list of ICD-10 prefixes, got {values!r}")
    out = []
    for i, value in enumerate(values):
        if not isinstance(value, str) or not _PREFIX.match(normalise_code(value)):
            raise ValueError(f"{key}[{i}]: {value!r} is not an ICD-10 code prefix (e.g. J44, J441)")
        out.append(normalise_code(value))
    return tuple(out)


@dataclass(frozen=True)
class Rule:
    """One selection rule (see the module docstring)."""

    outcome: str
    principal: tuple[str, ...]
    associated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, str) or not self.outcome:
            raise ValueError(f"rule outcome must be a non-empty string, got {self.outcome!r}")
        object.__setattr__(
            self, "principal", _prefixes(self.principal, f"{self.outcome}.principal")
        )
        object.__setattr__(
            self, "associated", _prefixes(self.associated, f"{self.outcome}.associated")
        )
        if not self.principal:
            raise ValueError(f"rule for {self.outcome!r}: 'principal' needs at least one prefix")


@dataclass(frozen=True)
class SelectionRules:
    """Ordered rules; the first one that matches a stay gives its outcome."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not self.rules:
            raise ValueError("selection rules: at least one rule is needed")

    @property
    def outcomes(self) -> list[str]:
        """Distinct outcomes in rule order."""
        return list(dict.fromkeys(r.outcome for r in self.rules))

    def rows(self) -> list[tuple[int, str, str, str | None]]:
        """Flat (rank, outcome, principal prefix, associated prefix or None) rows for SQL."""
        out: list[tuple[int, str, str, str | None]] = []
        for rank, rule in enumerate(self.rules):
            for p in rule.principal:
                for a in rule.associated or (None,):
                    out.append((rank, rule.outcome, p, a))
        return out

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SelectionRules:
        """From ``{"rules": [{"outcome": ..., "principal": [...], "associated": [...]}, ...]}``.

        Accepts a plain mapping or an OmegaConf DictConfig (e.g. ``cfg.data.hospital``).
        """
        if hasattr(cfg, "_metadata"):  # OmegaConf container -> plain python
            from omegaconf import OmegaConf

            cfg = OmegaConf.to_container(cfg, resolve=True)
        if not isinstance(cfg, Mapping) or "rules" not in cfg:
            raise ValueError("selection rules config: expected a mapping with key 'rules'")
        items = cfg["rules"]
        if not isinstance(items, list):
            raise ValueError("selection rules config: 'rules' must be a list")
        rules = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ValueError(f"rules[{i}]: expected a mapping, got {item!r}")
            unknown = sorted(set(item) - {"outcome", "principal", "associated"})
            if unknown or "outcome" not in item or "principal" not in item:
                raise ValueError(
                    f"rules[{i}]: needs keys 'outcome' and 'principal' (optional 'associated'); "
                    f"unknown keys {unknown}"
                )
            try:
                rules.append(Rule(item["outcome"], item["principal"], item.get("associated") or ()))
            except ValueError as err:
                raise ValueError(f"rules[{i}]: {err}") from None
        return cls(tuple(rules))

    @classmethod
    def from_yaml(cls, path: str | Path) -> SelectionRules:
        """Read rules from a YAML file shaped like ``conf/data/hospital/icd10.yaml``."""
        path = Path(path)
        try:
            cfg = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ValueError(f"{path}: cannot read selection rules: {err}") from err
        try:
            return cls.from_config(cfg)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


DEFAULT_RULES = SelectionRules(
    (
        Rule("copd", ("J440", "J441")),
        Rule("asthma", ("J45", "J46")),
        Rule("copd", ("J96",), ("J44",)),
        Rule("asthma", ("J960",), ("J45", "J46")),
    )
)
