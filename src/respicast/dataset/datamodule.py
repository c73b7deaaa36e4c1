"""LightningDataModule: daily table → windows → train/val/test loaders.

Everything fitted (scalers, training-period thresholds) sees the training part only. The same
object hands WindowSets to the baselines, so deep models and baselines share one data path.
"""

from __future__ import annotations

import logging

import lightning.pytorch as pl_
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset, Sampler

from respicast.dataset.build import build_windows
from respicast.dataset.splits import Split, holdout_split
from respicast.dataset.windows import WindowSet
from respicast.models.dims import Dims
from respicast.table import GROUPS, DailyTable

log = logging.getLogger(__name__)


def calendar_index(origin: np.datetime64, lookback: int, horizon: int, step: int = 1) -> np.ndarray:
    """[L + H, 2] month (0-11) and weekday (0 = Monday) of periods t-L+1 .. t+H (days, or the
    Sundays of weeks when ``step`` is 7)."""
    days = np.datetime64(origin, "D") + np.arange(1 - lookback, horizon + 1) * step
    month = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    return np.stack([month, weekday], axis=1).astype(np.int64)


class WindowDataset(Dataset):
    """One sample per origin; each item copies only its own window out of the strided views."""

    def __init__(self, ws: WindowSet):
        self.ws = ws

    def __len__(self) -> int:
        return len(self.ws)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ws = self.ws

        def copy(a) -> torch.Tensor:  # views are read-only: copy just this window
            return torch.tensor(np.array(a, dtype=np.float32))

        return {
            "history": copy(ws.history[i]),
            "past": copy(ws.past[i]),
            "future": copy(ws.future[i]),
            "level": copy(ws.level[i]),
            # peak threshold at t (nan = undefined): a count model's tail probability needs it
            "threshold": copy(ws.threshold[i]),
            # month (0-11) and weekday (0 = Monday) of the lookback days then the target days
            "calendar_index": torch.from_numpy(
                calendar_index(ws.origins[i], ws.lookback, ws.horizon, ws.step_days)
            ),
            "y_count": copy(ws.y_count[i]),
            "y_peak": copy(ws.y_peak[i]),
        }


def _rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochSeededSampler(Sampler[int]):
    """Shuffles with seed + epoch, so a run resumed at epoch e replays epoch e's order exactly.
    Lightning calls set_epoch on any sampler that has it.

    Under DDP (trainer=ddp turns Lightning's own DistributedSampler off: it would shuffle this
    order again) process r takes positions r, r + world, ... of the same order, padded to equal
    shares; so one step's batches of all processes are the single-process batch, dealt out."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        rank, world = _rank_and_world()
        if world > 1:
            order = np.concatenate([order, order[: -self.n % world]])[rank::world]
        return iter(order.tolist())

    def __len__(self) -> int:
        return -(-self.n // _rank_and_world()[1])


def _origin_split(cfg: DictConfig, origins: np.ndarray, embargo: int) -> Split:
    s = cfg.get("split", {}) or {}
    return holdout_split(
        origins,
        embargo=embargo,
        val_fraction=s.get("val_fraction", 0.15),
        test_fraction=s.get("test_fraction", 0.2),
        val_start=s.get("val_start"),
        test_start=s.get("test_start"),
    )


class WindowDataModule(pl_.LightningDataModule):
    def __init__(self, cfg: DictConfig | dict, table: DailyTable | None = None, seed: int = 0):
        super().__init__()
        self.cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        self._table = table
        self.seed = seed
        self.windows: WindowSet | None = None
        self.split: Split | None = None
        self.groups = list(self.cfg.get("groups") or GROUPS)

    # -- building -------------------------------------------------------------------------------
    @property
    def table(self) -> DailyTable:
        if self._table is None:
            from respicast.harmonize import build_daily_table

            self._table = build_daily_table(self.cfg)
        return self._table

    def setup(self, stage: str | None = None, split: Split | None = None) -> None:
        if self.windows is not None and split is None:
            return
        cfg = self.cfg
        lookback, horizon = int(cfg.lookback), int(cfg.horizon)
        if horizon < 1:
            raise ValueError(f"data.horizon={horizon}: forecast at least 1 day ahead")
        table = self.table.select_groups(self.groups)
        n_days = table.frame.height
        if lookback + horizon >= n_days:
            raise ValueError(
                f"data.lookback={lookback} + data.horizon={horizon} leaves no origin in the "
                f"{n_days} days of data {table.meta.get('name', '')}"
            )
        labelled = self.labelled_origins(table)
        self.split = split or _origin_split(cfg, labelled, self.embargo)
        peak = OmegaConf.to_container(cfg.peak, resolve=True) if cfg.get("peak") else {}
        self.windows, self.scalers = build_windows(
            table,
            lookback=lookback,
            horizon=horizon,
            train_end_day=self.train_end_day,
            peak=peak,
            use_history="history" in self.groups,
        )
        self.table_used = table
        log.info("split: %s", self.split.describe(labelled))

    @property
    def train_end_day(self) -> int:
        """Exclusive row index of the days the training part's windows reach (what scalers and
        training-fitted thresholds see)."""
        cfg = self.cfg
        return (int(cfg.lookback) - 1) + self.split.train.stop + int(cfg.horizon)

    def labelled_origins(self, table: DailyTable | None = None) -> np.ndarray:
        """Origins with a full lookback and all H targets observed: what splits index into."""
        frame = (table or self.table).frame
        dates = frame["date"].to_numpy().astype("datetime64[D]")
        return dates[int(self.cfg.lookback) - 1 : frame.height - int(self.cfg.horizon)]

    @property
    def embargo(self) -> int:
        """Origins between split parts (default and minimum: lookback + horizon)."""
        minimum = int(self.cfg.lookback) + int(self.cfg.horizon)
        embargo = int((self.cfg.get("split") or {}).get("embargo") or minimum)
        if embargo < minimum:
            raise ValueError(
                f"data.split.embargo={embargo} must be ≥ lookback + horizon = {minimum}"
            )
        return embargo

    # -- parts ----------------------------------------------------------------------------------
    def part(self, name: str) -> WindowSet:
        s = getattr(self.split, name)
        return self.windows.slice(s.start, s.stop)

    @property
    def dims(self) -> Dims:
        ws = self.windows
        return Dims(
            lookback=ws.lookback,
            horizon=ws.horizon,
            n_past=ws.past.shape[2],
            n_future=ws.future.shape[2],
            has_history="history" in self.groups,
        )

    def reference_prob(self) -> dict[int, float]:
        """Climatological peak frequency per horizon in the training part (for Brier skill)."""
        y = self.part("train").y_peak
        return {h + 1: float(np.nanmean(y[:, h])) for h in range(y.shape[1])}

    # -- loaders --------------------------------------------------------------------------------
    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        ds = WindowDataset(self.part(name))
        workers = int(self.cfg.get("num_workers", 0))
        return DataLoader(
            ds,
            batch_size=int(self.cfg.get("batch_size", 64)),
            sampler=EpochSeededSampler(len(ds), self.seed) if shuffle else None,
            num_workers=workers,
            # trainer=gpu: page-locked batches copy to the GPU asynchronously; workers kept
            # between epochs instead of restarted
            pin_memory=bool(self.cfg.get("pin_memory", False)),
            persistent_workers=workers > 0 and bool(self.cfg.get("persistent_workers", False)),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
