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


def fit_and_predict(
    cfg: DictConfig,
    dm: WindowDataModule,
    *,
    split: Split | None = None,
    loggers: list | None = None,
    extra_callbacks: list | None = None,
    ckpt_path: str | None = None,
) -> tuple[object, dict[str, pl.DataFrame]]:
    """Fit on the train part (early stopping on val) and return the model and val/test predictions."""
    dm.setup(split=split)
    model = build_model(cfg.model, dm)
    name = model.name
    fold = dm.split.fold
    if is_deep(model):
        callbacks = instantiate_named(cfg.get("callbacks"), "callback") + list(
            extra_callbacks or []
        )
        trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
        for cb in extra_callbacks or []:  # a pruned Optuna trial skips prediction and scoring
            if hasattr(cb, "raise_if_pruned"):
                cb.raise_if_pruned()
        best = _best_checkpoint(trainer)
        if best and Path(best).exists():
            log.info("restoring the best checkpoint %s", best)
            model.load_state_dict(
                torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
            )
    else:
        model.fit(dm.part("train"), dm.part("val"))
    preds = {}
    for part in ("val", "test"):
        ws = dm.part(part)
        counts, probs = predict_arrays(model, ws)
        frame = predictions_frame(ws, counts, probs, model=name, split=part, fold=fold)
        preds[part] = with_model_dispersion(model, frame, counts)  # its count distribution's k
    return model, preds
