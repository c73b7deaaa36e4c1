"""Fit one model on one split and predict its val/test parts: the body of respicast-train.

The same function serves every model through the Forecaster protocol (models.forecaster): deep
nets via the Lightning adapter, baselines directly, on the same WindowSets. Backtests call it
once per fold.
"""

from __future__ import annotations

import logging

import polars as pl
from omegaconf import DictConfig

from respicast.dataset.datamodule import WindowDataModule
from respicast.dataset.splits import Split
from respicast.models.forecaster import Forecaster, build_forecaster, instantiate_model
from respicast.models.predict import predict_part

log = logging.getLogger(__name__)

__all__ = ["fit_and_predict", "instantiate_model", "refit_split"]


def refit_split(split: Split) -> Split:
    """Train on everything before the test part's embargo: the old train, its gap and val."""
    return Split(train=slice(0, split.val.stop), val=split.val, test=split.test, fold=split.fold)


def fit_and_predict(
    cfg: DictConfig,
    dm: WindowDataModule,
    *,
    split: Split | None = None,
    loggers: list | None = None,
    extra_callbacks: list | None = None,
    ckpt_path: str | None = None,
) -> tuple[Forecaster, dict[str, pl.DataFrame]]:
    """Fit on the train part (early stopping on val) and return the model and val/test predictions.

    With ``refit`` the model that predicts test is fitted again on train + val (same settings,
    deep nets for the epochs chosen on val): the val predictions, which calibrators, thresholds
    and dispersions are fitted on, stay those of the first, out-of-sample fit."""
    dm.setup(split=split)
    model = build_forecaster(
        cfg, dm, loggers=loggers, callbacks=extra_callbacks, ckpt_path=ckpt_path
    )
    model.fit(dm.part("train"), dm.part("val"))
    preds = {"val": predict_part(model, dm, "val")}
    if cfg.get("refit"):
        dm.setup(split=refit_split(dm.split))
        model = model.refit(dm.part("train"))
        log.info("refit on train + val: %s", dm.split.describe(dm.labelled_origins()))
    preds["test"] = predict_part(model, dm, "test")
    return model, preds
