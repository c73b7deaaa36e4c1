"""Peer forecasts for bench_skill.py: statsforecast AutoETS(season_length=7) on the counts alone.

Per backtest fold it is fitted once on the counts known at the fold's first test origin (so it
uses everything up to the test year, like a user refitting yearly), then filtered forward with
those parameters from every test origin over the counts known at that origin (publication latency
respected: with latency L the last known day is t - L, so day t + h is L + h steps ahead). Missing
counts are carried forward (ETS takes no gaps); their number is printed. Its peak ranking is the
forecast mean divided by the origin's threshold, scored on the same rows as every model.
statsforecast is an optional extra of the benchmark, never a runtime dependency of respicast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import OmegaConf

from respicast.dataset.datamodule import WindowDataModule


def known_series(history: np.ndarray) -> tuple[np.ndarray, int]:
    """The whole series as known at the last origin, from the strided history windows, and the
    publication latency (leading days not known yet)."""
    full = np.concatenate([history[0][:-1], history[:, -1]])
    latency = int(np.argmax(np.isfinite(full)))
    return full, latency


def _ffill(y: np.ndarray) -> tuple[np.ndarray, int]:
    s = pl.Series(y).fill_nan(None)
    return s.forward_fill().backward_fill().to_numpy().astype(float), int(s.null_count())


def ets_predictions(clim_dir: Path, clim: pl.DataFrame) -> pl.DataFrame:
    """Forecast mean per (origin_date, horizon) of every test row of the climatology run."""
    from statsforecast.models import AutoETS

    cfg = OmegaConf.load(clim_dir / "config_resolved.yaml")
    dm = WindowDataModule(cfg.data, seed=int(cfg.get("seed", 0)))
    dm.setup()
    ws = dm.windows
    full, latency = known_series(ws.history)
    lookback, horizon = ws.lookback, ws.horizon
    origin_index = {d: i for i, d in enumerate(ws.origins.astype("datetime64[D]"))}
    test = clim.filter(pl.col("split") == "test")
    rows, filled = [], 0
    for _, g in test.group_by(["fold"], maintain_order=True):
        origins = np.unique(g["origin_date"].to_numpy().astype("datetime64[D]"))
        first = origin_index[origins[0]]
        y_fit, n = _ffill(full[latency : lookback + first])
        filled += n
        model = AutoETS(season_length=7).fit(y_fit)
        for o in origins:
            end = lookback + origin_index[o]  # rows of `full` known at origin o
            y, _ = _ffill(full[latency:end])
            mean = model.forward(y=y, h=latency + horizon)["mean"][latency:]
            rows.append((o, mean))
    print(f"AutoETS: {filled} missing counts carried forward before fitting")
    frame = pl.DataFrame(
        {
            "origin_date": np.repeat([o for o, _ in rows], horizon),
            "horizon": np.tile(np.arange(1, horizon + 1, dtype=np.int32), len(rows)),
            "predicted": np.concatenate([m for _, m in rows]),
        }
    ).with_columns(pl.col("origin_date").cast(pl.Date))
    thr = test.select("origin_date", "horizon", "threshold")
    return frame.join(thr, on=["origin_date", "horizon"]).with_columns(
        ratio=pl.col("predicted") / pl.col("threshold")
    )
