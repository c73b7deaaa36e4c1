"""Run set-up extras (warnings, printed config, tags) and the short metrics table a run prints;
the run dir's files are written by respicast.run_dir.RunDir."""

from __future__ import annotations

import logging
import math
import warnings

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

log = logging.getLogger(__name__)


def apply_extras(cfg: DictConfig) -> None:
    extras = cfg.get("extras") or {}
    if extras.get("ignore_warnings"):
        warnings.filterwarnings("ignore")
    if extras.get("print_config"):
        Console().print(OmegaConf.to_yaml(cfg, resolve=False), markup=False, highlight=False)
    enforce_tags(cfg, bool(extras.get("enforce_tags")))


def enforce_tags(cfg: DictConfig, strict: bool) -> None:
    """A multirun still carrying the root config's placeholder tags cannot be found among other
    runs by tag: an error with extras.enforce_tags=true, else a warning."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    default = list((cfg.get("extras") or {}).get("default_tags") or [])
    tags = list(cfg.get("tags") or [])
    if tags and tags != default:
        return
    msg = (
        f"multirun with the default tags {tags}: its runs cannot be told apart by tag; "
        "give tags=[...] (e.g. tags=[lookback_sweep])"
    )
    if strict:
        raise ValueError(f"{msg}, or set extras.enforce_tags=false")
    log.warning("%s (extras.enforce_tags=true makes this an error)", msg)


def print_metrics_table(
    metrics: dict, split: str = "test", horizons=(1, 3, 7), title: str = ""
) -> None:
    names = ["auroc", "auprc", "brier", "bss", "ece", "mae", "n_pos"]
    table = Table(title=title or f"{split} metrics")
    table.add_column("horizon")
    for n in names:
        table.add_column(n, justify="right")
    for h in horizons:
        row = []
        for n in names:
            v = metrics.get(f"{split}/{n}_h{h}")
            cell = (
                "—"
                if v is None or (isinstance(v, float) and math.isnan(v))
                else (f"{int(v)}" if n == "n_pos" else f"{v:.3f}")
            )
            if metrics.get(f"{split}/{n}_h{h}_unreliable") == 1:  # NaN = not flagged
                cell += "*"
            row.append(cell)
        if any(c != "—" for c in row):
            table.add_row(f"h={h}", *row)
    oracle = [metrics.get(f"oracle/{n}_h1") for n in ("auroc", "brier")]
    Console().print(table)
    if oracle[0] is not None:
        Console().print(
            f"oracle ceiling (simulator truth) h=1: AUROC {oracle[0]:.3f}, Brier {oracle[1]:.3f}"
        )
    ceiling = {h: metrics.get(f"ceiling/auroc_h{h}") for h in horizons}
    if any(v is not None for v in ceiling.values()):
        Console().print(
            "achievable ceiling (planted model, known at origin) AUROC "
            + ", ".join(f"h={h} {v:.3f}" for h, v in ceiling.items() if v is not None)
        )
    if any(
        k.startswith(f"{split}/") and k.endswith("_unreliable") and v == 1
        for k, v in metrics.items()
    ):
        Console().print("* fewer than the minimum positives: unreliable")
