"""OptunaPruning inside a real Lightning fit, reaching its trial through a TrialRef."""

from __future__ import annotations

import lightning.pytorch as pl
import optuna
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from respicast.sweep import OptunaPruning, TrialRef, load_trial
from respicast.sweep.trial import PRUNED_ATTR, PRUNER_ATTR

# Lightning 2.6 on torch 2.13 warns about its own pytree use; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)`")


class Tiny(pl.LightningModule):
    """Logs `val/score` = 0.1 * epoch, a curve the tests can predict."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)

    def training_step(self, batch, _):
        x, y = batch
        return torch.nn.functional.mse_loss(self.lin(x), y)

    def validation_step(self, batch, _):
        self.log("val/score", 0.1 * self.current_epoch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _loader():
    return DataLoader(TensorDataset(torch.randn(16, 2), torch.randn(16, 1)), batch_size=8)


def _study_and_ref(tmp_path, pruner_spec: dict) -> tuple[optuna.Study, TrialRef]:
    url = f"sqlite:///{tmp_path}/o.db"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    study.set_user_attr(PRUNER_ATTR, pruner_spec)  # as the sweeper does
    trial = study.ask()
    return study, TrialRef(url, "s", trial.number)


def _fit(callback: OptunaPruning, max_epochs: int = 6) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=1,
    )
    trainer.fit(Tiny(), _loader(), _loader())
    return trainer


def test_stored_pruner_stops_training_and_marks_the_trial(tmp_path):
    # the study's own pruner (Median by default) would not prune a lone trial; the stored one does
    spec = {"_target_": "optuna.pruners.ThresholdPruner", "lower": 0.25}
    study, ref = _study_and_ref(tmp_path, spec)
    cb = OptunaPruning(
        {"storage": ref.storage, "study": ref.study, "number": ref.number}, "val/score"
    )
    trainer = _fit(cb)
    assert cb.pruned_at == 0 and trainer.current_epoch == 1  # stopped after the first epoch
    with pytest.raises(optuna.TrialPruned):
        cb.raise_if_pruned()
    frozen = study.trials[0]
    assert frozen.intermediate_values == {0: 0.0}  # sanity-check validation is not reported
    assert frozen.user_attrs[PRUNED_ATTR] == 0


def test_unpruned_trial_reports_every_epoch(tmp_path):
    study, ref = _study_and_ref(tmp_path, {"_target_": "optuna.pruners.NopPruner"})
    cb = OptunaPruning(ref, "val/score")
    _fit(cb, max_epochs=4)
    cb.raise_if_pruned()  # no-op
    assert study.trials[0].intermediate_values == pytest.approx({e: 0.1 * e for e in range(4)})
    assert PRUNED_ATTR not in study.trials[0].user_attrs


def test_load_trial_refuses_non_optuna_pruner_targets(tmp_path):
    _, ref = _study_and_ref(tmp_path, {"_target_": "os.system", "command": "true"})
    with pytest.raises(ValueError, match="refusing"):
        load_trial(ref)
