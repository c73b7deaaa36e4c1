"""A trained run dir (written by respicast-train) -> the model, its fitted state and data config.

respicast-eval and respicast-forecast must see the data exactly as the model was trained on it, so the data config comes
from the run's `config_resolved.yaml`; a requested data config may only differ from it in where
the files live (newer files of the same sources), never in what the model's inputs are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.run_dir import CONFIG, FITTED, PREDICTIONS, RunDir, RunError

if TYPE_CHECKING:
    from respicast.models.forecaster import Forecaster, Prediction

log = logging.getLogger(__name__)


# data keys that only say where files are or how to load them: free to differ from training
LOCATION_KEYS = (
    "cache_dir",
    "batch_size",
    "num_workers",
    "pin_memory",
    "persistent_workers",
    "world",
    "name",
)
LOCATION_LEAVES = ("path", "paths", "db", "zones_csv")


@dataclass
class TrainedRun:
    run_dir: Path
    cfg: DictConfig  # the trained run's resolved config
    fitted: dict  # calibrators, thresholds (and a baseline's fitted state)
    predictions: pl.DataFrame | None  # val/test predictions of the run (calibrated)
    # the file the model loads from (Forecaster.checkpoint_file); None: from the fitted state
    checkpoint: Path | None = None

    @property
    def refit(self) -> bool:
        """The loaded model was fitted again on train + val (refit=true): its scalers come from
        that longer part. A deep run's other checkpoints (best epoch, last) are the first fit's."""
        if not self.cfg.get("refit"):
            return False
        # a model kept in the fitted state is the final one; a deep run's checkpoint says which
        return self.checkpoint is None or RunDir.is_refit(self.checkpoint)

    def setup_data(self, dm) -> None:
        """Windows and scalers as the loaded model was fitted on them."""
        from respicast.training import refit_split

        dm.setup()
        if self.refit:
            dm.setup(split=refit_split(dm.split))

    @property
    def model_name(self) -> str:
        return str(self.cfg.model.get("name", "model"))


def resolve_run_dir(path: str | Path) -> tuple[RunDir, Path | None]:
    """A run dir, or a checkpoint file inside its checkpoints/ folder."""
    p = Path(path).expanduser()
    if RunDir.is_checkpoint(p):
        return RunDir.of_checkpoint(p), p
    if not p.is_dir():
        raise RunError(f"ckpt_path={path}: no such run dir (give the dir respicast-train wrote)")
    return RunDir(p), None


def load_run(path: str | Path, which_checkpoint: str = "best") -> TrainedRun:
    rd, ckpt = resolve_run_dir(path)
    cfg = rd.read_config()
    if cfg is None:
        raise RunError(f"{rd.path}: no {CONFIG}; is it a respicast-train run dir?")
    if not rd.has_fitted():
        raise RunError(f"{rd.path}: no {FITTED} (calibrators, thresholds); rerun respicast-train")
    from respicast.models.forecaster import forecaster_class

    ckpt = forecaster_class(cfg.model).checkpoint_file(rd, ckpt, which_checkpoint)
    return TrainedRun(rd.path, cfg, rd.read_fitted(), rd.read_predictions(), ckpt)


def _flat(d, prefix: str = "") -> dict[str, object]:
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def _free(key: str) -> bool:
    parts = key.split(".")
    return (
        parts[0] in LOCATION_KEYS
        or parts[-1] in LOCATION_LEAVES
        or (
            len(parts) > 1 and parts[-2] in LOCATION_LEAVES  # list items of paths
        )
    )


def requested_data_config(trained: DictConfig, overrides: DictConfig | dict | None) -> DictConfig:
    """The trained run's data config with the user's data overrides; refuse changes of substance."""
    if not overrides:
        return trained
    merged = OmegaConf.merge(trained, overrides)
    a = _flat(OmegaConf.to_container(trained, resolve=True))
    b = _flat(OmegaConf.to_container(merged, resolve=True))
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and not _free(k))
    if changed:
        detail = ", ".join(
            f"data.{k}: trained {a.get(k)!r} vs requested {b.get(k)!r}" for k in changed[:8]
        )
        raise RunError(
            "the requested data config is incompatible with the trained run (only file locations may "
            f"differ): {detail}{' …' if len(changed) > 8 else ''}. Retrain with these settings, or drop "
            "the overrides."
        )
    return merged


def load_model(run: TrainedRun, dm) -> Forecaster:
    """The run's fitted Forecaster, for the data of ``dm``."""
    from respicast.models.forecaster import forecaster_class

    return forecaster_class(run.cfg.model).load(
        RunDir(run.run_dir),
        cfg=run.cfg,
        dm=dm,
        checkpoint=run.checkpoint,
    )


def dispersion(prediction: Prediction, run: TrainedRun) -> np.ndarray | None:
    """NB k per horizon of a one-origin prediction (None = Poisson): the model's own count
    distribution, else k fitted on the run's validation residuals."""
    if prediction.dispersion is not None:
        return np.asarray(prediction.dispersion[0], float)
    from respicast.evaluation.quantiles import val_dispersion

    if run.predictions is None:
        log.warning("no %s: Poisson prediction intervals", PREDICTIONS)
        return None
    fitted = val_dispersion(run.predictions.filter(pl.col("split") == "val"))
    horizon = prediction.counts.shape[1]
    out = np.array([fitted.get(h, np.inf) for h in range(1, horizon + 1)], float)
    return None if np.all(np.isinf(out)) else out
