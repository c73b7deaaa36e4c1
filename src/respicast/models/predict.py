"""Run any model (deep or baseline) over a WindowSet and shape the output as predictions.parquet."""

from __future__ import annotations

import numpy as np
import polars as pl
import torch
from torch.utils.data import DataLoader

from respicast.dataset.datamodule import WindowDataset
from respicast.dataset.windows import WindowSet


def is_deep(model) -> bool:
    import lightning.pytorch as pl_

    return isinstance(model, pl_.LightningModule)


@torch.no_grad()
def predict_arrays(model, ws: WindowSet, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts [N, H] and peak probabilities [N, H]."""
    if not is_deep(model):
        counts, probs = model.predict(ws)
        return np.asarray(counts, float), np.asarray(probs, float)
    model.eval()
    counts, probs = [], []
    for batch in DataLoader(WindowDataset(ws), batch_size=batch_size):
        out = model.predict_step(batch, 0)
        counts.append(out["predicted"].cpu().numpy())
        probs.append(out["peak_prob"].cpu().numpy())
    return np.concatenate(counts).astype(float), np.concatenate(probs).astype(float)


def predictions_frame(
    ws: WindowSet,
    predicted: np.ndarray,
    peak_prob: np.ndarray,
    *,
    model: str,
    split: str,
    fold: int = 0,
) -> pl.DataFrame:
    """Long format: one row per origin and horizon (architecture doc §5)."""
    n, h = ws.y_count.shape
    peak = ws.y_peak.reshape(-1)
    return pl.DataFrame(
        {
            "origin_date": np.repeat(ws.origins, h),
            "target_date": ws.target_dates().reshape(-1),
            "horizon": np.tile(np.arange(1, h + 1), n).astype(np.int32),
            "observed": ws.y_count.reshape(-1).astype(float),
            "predicted": predicted.reshape(-1),
            "peak": pl.Series(peak, dtype=pl.Float64).fill_nan(None).cast(pl.Int8),
            "peak_prob": peak_prob.reshape(-1),
            "threshold": np.repeat(ws.threshold, h).astype(float),
            "model": [model] * (n * h),
            "split": [split] * (n * h),
            "fold": np.full(n * h, fold, dtype=np.int32),
        }
    ).with_columns(pl.col("origin_date").cast(pl.Date), pl.col("target_date").cast(pl.Date))
