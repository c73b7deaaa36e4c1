"""refit=true: the model that predicts test is fitted again on train + val, on the past only."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from lightning.pytorch import seed_everything

from respicast.dataset.datamodule import WindowDataModule
from respicast.training import fit_and_predict, refit_split
from respicast.utils.callbacks import LearningRates

SMALL = [
    "data=chicago_nmmaps",
    "logger=none",
    "extras.print_config=false",
    "evaluation.bootstrap.n=0",
    "+trainer.enable_progress_bar=false",
]


def _run(compose_app, tmp_path, overrides):
    cfg = compose_app("train", tmp_path, [*SMALL, *overrides])
    seed_everything(cfg.seed, workers=True)  # as respicast-train does: same weights both runs
    dm = WindowDataModule(cfg.data, seed=cfg.seed)
    dm.setup()
    split = dm.split
    model, preds = fit_and_predict(cfg, dm)
    return dm, split, model, preds


def _values(frame: pl.DataFrame) -> np.ndarray:
    return frame.sort("origin_date", "horizon")["predicted"].to_numpy()


def test_baseline_refit_sees_val_but_never_the_test_period(compose_app, tmp_path):
    _, split, _, first = _run(compose_app, tmp_path / "a", ["model=climatology", "refit=false"])
    dm, _, model, refit = _run(compose_app, tmp_path / "b", ["model=climatology", "refit=true"])
    # calibrators, thresholds and dispersions are fitted on val: those stay out-of-sample
    assert np.array_equal(_values(first["val"]), _values(refit["val"]))
    assert not np.allclose(_values(first["test"]), _values(refit["test"]))
    assert dm.split == refit_split(split) and dm.split.train.stop == split.val.stop
    train, test = dm.part("train"), dm.part("test")
    # the last target day the refit trained on comes before the first test origin
    assert train.target_dates().max() < test.origins.min()
    # and it is exactly the model fitted by hand on those windows
    by_hand = type(model)().fit(train)
    assert np.allclose(by_hand.predict(test).counts, model.predict(test).counts)


def test_deep_refit_replays_the_chosen_epochs_and_learning_rates(compose_app, tmp_path):
    small = ["model=lstm", "trainer.max_epochs=3", "+trainer.limit_train_batches=4"]
    _, _, _, first = _run(compose_app, tmp_path / "a", [*small, "refit=false"])
    dm, _, model, refit = _run(compose_app, tmp_path / "b", [*small, "refit=true"])
    assert np.array_equal(_values(first["val"]), _values(refit["val"]))
    assert not np.allclose(_values(first["test"]), _values(refit["test"]))
    assert model.module.trainer.current_epoch >= 1  # trained, with no validation loop
    assert model.module.scheduler_factory is None
    assert (tmp_path / "b" / "checkpoints" / "refit.ckpt").exists()


def test_learning_rates_of_epochs_a_resume_skipped_take_the_next_known():
    lrs = LearningRates()
    lrs.by_epoch = {2: 0.01, 3: 0.005}  # resumed at epoch 2
    assert lrs.schedule(5) == pytest.approx([0.01, 0.01, 0.01, 0.005, 0.005])
