"""Fit one model on one split and predict its val/test parts: the body of respicast-train.

The same function serves every model: deep nets go through a Lightning Trainer, baselines through
their own fit/predict on the same WindowSets. Backtests call it once per fold.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import polars as pl
import torch
from omegaconf import DictConfig, open_dict

from respicast.dataset.datamodule import Dims, WindowDataModule
from respicast.dataset.splits import Split
from respicast.evaluation.quantiles import with_model_dispersion
from respicast.models.predict import is_deep, predict_arrays, predictions_frame
from respicast.run_dir import RunDir
from respicast.utils.callbacks import LearningRates, ReplayLearningRates, StepSeed
from respicast.utils.instantiate import instantiate_named

log = logging.getLogger(__name__)


def instantiate_model(model_cfg: DictConfig, dims: Dims):
    """A deep model (built for the input dims) or a baseline, labelled with the config's name."""
    if "net" in model_cfg:
        return hydra.utils.instantiate(model_cfg, dims=dims)
    conf = model_cfg.copy()
    with open_dict(conf):
        conf.pop("name", None)  # the run's label, not a constructor argument
    model = hydra.utils.instantiate(conf)
    model.name = str(model_cfg.get("name") or getattr(model, "name", type(model).__name__))
    return model


def build_model(model_cfg: DictConfig, dm: WindowDataModule):
    """Instantiate a model for the data; refuse one whose covariate needs the data cannot meet."""
    model = instantiate_model(model_cfg, dm.dims)
    if is_deep(model):
        return model
    ws = dm.windows
    have = {
        "history": dm.dims.has_history,
        "past": ws.past.shape[2] > 0,
        "future": ws.future.shape[2] > 0,
    }
    missing = sorted(n for n in getattr(model, "needs", ()) if not have.get(n, False))
    if missing:
        raise ValueError(
            f"model {model_cfg.get('name', model_cfg._target_)} needs {missing} inputs, but data.groups="
            f"{dm.groups} provides none (history needs the 'history' group, future the 'calendar' group)"
        )
    return model


def _best_checkpoint(trainer) -> str:
    """The best file of the first ModelCheckpoint that monitors a metric ("" when there is none)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    for cb in trainer.checkpoint_callbacks:
        if isinstance(cb, ModelCheckpoint) and cb.monitor:
            return cb.best_model_path
    return ""


def _fit_deep(model, cfg: DictConfig, dm, loggers, extra_callbacks, ckpt_path) -> dict:
    """Lightning fit with early stopping on val; restores the best epoch. Returns what a refit
    replays: the number of epochs up to the best one and the learning rate of each."""
    lrs = LearningRates()
    callbacks = instantiate_named(cfg.get("callbacks"), "callback") + [lrs]
    callbacks += list(extra_callbacks or [])
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
    for cb in extra_callbacks or []:  # a pruned Optuna trial skips prediction and scoring
        if hasattr(cb, "raise_if_pruned"):
            cb.raise_if_pruned()
    best, epochs = _best_checkpoint(trainer), trainer.current_epoch
    if best and Path(best).exists():
        log.info("restoring the best checkpoint %s", best)
        state = torch.load(best, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        epochs = int(state["epoch"]) + 1
    epochs = max(epochs, 1)
    return {"epochs": epochs, "lrs": lrs.schedule(epochs) if lrs.by_epoch else []}


def _refit_deep(cfg: DictConfig, dm, schedule: dict):
    """A new net trained on train + val for the selected number of epochs, replaying the first
    fit's learning rates (no validation left to early-stop or to step a plateau scheduler on)."""
    model = build_model(cfg.model, dm)
    model.scheduler_factory = None
    trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=[ReplayLearningRates(schedule["lrs"]), *_seed_callbacks(cfg)],
        logger=False,
        max_epochs=schedule["epochs"],
        min_epochs=schedule["epochs"],
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
    )
    trainer.fit(model, datamodule=dm)
    trainer.save_checkpoint(refit_checkpoint_path(cfg))  # what forecasts and checkpoint evals load
    return model


def refit_checkpoint_path(cfg: DictConfig) -> Path:
    """The run's (or the backtest fold's) refit checkpoint, beside its other checkpoints."""
    return RunDir(Path(cfg.trainer.default_root_dir)).refit_checkpoint


def _seed_callbacks(cfg: DictConfig) -> list:
    return [StepSeed(int(cfg.get("seed", 0)))]


def refit_split(split: Split) -> Split:
    """Train on everything before the test part's embargo: the old train, its gap and val."""
    return Split(train=slice(0, split.val.stop), val=split.val, test=split.test, fold=split.fold)


def _predict(model, dm, part: str) -> pl.DataFrame:
    ws = dm.part(part)
    counts, probs = predict_arrays(model, ws)
    frame = predictions_frame(ws, counts, probs, model=model.name, split=part, fold=dm.split.fold)
    return with_model_dispersion(model, frame, counts)  # its count distribution's k


def fit_and_predict(
    cfg: DictConfig,
    dm: WindowDataModule,
    *,
    split: Split | None = None,
    loggers: list | None = None,
    extra_callbacks: list | None = None,
    ckpt_path: str | None = None,
) -> tuple[object, dict[str, pl.DataFrame]]:
    """Fit on the train part (early stopping on val) and return the model and val/test predictions.

    With ``refit`` the model that predicts test is fitted again on train + val (same settings,
    deep nets for the epochs chosen on val): the val predictions, which calibrators, thresholds
    and dispersions are fitted on, stay those of the first, out-of-sample fit."""
    dm.setup(split=split)
    model = build_model(cfg.model, dm)
    if is_deep(model):
        schedule = _fit_deep(model, cfg, dm, loggers, extra_callbacks, ckpt_path)
    else:
        model.fit(dm.part("train"), dm.part("val"))
    preds = {"val": _predict(model, dm, "val")}
    if cfg.get("refit"):
        dm.setup(split=refit_split(dm.split))
        if is_deep(model):
            model = _refit_deep(cfg, dm, schedule)
        else:
            model = build_model(cfg.model, dm)
            model.fit(dm.part("train"), None)
        log.info("refit on train + val: %s", dm.split.describe(dm.labelled_origins()))
    preds["test"] = _predict(model, dm, "test")
    return model, preds
