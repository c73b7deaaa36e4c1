"""An ensemble member taken from a run respicast-train already wrote: ``model.members.<label>:
{run: <run dir>}``. It is loaded, never fitted nor refit by the ensemble.

It predicts the ensemble's windows with the run's fitted model, so those windows must be what the
model was trained on: the run's data config must equal the ensemble's (every key but file
locations, its name included: horizon, lookback, target, series, split, peak, groups ...), and so
must ``refit``, since the scalers of the windows that predict test come from train (refit=false)
or train + val (refit=true). A run refit on train + val has seen the validation part: before the
ensemble's own refit, the member stands for that run's first fit, so its validation predictions
(what the weights, missing dispersions, calibrators and thresholds are fitted on) are the ones
the run saved in its predictions.parquet, out of sample; any other window then is an error.

A backtest refits every model per fold, which a loaded member cannot be: ``respicast-eval
mode=backtest`` refuses an ensemble with one (``refuse_in_backtest``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.models.forecaster import Prediction
from respicast.run_dir import RunDir, RunError

if TYPE_CHECKING:
    from respicast.dataset.windows import WindowSet
    from respicast.trained_run import TrainedRun

log = logging.getLogger(__name__)

RUN_KEY = "run"  # model.members.<label>.run: the run dir of a loaded member


def is_loaded(member_cfg) -> bool:
    return isinstance(member_cfg, dict | DictConfig) and RUN_KEY in member_cfg


def loaded_labels(model_cfg: DictConfig) -> list[str]:
    return [str(lb) for lb, m in (model_cfg.get("members") or {}).items() if is_loaded(m)]


def refuse_in_backtest(cfg: DictConfig) -> None:
    """A backtest trains every member anew per fold; a loaded member cannot be."""
    labels = loaded_labels(cfg.model)
    if labels:
        keys = ", ".join(f"model.members.{lb}.run" for lb in labels)
        raise ValueError(
            f"{keys}: a member loaded from a trained run cannot be refit per backtest fold; "
            "backtest an ensemble of model configs, or score the trained ensemble with "
            "respicast-eval mode=checkpoint"
        )


def data_differences(trained: DictConfig, ours: DictConfig) -> list[str]:
    """``key: trained vs ours`` for every data key that differs, file locations aside."""
    from respicast.trained_run import _flat, _free

    a = _flat(OmegaConf.to_container(trained, resolve=True))
    b = _flat(OmegaConf.to_container(ours, resolve=True))
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return [
        f"data.{k}: run {a.get(k)!r} vs ensemble {b.get(k)!r}"
        for k in keys
        if k == "name" or not _free(k)
    ]


class LoadedMember:
    """A trained run's fitted Forecaster as an ensemble member (module docstring)."""

    def __init__(self, label: str, run: TrainedRun, model, first_fit: bool):
        self.label, self.run, self.model = label, run, model
        self.name = run.model_name
        # a refit run before the ensemble's refit: its saved (first-fit) val predictions
        self.first_fit = first_fit and bool(run.cfg.get("refit"))

    @property
    def path(self) -> Path:
        return Path(self.run.run_dir)

    @classmethod
    def open(cls, label: str, run_path, cfg: DictConfig, dm, *, first_fit: bool) -> LoadedMember:
        """The member of ``model.members.<label>.run`` for the ensemble run ``cfg`` and data
        ``dm``; every check names the member and its key."""
        from respicast.trained_run import load_model, load_run

        key = f"model.members.{label}.{RUN_KEY}"
        path = Path(str(run_path)).expanduser()
        if not path.is_dir():
            raise RunError(f"{key}={run_path}: no such run dir (give a dir respicast-train wrote)")
        try:
            run = load_run(path.resolve())
        except (RunError, FileNotFoundError) as err:
            raise RunError(f"{key}={run_path}: {err}") from err
        if run.cfg.model.get("members"):
            raise RunError(f"{key}={run_path}: an ensemble's run; give its members' runs instead")
        diff = data_differences(run.cfg.data, cfg.data)
        if diff:
            raise RunError(
                f"{key}={run_path}: trained on another data config than the ensemble's "
                f"({'; '.join(diff[:6])}{' …' if len(diff) > 6 else ''})"
            )
        if bool(run.cfg.get("refit")) != bool(cfg.get("refit")):
            raise RunError(
                f"{key}={run_path}: run with refit={run.cfg.get('refit')}, the ensemble with "
                f"refit={cfg.get('refit')}: its test inputs would be scaled on another part; "
                "set the ensemble's refit to the run's"
            )
        if run.cfg.get("refit") and dm_is_panel(dm):
            raise RunError(
                f"{key}={run_path}: a panel run refit on train + val cannot be loaded as a member "
                "yet (its saved validation rows are not matched per series); train it with "
                "refit=false"
            )
        if run.cfg.get("refit") and first_fit and _saved_val(run).height == 0:
            raise RunError(
                f"{key}={run_path}: a refit run without validation rows in its predictions "
                "file: its first fit's validation predictions are gone"
            )
        try:
            model = load_model(run, dm)
        except (RunError, FileNotFoundError, KeyError) as err:
            raise RunError(f"{key}={run_path}: cannot load its model ({err})") from err
        log.info("ensemble member %s: loaded %s from %s", label, run.model_name, run.run_dir)
        return cls(label, run, model, first_fit)

    def fit(self, train: WindowSet, val: WindowSet | None) -> LoadedMember:
        log.info("ensemble member %s: loaded from %s, not fitted", self.label, self.path)
        return self

    def refit(self, train: WindowSet) -> LoadedMember:
        """The run's final model: refit, if at all, by the run that trained it."""
        return LoadedMember(self.label, self.run, self.model, first_fit=False)

    def predict(self, windows: WindowSet) -> Prediction:
        if not self.first_fit:
            return self.model.predict(windows)
        return self._saved(windows)

    def _saved(self, windows: WindowSet) -> Prediction:
        """The run's first-fit validation predictions of exactly these windows (matched on
        origin and horizon: the saved file is not in the windows' order)."""
        n, h = windows.y_count.shape
        asked = pl.DataFrame(
            {
                "origin_date": np.repeat(windows.origins.astype("datetime64[D]"), h),
                "horizon": np.tile(np.arange(1, h + 1), n).astype(np.int32),
            }
        ).with_columns(pl.col("origin_date").cast(pl.Date))
        val = _saved_val(self.run)
        cols = [c for c in ("predicted", "peak_prob", "peak_prob_raw", "dispersion") if c in val]
        rows = asked.join(
            val.select("origin_date", pl.col("horizon").cast(pl.Int32), *cols).with_columns(
                _found=pl.lit(True)
            ),
            on=["origin_date", "horizon"],
            how="left",
            maintain_order="left",
        )
        missing = rows.height - int(rows["_found"].sum() or 0)
        if rows.height != asked.height or missing:
            raise RunError(
                f"model.members.{self.label}.{RUN_KEY}={self.path}: refit on train + val; "
                "before the ensemble's refit it only gives its saved validation predictions, "
                f"and {missing or rows.height - asked.height} of the {asked.height} asked "
                "(origin, horizon) rows are not among them (or are there twice)"
            )

        def col(name: str) -> np.ndarray:
            return rows[name].cast(pl.Float64).fill_null(np.nan).to_numpy().reshape(n, h)

        prob = col("peak_prob_raw" if "peak_prob_raw" in cols else "peak_prob")
        return Prediction.of(
            col("predicted"), prob, col("dispersion") if "dispersion" in cols else None
        )

    def save(self, run_dir: RunDir) -> None:
        """Nothing: the member stays in its own run dir (the ensemble's state records where)."""

    @classmethod
    def checkpoint_file(cls, run_dir: RunDir, given, which: str) -> None:
        return None


def _saved_val(run: TrainedRun) -> pl.DataFrame:
    """The run's validation predictions in the order its windows were predicted."""
    if run.predictions is None:
        return pl.DataFrame()
    return run.predictions.filter(pl.col("split") == "val")


def dm_is_panel(dm) -> bool:
    from respicast.dataset.panel_datamodule import PanelDataModule

    return isinstance(dm, PanelDataModule)
