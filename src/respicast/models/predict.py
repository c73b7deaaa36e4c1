"""A Forecaster's predictions over a WindowSet, shaped as predictions.parquet."""

from __future__ import annotations

import numpy as np
import polars as pl

from respicast.dataset.windows import WindowSet
from respicast.models.forecaster import Forecaster, Prediction


def predict_part(forecaster: Forecaster, dm, part: str) -> pl.DataFrame:
    """The predictions frame of one part (val, test) of the data module's current split."""
    ws = dm.part(part)
    frame = predictions_frame(
        ws, forecaster.predict(ws), model=forecaster.name, split=part, fold=dm.split.fold
    )
    if ws.series is None:
        return frame
    # a panel: the series' key columns first, one row per origin x horizon as the frame
    keys = dm.series_keys_of(np.repeat(ws.series, ws.horizon))
    return pl.concat([keys, frame], how="horizontal")


def predictions_frame(
    ws: WindowSet,
    prediction: Prediction,
    *,
    model: str,
    split: str,
    fold: int = 0,
) -> pl.DataFrame:
    """Long format: one row per origin and horizon (architecture doc §5), with a ``dispersion``
    column when the model has a count distribution of its own."""
    n, h = ws.y_count.shape
    peak = ws.y_peak.reshape(-1)
    frame = pl.DataFrame(
        {
            "origin_date": np.repeat(ws.origins, h),
            "target_date": ws.target_dates().reshape(-1),
            "horizon": np.tile(np.arange(1, h + 1), n).astype(np.int32),
            "observed": ws.y_count.reshape(-1).astype(float),
            "predicted": prediction.counts.reshape(-1),
            "peak": pl.Series(peak, dtype=pl.Float64).fill_nan(None).cast(pl.Int8),
            "peak_prob": prediction.peak_prob.reshape(-1).astype(float),
            "threshold": np.repeat(ws.threshold, h).astype(float),
            "model": [model] * (n * h),
            "split": [split] * (n * h),
            "fold": np.full(n * h, fold, dtype=np.int32),
        }
    ).with_columns(
        pl.col("origin_date").cast(pl.Date),
        pl.col("target_date").cast(pl.Date),
        # no threshold (too little history yet): no label and no probability, both null; a NaN
        # where a threshold exists stays NaN, for evaluation to refuse
        pl.when(pl.col("threshold").is_nan())
        .then(None)
        .otherwise(pl.col("peak_prob"))
        .alias("peak_prob"),
    )
    if prediction.dispersion is None:
        return frame
    k = pl.Series("dispersion", prediction.dispersion.reshape(-1), dtype=pl.Float64)
    return frame.with_columns(k)
