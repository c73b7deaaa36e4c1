"""forecast.json and forecast.csv; every count goes through small-count suppression."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl

from respicast.forecast.core import Forecast
from respicast.forecast.suppress import count_cell
from respicast.run_dir import RunDir

COUNT_FIELDS = ("expected", "peak_threshold", "usual")  # plus every lower_/upper_ bound


def _count_fields(days: pl.DataFrame) -> list[str]:
    return [c for c in days.columns if c in COUNT_FIELDS or c.startswith(("lower_", "upper_"))]


def _prob(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def day_records(fc: Forecast, k: int) -> list[dict]:
    counts = _count_fields(fc.days)
    out = []
    for r in fc.days.iter_rows(named=True):
        rec = {"date": str(r["date"]), "day": r["day"], "horizon": r["horizon"]}
        for c in counts:
            rec[c] = count_cell(r[c], k, decimals=1 if c == "expected" else 0)
        rec.update(
            {
                "peak_prob": _prob(r["peak_prob"]),
                "peak_prob_raw": _prob(r["peak_prob_raw"]),
                "watch_threshold": _prob(r["watch_threshold"]),
                "alert_threshold": _prob(r["alert_threshold"]),
                "level": r["level"],
            }
        )
        out.append(rec)
    return out


def observed_records(fc: Forecast, k: int) -> list[dict]:
    return [{"date": str(d), "admissions": count_cell(v, k)} for d, v in fc.observed.iter_rows()]


def forecast_dict(fc: Forecast, k: int) -> dict:
    return {
        "asof": str(fc.asof),
        "model": fc.model,
        "run_dir": RunDir(fc.run_dir).name,  # the run's name: no server path leaves the server
        "area": fc.area,
        "target": fc.target,
        "suppress_below": k,
        "intervals": fc.intervals,
        "forecast": day_records(fc, k),
        "alert_thresholds": {str(h): v for h, v in fc.thresholds.items()},
        "drivers": {
            "summary_points": fc.driver_summary,
            "sentences": fc.driver_lines,
            "by_day": fc.driver_records,
        },
        "observed": observed_records(fc, k),
        "freshness": fc.coverage,
        "stale": fc.stale,
        "filled_inputs": fc.filled,
        "fill_rule": fc.fill_rule,
        "history_gaps": fc.history_gaps,
        "notes": fc.notes,
    }


def write_json(fc: Forecast, path: Path, k: int) -> None:
    path.write_text(json.dumps(forecast_dict(fc, k), indent=1, default=str))


def write_csv(fc: Forecast, path: Path, k: int) -> None:
    """One row per day: the recent observed history, then the forecast days (kind column)."""
    rows = [
        {"date": r["date"], "kind": "observed", "admissions": r["admissions"]}
        for r in observed_records(fc, k)
    ]
    for d in day_records(fc, k):
        text = [x["text"] for x in fc.driver_lines if x["horizon"] == d["horizon"]]
        rows.append({**d, "kind": "forecast", "drivers": "; ".join(text)})
    cols = [
        "date",
        "kind",
        "admissions",
        "day",
        "horizon",
        *_count_fields(fc.days),
        "peak_prob",
        "watch_threshold",
        "alert_threshold",
        "level",
        "drivers",
    ]
    # every cell as text: "<5" and numbers share a column
    frame = pl.DataFrame(
        [{c: (None if r.get(c) is None else str(r[c])) for c in cols} for r in rows],
        schema={c: pl.Utf8 for c in cols},
    )
    frame.write_csv(path)
