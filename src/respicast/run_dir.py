"""The one place that knows what a run dir holds (docs/architecture.md §5-6): every file name of a
run is spelled here, and every read and write of those files goes through `RunDir`.

A run's config is read from ``config_resolved.yaml`` (what respicast wrote, interpolations
resolved; for ``respicast-eval mode=checkpoint`` the trained model's config), else from Hydra's
``.hydra/config.yaml`` (a run that only Hydra wrote). Every reader uses this order.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
from collections.abc import Iterable
from pathlib import Path

import polars as pl
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

METRICS = "metrics.json"
PREDICTIONS = "predictions.parquet"
QUANTILES = "predictions_quantiles.parquet"
FITTED = "fitted.pkl"
CONFIG = "config_resolved.yaml"
HYDRA_DIR = ".hydra"
HYDRA_CONFIG = "config.yaml"
HYDRA_OVERRIDES = "overrides.yaml"
CHECKPOINTS = "checkpoints"
MEMBERS = "members"  # an ensemble's members, one run dir each
CKPT_SUFFIX = ".ckpt"
LAST_CKPT = "last.ckpt"
REFIT_CKPT = "refit.ckpt"  # the model refit on train + val (refit=true): what predicted test
EPOCH_CKPTS = "epoch_*.ckpt"  # conf/callbacks/model_checkpoint.yaml's filename pattern
PLOTS = "plots"
LEARNING_CURVES = "csv/**/metrics.csv"  # the CSV logger's files (conf/logger/csv.yaml)
IMPORTANCE = "importance_groups.csv"
REPORT = "report"  # report.md, report.html
FORECAST = "forecast"  # forecast.json, forecast.csv, forecast.html
HUB_OUTPUT = "model-output"  # hubverse: model-output/<model_id>/<round_id>-<model_id>.csv
COMPARISON = "comparison"  # respicast-report: comparison.md, .csv, .html
ABLATION = "ablation"  # respicast-report mode=ablation: ablation.csv, .md, .html


class RunError(ValueError):
    """A run dir that cannot be used as asked: missing files, incompatible data config."""


class RunDir:
    """A run's folder: ``RunDir(cfg.paths.output_dir)``; backtest folds live in ``fold(k)``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        """The folder's own name: what a page or a forecast.json shows instead of a server path."""
        return self.path.name

    # ---- where things are -------------------------------------------------------------------
    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS

    @property
    def predictions_file(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def quantiles_file(self) -> Path:
        return self.path / QUANTILES

    @property
    def fitted_file(self) -> Path:
        return self.path / FITTED

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    @property
    def overrides_file(self) -> Path:
        return self.path / HYDRA_DIR / HYDRA_OVERRIDES

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_CKPT

    @property
    def refit_checkpoint(self) -> Path:
        return self.checkpoints / REFIT_CKPT

    @staticmethod
    def is_refit(checkpoint: Path) -> bool:
        return Path(checkpoint).name == REFIT_CKPT

    @property
    def plots(self) -> Path:
        return self.path / PLOTS

    def plot(self, name: str) -> Path:
        """plots/<name>.png"""
        return self.plots / f"{name}.png"

    def fold(self, k: int) -> RunDir:
        """A backtest fold's own dir (trainer files, checkpoints): fold_<k>/."""
        return RunDir(self.path / f"fold_{k}")

    def member(self, label: str) -> RunDir:
        """An ensemble member's own dir (its trainer files, checkpoints, fitted state):
        members/<label>/."""
        return RunDir(self.path / MEMBERS / label)

    def owning_trainer_files(self, cfg: DictConfig) -> DictConfig:
        """A copy of the run config whose Trainer writes its files and checkpoints in this dir
        (a backtest fold's, an ensemble member's)."""
        from omegaconf import open_dict

        out = cfg.copy()
        with open_dict(out):
            out.trainer.default_root_dir = str(self.path)
            ckpt = (out.get("callbacks") or {}).get("model_checkpoint")
            if ckpt is not None:
                ckpt.dirpath = str(self.checkpoints)
        return out

    def config_files(self) -> list[Path]:
        """The config files in reading order (module docstring)."""
        return [self.config_file, self.path / HYDRA_DIR / HYDRA_CONFIG]

    def report_files(self) -> tuple[Path, Path]:
        return self.path / f"{REPORT}.md", self.path / f"{REPORT}.html"

    def forecast_files(self) -> dict[str, Path]:
        return {s: self.path / f"{FORECAST}.{s}" for s in ("json", "csv", "html")}

    def hub_file(self, model_id: str, round_id: str) -> Path:
        """The hubverse model-output file of one round (respicast-forecast format=hub)."""
        return self.path / HUB_OUTPUT / model_id / f"{round_id}-{model_id}.csv"

    def comparison_files(self) -> dict[str, Path]:
        return {s: self.path / f"{COMPARISON}.{s}" for s in ("md", "html", "csv")}

    def ablation_files(self) -> dict[str, Path]:
        return {s: self.path / f"{ABLATION}.{s}" for s in ("csv", "md", "html")}

    def ablation_plot(self) -> Path:
        return self.plot(ABLATION)

    def learning_curve_files(self) -> list[Path]:
        """The CSV logger's metrics.csv files, oldest first."""
        return sorted(self.path.glob(LEARNING_CURVES), key=lambda p: p.stat().st_mtime)

    def epoch_checkpoints(self) -> list[Path]:
        return sorted(self.checkpoints.glob(EPOCH_CKPTS))

    # ---- writing ----------------------------------------------------------------------------
    def _ready(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def write_metrics(self, metrics: dict) -> Path:
        """Flat metrics as JSON, NaN as null (JSON has no NaN)."""
        self._ready()
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()
        }
        self.metrics_file.write_text(json.dumps(clean, indent=1, sort_keys=True))
        return self.metrics_file

    def write_predictions(self, predictions: pl.DataFrame) -> Path:
        self._ready()
        predictions.write_parquet(self.predictions_file)
        return self.predictions_file

    def write_quantiles(self, frame: pl.DataFrame) -> Path:
        self._ready()
        frame.write_parquet(self.quantiles_file)
        log.info("wrote %s", self.quantiles_file)
        return self.quantiles_file

    def write_config(self, cfg: DictConfig) -> Path:
        self._ready()
        self.config_file.write_text(OmegaConf.to_yaml(cfg, resolve=True))
        return self.config_file

    def write_fitted(self, state: dict) -> Path:
        """Calibrators, thresholds and a baseline's fitted state, pickled."""
        self._ready()
        with open(self.fitted_file, "wb") as f:
            pickle.dump(state, f)
        return self.fitted_file

    def write_importance(self, frame: pl.DataFrame) -> Path:
        path = self._ready() / IMPORTANCE
        frame.write_csv(path)
        return path

    # ---- reading ----------------------------------------------------------------------------
    def has_metrics(self) -> bool:
        return self.metrics_file.exists()

    def has_predictions(self) -> bool:
        return self.predictions_file.exists()

    def read_metrics(self) -> dict:
        try:
            return json.loads(self.metrics_file.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.metrics_file}: not valid JSON ({err})") from err

    def read_predictions(self) -> pl.DataFrame | None:
        """predictions.parquet, or None when the run has none."""
        return pl.read_parquet(self.predictions_file) if self.has_predictions() else None

    def find_config(self) -> Path | None:
        return next((p for p in self.config_files() if p.exists()), None)

    def read_config(self) -> DictConfig | None:
        """The run's config (module docstring for which file), or None when it has none."""
        path = self.find_config()
        return OmegaConf.load(path) if path is not None else None

    def read_overrides(self) -> list[str]:
        """Hydra's command-line overrides of the run ([] outside Hydra)."""
        if not self.overrides_file.exists():
            return []
        return [str(o) for o in OmegaConf.to_container(OmegaConf.load(self.overrides_file)) or []]

    def checkpoint(self, which: str = "best") -> Path:
        """``last``: checkpoints/last.ckpt. ``best``: the one the run's test metrics were
        computed with: refit.ckpt when the run was refit on train + val, else ModelCheckpoint's
        best as last.ckpt records it, else the newest epoch file, else last.ckpt."""
        last = self.last_checkpoint
        if which == "last":
            if not last.exists():
                raise RunError(f"{self.path}: no {CHECKPOINTS}/{LAST_CKPT}")
            return last
        if self.refit_checkpoint.exists():
            return self.refit_checkpoint
        best = self._recorded_best() if last.exists() else None
        if best is not None:
            return best
        epochs = self.epoch_checkpoints()
        if epochs:
            return epochs[-1]
        if last.exists():
            return last
        raise RunError(f"{self.path}: a deep model's run without any checkpoint in {CHECKPOINTS}/")

    def _recorded_best(self) -> Path | None:
        import torch

        state = torch.load(self.last_checkpoint, map_location="cpu", weights_only=False)
        for key, cb in state.get("callbacks", {}).items():
            best = (
                Path(cb.get("best_model_path") or "") if key.startswith("ModelCheckpoint") else None
            )
            if best and best.name and (self.checkpoints / best.name).exists():
                return self.checkpoints / best.name  # the run dir may have moved: look here
        return None

    def has_fitted(self) -> bool:
        return self.fitted_file.exists()

    def read_fitted(self) -> dict:
        with open(self.fitted_file, "rb") as f:
            return pickle.load(f)

    # ---- finding runs -----------------------------------------------------------------------
    @staticmethod
    def is_checkpoint(path: Path) -> bool:
        return path.is_file() and path.suffix == CKPT_SUFFIX

    @classmethod
    def of_checkpoint(cls, ckpt: Path) -> RunDir:
        """The run dir a checkpoint file belongs to (<run>/checkpoints/<file>.ckpt)."""
        return cls(Path(ckpt).parent.parent)

    @classmethod
    def find(cls, entries: Iterable[str | Path]) -> list[RunDir]:
        """Every run (a folder holding metrics.json) at or under the given dirs, in order, once."""
        found: list[RunDir] = []
        for entry in map(Path, entries):
            if not entry.exists():
                raise FileNotFoundError(f"report runs: {entry} does not exist")
            hits = (
                [cls(entry)]
                if cls(entry).has_metrics()
                else [cls(d) for d in sorted(p.parent for p in entry.rglob(METRICS))]
            )
            if not hits:
                raise FileNotFoundError(f"report runs: no {METRICS} under {entry}")
            found += [h for h in hits if h not in found]
        return found
