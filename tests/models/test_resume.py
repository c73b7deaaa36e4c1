"""Exact resume from a kill at any epoch, into the same run dir or a new one.

A run is killed in the epoch after the one whose plateau step halved the learning rate (so after
the best epoch) and resumed from its last.ckpt: its learning curve (per-epoch losses, lr) and every
metric in metrics.json must equal those of the uninterrupted run, and it must keep the same best
checkpoint.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning.pytorch as L
import polars as pl
import pytest
import torch
from lightning.pytorch.demos.boring_classes import BoringModel

import respicast.cli.train as train_app
from respicast.cli.train import train
from respicast.utils.callbacks import LastCheckpoint, ResumableCheckpoint

RUN = [
    "data=chicago_nmmaps",
    "model=lstm",
    "logger=csv",
    "extras.print_config=false",
    "trainer.max_epochs=12",
    "+trainer.limit_train_batches=4",
    "+trainer.limit_val_batches=3",
    "+trainer.enable_progress_bar=false",
    "evaluation.bootstrap.n=0",
    # scoring is most of a run's time; the learning curves compared below cover every horizon
    "evaluation.horizons=[1,7]",
    # halve the LR after 2 epochs without progress and stop after 3, so both happen early
    "model.scheduler.patience=1",
    "callbacks.early_stopping.patience=3",
    # the unregularised head of the first deep models: its val loss turns up within 12 epochs
    "model.peak_prob=head",
    "model.skip_lags=0",
    "model.past_dropout=0.0",
    "model.ewma_alphas=[]",
]
CURVE = ("train/loss", "val/loss", "val/mae", "lr")


class Killed(RuntimeError):
    pass


class KillDuringEpoch(L.Callback):
    """Raise at the second training batch of an epoch, as a kill between two checkpoints would."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == 1:
            raise Killed(f"killed in epoch {self.epoch}")


def learning_curve(metrics_csv: Path) -> pl.DataFrame:
    """One row per finished epoch from a CSV logger file (train and val rows are separate)."""
    rows = pl.read_csv(metrics_csv).filter(pl.col("epoch").is_not_null())
    agg = [pl.col(c).drop_nulls().first() for c in CURVE]
    return rows.group_by("epoch").agg(agg).sort("epoch")


def metrics(run_dir: Path) -> dict[str, float]:
    """metrics.json with its nulls (how it writes NaN) read back as NaN."""
    raw = json.loads((run_dir / "metrics.json").read_text())
    return {k: math.nan if v is None else v for k, v in raw.items()}


def checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))


def max_difference(a: dict, b: dict) -> float:
    """Largest |a - b| over the keys of both (NaN = NaN); the key sets must be equal."""
    assert sorted(a) == sorted(b)
    both_nan = [math.isnan(a[k]) and math.isnan(b[k]) for k in a]
    return max((0.0 if n else abs(a[k] - b[k])) for k, n in zip(a, both_nan, strict=True))


def curve_difference(a: pl.DataFrame, b: pl.DataFrame) -> float:
    assert a["epoch"].to_list() == b["epoch"].to_list()
    return max(float((a[c] - b[c]).abs().max()) for c in CURVE)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, compose_app) -> tuple[Path, pl.DataFrame]:
    """The uninterrupted run and its learning curve."""
    run_dir = tmp_path_factory.mktemp("full")
    train(compose_app("train", run_dir, RUN))
    return run_dir, learning_curve(run_dir / "csv" / "version_0" / "metrics.csv")


def killed_run(compose_app, run_dir: Path, epoch: int) -> Path:
    """Run until killed during `epoch`; returns the last.ckpt it left."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_app, "_pruning_callbacks", lambda cfg: [KillDuringEpoch(epoch)])
        with pytest.raises(Killed):
            train(compose_app("train", run_dir, RUN))
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, compose_app, full_run):
    """A run killed after the best epoch, and its two resumptions."""
    base = tmp_path_factory.mktemp("resume")
    full_dir, full = full_run
    killed_dir, new_dir = base / "killed", base / "new"
    best = full["val/loss"].arg_min()
    lr = full["lr"].to_list()
    # the last epoch whose checkpoint must carry a plateau step taken at its own end
    drops = [e for e in range(best + 1, len(lr) - 1) if lr[e + 1] < lr[e]]
    assert drops, f"scenario: no LR step after the best epoch {best} before the end, lr={lr}"
    k = drops[0]

    last = killed_run(compose_app, killed_dir, k + 1)
    last_epoch = torch.load(last, map_location="cpu", weights_only=False)["epoch"]
    killed_ckpts = checkpoints(killed_dir)
    # resume into a new dir first: the killed dir must stay as it was for the same-dir resume
    train(compose_app("train", new_dir, [*RUN, f"ckpt_path={last}"]))
    assert checkpoints(killed_dir) == killed_ckpts
    train(compose_app("train", killed_dir, [*RUN, f"ckpt_path={last}"]))
    return {
        "full_dir": full_dir,
        "killed_dir": killed_dir,
        "new_dir": new_dir,
        "full": full,
        "best": best,
        "k": k,
        "last_epoch": last_epoch,
    }


def test_last_checkpoint_is_the_epoch_before_the_kill(runs):
    assert runs["best"] < runs["k"]
    assert runs["last_epoch"] == runs["k"]


@pytest.mark.parametrize("where", ["same_dir", "new_dir"])
def test_resumed_run_equals_the_uninterrupted_one(runs, where):
    full, k = runs["full"], runs["k"]
    killed_csvs = runs["killed_dir"] / "csv"
    before = learning_curve(killed_csvs / "version_0" / "metrics.csv")
    after_csv = killed_csvs / "version_1" if where == "same_dir" else runs["new_dir"] / "csv"
    after = learning_curve(next(after_csv.glob("**/metrics.csv")))
    # the resumed run starts at the epoch that was killed: none is repeated or skipped
    assert after["epoch"].min() == k + 1
    resumed = pl.concat([before.filter(pl.col("epoch") <= k), after])
    assert curve_difference(resumed, full) <= 1e-9
    run_dir = runs["killed_dir"] if where == "same_dir" else runs["new_dir"]
    assert max_difference(metrics(run_dir), metrics(runs["full_dir"])) <= 1e-9
    # the same best epoch is kept (copied into a new dir), next to last.ckpt
    assert checkpoints(run_dir) == checkpoints(runs["full_dir"])


@pytest.mark.slow
def test_a_kill_in_any_epoch_resumes_exactly(tmp_path, compose_app, full_run):
    """Killed during each epoch in turn, resumed into a new run dir: same curve and metrics."""
    full_dir, full = full_run
    for epoch in range(1, len(full)):
        last = killed_run(compose_app, tmp_path / f"killed_{epoch}", epoch)
        before = learning_curve(tmp_path / f"killed_{epoch}" / "csv" / "version_0" / "metrics.csv")
        resumed_dir = tmp_path / f"resumed_{epoch}"
        train(compose_app("train", resumed_dir, [*RUN, f"ckpt_path={last}"]))
        after = learning_curve(resumed_dir / "csv" / "version_0" / "metrics.csv")
        curve = pl.concat([before.filter(pl.col("epoch") < epoch), after])
        assert curve_difference(curve, full) <= 1e-9, epoch
        assert max_difference(metrics(resumed_dir), metrics(full_dir)) <= 1e-9, epoch
        assert checkpoints(resumed_dir) == checkpoints(full_dir), epoch


# -- the two callbacks on Lightning's demo model: fast checks of what the runs above rely on ------
class TinyModel(BoringModel):
    def validation_step(self, batch, batch_idx):
        self.log("val/loss", super().validation_step(batch, batch_idx)["x"])


def fit_tiny(run_dir: Path, epochs: int, ckpt_path: Path | None = None) -> ResumableCheckpoint:
    best = ResumableCheckpoint(dirpath=str(run_dir / "checkpoints"), monitor="val/loss")
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[best, LastCheckpoint()],
        default_root_dir=run_dir,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_train_batches=2,
        limit_val_batches=2,
    )
    trainer.fit(TinyModel(), ckpt_path=ckpt_path)
    return best


def test_last_checkpoint_is_every_epoch_and_whole(tmp_path):
    fit_tiny(tmp_path, epochs=3)
    ckpts = tmp_path / "checkpoints"
    assert torch.load(ckpts / "last.ckpt", weights_only=False)["epoch"] == 2
    assert not list(ckpts.glob("*.part"))


def test_best_is_found_next_to_last_ckpt_of_a_moved_run_dir(tmp_path):
    first = fit_tiny(tmp_path / "a", epochs=2)
    (tmp_path / "a").rename(tmp_path / "moved")
    last = tmp_path / "moved" / "checkpoints" / "last.ckpt"
    resumed = fit_tiny(tmp_path / "b", epochs=2, ckpt_path=last)  # nothing left to train
    assert resumed.best_model_score == first.best_model_score
    copied = Path(resumed.best_model_path)
    assert copied.parent == tmp_path / "b" / "checkpoints"
    assert copied.read_bytes() == (last.parent / copied.name).read_bytes()


def test_a_missing_best_file_is_named_when_resuming_into_a_new_dir(tmp_path):
    first = fit_tiny(tmp_path / "a", epochs=2)
    Path(first.best_model_path).unlink()
    with pytest.raises(FileNotFoundError, match=Path(first.best_model_path).name):
        fit_tiny(tmp_path / "b", epochs=3, ckpt_path=tmp_path / "a" / "checkpoints" / "last.ckpt")


def test_last_checkpoint_must_come_after_the_checkpoints_it_saves(tmp_path):
    trainer = L.Trainer(
        max_epochs=1,
        callbacks=[
            LastCheckpoint(),
            ResumableCheckpoint(dirpath=str(tmp_path), monitor="val/loss"),
        ],
        logger=False,
        enable_progress_bar=False,
    )
    with pytest.raises(ValueError, match="must come after"):
        trainer.fit(TinyModel())
