"""A trained run dir (written by respicast-train) -> the model, its fitted state and data config.

respicast-eval and respicast-forecast must see the data exactly as the model was trained on it, so the data config comes
from the run's `config_resolved.yaml`; a requested data config may only differ from it in where
the files live (newer files of the same sources), never in what the model's inputs are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.run_dir import CONFIG, FITTED, PREDICTIONS, RunDir, RunError

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
    fitted: dict  # calibrators, thresholds (and 'baseline')
    predictions: pl.DataFrame | None  # val/test predictions of the run (calibrated)
    checkpoint: Path | None  # deep models

    @property
    def is_deep(self) -> bool:
        return "baseline" not in self.fitted

    @property
    def refit(self) -> bool:
        """The loaded model was fitted again on train + val (refit=true): its scalers come from
        that longer part. A deep run's other checkpoints (best epoch, last) are the first fit's."""
        if not self.cfg.get("refit"):
            return False
        return not self.is_deep or (self.checkpoint is not None and RunDir.is_refit(self.checkpoint))

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
    run = TrainedRun(rd.path, cfg, rd.read_fitted(), rd.read_predictions(), None)
    if run.is_deep:
        run.checkpoint = ckpt or rd.checkpoint(which_checkpoint)
    return run


def as_dict(node) -> dict:
    """A config node (or None, or a plain mapping) as a plain dict."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return dict(node or {})


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


def load_model(run: TrainedRun, dm):
    """The fitted model: a deep module restored from its checkpoint, or the pickled baseline."""
    if not run.is_deep:
        return run.fitted["baseline"]
    import hydra
    import torch

    ckpt = torch.load(run.checkpoint, map_location="cpu", weights_only=False)
    saved = ckpt.get("hyper_parameters", {}).get("dims")
    dims = dm.dims
    if saved is not None:
        saved = _as_plain(saved)
        now = _as_plain(dims)
        diff = {k: (saved[k], now.get(k)) for k in saved if saved[k] != now.get(k)}
        if diff:
            raise RunError(
                f"checkpoint {run.checkpoint} was trained on inputs {saved}, but the data now give "
                f"{now} (differences: {diff}); the sources changed their variables?"
            )
    module = hydra.utils.instantiate(run.cfg.model, dims=dims)
    module.load_state_dict(ckpt["state_dict"])
    module.eval()
    return module


def _as_plain(dims) -> dict:
    """Dims saved in a checkpoint: a dataclass, a dict or an OmegaConf node (hparams)."""
    import dataclasses

    if isinstance(dims, DictConfig):
        return dict(OmegaConf.to_container(dims))
    return dataclasses.asdict(dims) if dataclasses.is_dataclass(dims) else dict(dims)


def dispersion(model, run: TrainedRun, horizon: int) -> np.ndarray | None:
    """NB dispersion k per horizon (None = Poisson): the model's own, else fitted on val residuals."""
    k = getattr(model, "dispersion", None)
    if k is not None and not callable(k):
        return np.broadcast_to(
            np.asarray(k.cpu().numpy() if hasattr(k, "cpu") else k, float), (horizon,)
        )
    uses_nb = getattr(model, "distribution", None) == "nb" or getattr(model, "prob", None) == "nb"
    own = getattr(model, "dispersion_", None)
    if uses_nb and own is not None:
        return None if np.isinf(own) else np.full(horizon, float(own))
    if run.is_deep:  # a Poisson deep model
        return None
    return _val_dispersion(run, horizon)


def _val_dispersion(run: TrainedRun, horizon: int) -> np.ndarray | None:
    from respicast.models.baselines.dispersion import fit_nb_dispersion

    if run.predictions is None:
        log.warning("no %s: Poisson prediction intervals", PREDICTIONS)
        return None
    val = run.predictions.filter(pl.col("split") == "val")
    out = np.full(horizon, np.inf)
    for h in range(1, horizon + 1):
        sub = val.filter(pl.col("horizon") == h)
        try:
            out[h - 1] = fit_nb_dispersion(sub["observed"].to_numpy(), sub["predicted"].to_numpy())
        except ValueError:
            pass
    return None if np.all(np.isinf(out)) else out
