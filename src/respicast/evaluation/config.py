"""The ``evaluation`` config node (conf/evaluation/default.yaml), read into a typed object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from omegaconf import DictConfig, OmegaConf

from respicast.evaluation.calibration import METHODS
from respicast.evaluation.quantiles import HUB_LEVELS
from respicast.evaluation.thresholds import RULES


@dataclass(frozen=True)
class DecisionConfig:
    rule: str = "youden"
    target_sensitivity: float = 0.8
    alert_budget: float = 0.1


@dataclass(frozen=True)
class BootstrapConfig:
    n: int = 200
    block: str = "iso_week"
    seed: int = 0
    level: float = 0.95


@dataclass(frozen=True)
class EvaluationConfig:
    calibration: str = "auto"
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    horizons: list[int] | None = None
    min_positives: int = 20
    ece_bins: int = 10
    mase_naive: str = "persistence"
    quantile_levels: tuple[float, ...] = HUB_LEVELS


def _build(cls, raw: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"config {where}: unknown key(s) {unknown}; expected {sorted(known)}")
    kwargs = {}
    for name, value in raw.items():
        sub = (
            {"decision": DecisionConfig, "bootstrap": BootstrapConfig}.get(name)
            if cls is EvaluationConfig
            else None
        )
        kwargs[name] = _build(sub, value or {}, f"{where}.{name}") if sub else value
    return cls(**kwargs)


def load_config(cfg: DictConfig | dict | EvaluationConfig | None) -> EvaluationConfig:
    """Typed config from a Hydra node or plain dict; missing keys take the defaults above."""
    if isinstance(cfg, EvaluationConfig):
        return cfg
    raw = (
        OmegaConf.to_container(cfg, resolve=True)
        if isinstance(cfg, DictConfig)
        else dict(cfg or {})
    )
    out = _build(EvaluationConfig, raw, "evaluation")
    if out.calibration not in METHODS:
        raise ValueError(f"config evaluation.calibration: {out.calibration!r} not in {METHODS}")
    if out.decision.rule not in RULES:
        raise ValueError(f"config evaluation.decision.rule: {out.decision.rule!r} not in {RULES}")
    if out.mase_naive not in ("persistence", "seasonal"):
        raise ValueError(
            f"config evaluation.mase_naive: {out.mase_naive!r} not in ('persistence', 'seasonal')"
        )
    if out.bootstrap.block != "iso_week":
        raise ValueError(
            f"config evaluation.bootstrap.block: only 'iso_week' is supported, got {out.bootstrap.block!r}"
        )
    from respicast.evaluation.proper_scores import interval_pairs

    interval_pairs(out.quantile_levels)  # in (0, 1), sorted, symmetric with a median (WIS)
    return out
