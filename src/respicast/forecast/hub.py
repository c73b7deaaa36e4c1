"""The forecast as a hubverse model-output table (``respicast-forecast ... format=hub``).

The hubverse standard (https://hubverse.io, "Model output" in its documentation; used by ECDC's
European Respiratory Diseases Forecasting Hub, RespiCast) stores one row per forecast quantity and
output-type value: the task-ID columns (here ``origin_date``, ``target``, ``horizon``,
``target_end_date``, ``location``), then ``output_type`` (``quantile``), ``output_type_id`` (the
quantile level) and ``value``. Files are ``model-output/<model_id>/<round_id>-<model_id>.csv`` with
the origin date as round ID. The quantiles come from the forecast's own count distribution (its
expected count and NB dispersion per horizon, models.count_dist), at the hub levels by default.
Horizons are in the data's time step: days for daily targets, ISO weeks (ending on the Sunday
given as target_end_date) for weekly ones (data.resolution 1w). A panel run writes one location
per series: its key values joined by '|' (e.g. the region code of a regional panel).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from respicast.evaluation.quantiles import HUB_LEVELS, check_levels, count_quantiles
from respicast.forecast.core import Forecast

LEVELS_KEY = "hub.quantile_levels"
SCHEMA = {
    "origin_date": pl.Date,
    "target": pl.Utf8,
    "horizon": pl.Int32,
    "target_end_date": pl.Date,
    "location": pl.Utf8,
    "output_type": pl.Utf8,
    "output_type_id": pl.Float64,
    "value": pl.Float64,
}


def hub_frame(fc: Forecast, *, location: str, target: str, levels=None) -> pl.DataFrame:
    """One row per horizon and quantile level of the forecast, in hubverse columns."""
    lv = check_levels(HUB_LEVELS if levels is None else levels, LEVELS_KEY)
    days = fc.days.sort("horizon")
    mean = days["expected"].to_numpy().astype(float)
    k = days["dispersion"].to_numpy().astype(float)
    q = count_quantiles(mean, k, lv)  # [H, L]
    horizons = days["horizon"].to_numpy()
    n = len(lv)
    frame = pl.DataFrame(
        {
            "origin_date": [fc.asof] * (len(horizons) * n),
            "target": [target] * (len(horizons) * n),
            "horizon": np.repeat(horizons, n),
            # the target period's date: a day, or the Sunday ending the week (weekly data)
            "target_end_date": np.repeat(days["date"].to_list(), n).tolist(),
            "location": [location] * (len(horizons) * n),
            "output_type": ["quantile"] * (len(horizons) * n),
            "output_type_id": np.tile(lv, len(horizons)),
            "value": q.reshape(-1),
        },
        schema=SCHEMA,
    )
    check_hub_frame(frame)
    return frame


def check_hub_frame(frame: pl.DataFrame) -> None:
    """The table a hub validator would accept: columns and types, no missing values, levels in
    (0, 1), one row per (task, level), quantiles non-decreasing in the level."""
    if dict(frame.schema) != SCHEMA:
        raise ValueError(f"hub table: columns {dict(frame.schema)}, expected {SCHEMA}")
    nulls = {c: n for c, n in zip(frame.columns, frame.null_count().row(0), strict=True) if n}
    if nulls or frame["value"].is_nan().any():
        raise ValueError(f"hub table: missing values {nulls or {'value': 'NaN'}}")
    if not ((frame["output_type_id"] > 0) & (frame["output_type_id"] < 1)).all():
        raise ValueError("hub table: a quantile level outside (0, 1)")
    task = ["origin_date", "target", "horizon", "location"]
    if frame.select([*task, "output_type_id"]).is_duplicated().any():
        raise ValueError("hub table: a (task, quantile level) appears twice")
    dips = (
        frame.sort([*task, "output_type_id"])
        .with_columns(step=pl.col("value").diff().over(task))
        .filter(pl.col("step") < 0)
    )
    if dips.height:
        first = dips.row(0, named=True)
        raise ValueError(
            f"hub table: quantiles decrease with the level at horizon {first['horizon']} "
            f"(level {first['output_type_id']})"
        )


def write_panel_hub(items, out_dir, hub_cfg) -> Path:
    """The round's model-output CSV of a panel run: one location per series (its label)."""
    from respicast.evaluation.per_series import series_label
    from respicast.run_dir import RunDir

    hub_cfg = hub_cfg or {}
    if hub_cfg.get("location"):
        raise ValueError(
            "hub.location: a panel run writes one location per series (its key values); "
            "leave hub.location null"
        )
    fc0 = items[0][1]
    model_id = str(hub_cfg.get("model_id") or f"respicast-{fc0.model}")
    frame = pl.concat(
        [
            hub_frame(
                fc,
                location=series_label(keys, list(keys)),
                target=str(hub_cfg.get("target") or f"inc {fc.target}"),
                levels=hub_cfg.get("quantile_levels"),
            )
            for keys, fc in items
        ]
    )
    check_hub_frame(frame)
    path = RunDir(out_dir).hub_file(model_id, str(fc0.asof))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def write_hub(fc: Forecast, out_dir, hub_cfg, data_name: str) -> Path:
    """The round's model-output CSV under out_dir (RunDir.hub_file), from the ``hub`` config:
    ``location`` (null: the data config's name), ``target`` (null: "inc <target column>"),
    ``model_id`` (null: "respicast-<model>"), ``quantile_levels`` (null: the hub levels)."""
    from respicast.run_dir import RunDir

    hub_cfg = hub_cfg or {}
    model_id = str(hub_cfg.get("model_id") or f"respicast-{fc.model}")
    frame = hub_frame(
        fc,
        location=str(hub_cfg.get("location") or data_name),
        target=str(hub_cfg.get("target") or f"inc {fc.target}"),
        levels=hub_cfg.get("quantile_levels"),
    )
    path = RunDir(out_dir).hub_file(model_id, str(fc.asof))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
