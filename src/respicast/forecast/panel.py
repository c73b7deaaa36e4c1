"""Forecasts of a panel run: one Forecast per series the config names, on one page.

The panel's windows are rebuilt with the training split (the same scalers and thresholds); the
window of each series at origin = as-of is taken from them. Every array of a window at t only
reads rows dated ≤ t (features are as-of, the history lagged by its latency, thresholds
trailing), so rows after the as-of date cannot reach it; the known-future calendar of the target
periods is recomputed for them (the panel's own rows may end before). Each series' Forecast is
then assembled as a single-series one (forecast.core.assemble), from its own rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.dataset.panel_datamodule import windows_at
from respicast.dataset.windows import WindowSet
from respicast.evaluation.per_series import series_label
from respicast.forecast.core import Forecast, _datamodule, assemble, parse_asof
from respicast.forecast.errors import ForecastError
from respicast.forecast.window import future_calendar
from respicast.table import DailyTable
from respicast.trained_run import load_model, load_run

OUTCOME_WORDS = {"copd": "COPD", "asthma": "asthma"}


def series_title(row: dict, keys: list[str]) -> str:
    """A section title a ward reads, e.g. "COPD, aged 65+, toulouse_centre"."""
    parts = []
    for k in keys:
        v = str(row[k])
        if v == "all":
            continue
        if k == "outcome":
            v = OUTCOME_WORDS.get(v, v)
        elif k == "age_band":
            lo, _, hi = v.partition("-")
            v = f"aged {lo}+" if hi in ("200", "") or v.endswith("+") else f"aged {lo}-{hi}"
        parts.append(v)
    return ", ".join(parts) or "all series (total)"


def wanted_series(requested, table: pl.DataFrame, keys: list[str]) -> list[int]:
    """Series indices of forecast.series (labels "v1|v2|..." in key order, or {key: value}
    maps); null = every series. An unknown one fails naming it and the known labels."""
    labels = [series_label(r, keys) for r in table.iter_rows(named=True)]
    if not requested:
        return list(range(len(labels)))
    out = []
    for item in requested:
        if isinstance(item, dict) or OmegaConf.is_dict(item):
            item = series_label({k: dict(item).get(k, "all") for k in keys}, keys)
        if str(item) not in labels:
            raise ForecastError(
                f"forecast.series: {item!r} is no series of this run (labels are key values "
                f"joined by '|' in the order {keys}; e.g. {labels[:4]})"
            )
        out.append(labels.index(str(item)))
    return out


def origin_window(dm, s: int, asof: dt.date) -> WindowSet:
    """The plain (materialised) window of series ``s`` at origin = as-of."""
    pw = dm.panel_windows
    day = np.datetime64(asof, "D")
    pos = np.flatnonzero((pw.index[:, 0] == s) & (pw.origins == day))
    if not pos.size:
        row = pw.series.row(s, named=True)
        raise ForecastError(
            f"asof={asof}: no window of series {series_label(row, dm.keys)} ends then (its data "
            f"cover {row['first_day']}..{row['last_day']}, and a window needs "
            f"data.lookback={pw.lookback} periods before it); choose a date inside"
        )
    ws = windows_at(pw, pos)
    return WindowSet(
        origins=ws.origins,
        history=np.asarray(ws.history),
        past=np.asarray(ws.past),
        future=future_calendar(dm, asof, ws.future_names),
        level=ws.level,
        threshold=ws.threshold,
        y_count=np.full((1, pw.horizon), np.nan),
        y_peak=np.full((1, pw.horizon), np.nan),
        past_names=ws.past_names,
        future_names=ws.future_names,
        past_groups=ws.past_groups,
        future_groups=ws.future_groups,
        series=ws.series,
        step_days=ws.step_days,
    )


def series_daily_table(dm, s: int) -> DailyTable:
    """Series ``s``'s rows of the (group-selected) panel as a one-area table."""
    panel, row = dm.table_used, dm.series_table().row(s, named=True)
    frame = panel.frame.filter(*[pl.col(k) == row[k] for k in panel.keys]).drop(panel.keys)
    return DailyTable(
        frame.sort("date"),
        panel.target,
        panel.columns,
        area=series_title(row, panel.keys),
        target_latency_days=panel.target_latency_days,
        meta=panel.meta,
        step_days=panel.step_days,
    )


def make_panel_forecasts(
    ckpt_path: str, asof, cfg: DictConfig | dict | None = None
) -> list[tuple[dict, Forecast]]:
    """(series keys, Forecast) of each series of forecast.series, in that order."""
    cfg = OmegaConf.create(cfg or {}) if not isinstance(cfg, DictConfig) else cfg
    asof = parse_asof(asof)
    run = load_run(ckpt_path, str(cfg.get("checkpoint", "best")))
    dm = _datamodule(run, cfg.get("data"), cfg.get("seed"), None)
    if not getattr(dm, "keys", None):
        raise ForecastError(f"{run.run_dir} was not trained on a panel (no data.series)")
    model = load_model(run, dm)
    table = dm.series_table()
    out = []
    for s in wanted_series(cfg.get("series"), table, dm.keys):
        row = table.row(s, named=True)
        fc = assemble(
            run, cfg, dm, series_daily_table(dm, s), origin_window(dm, s, asof), model, asof
        )
        fc.labels = {**fc.labels, "series": series_title(row, dm.keys)}
        out.append(({k: row[k] for k in dm.keys}, fc))
    return out


def write_panel_outputs(items: list[tuple[dict, Forecast]], out_dir: Path, k: int = 5) -> dict:
    """forecast.json (one entry per series), forecast.csv (key columns first) and forecast.html
    (one section per series, a contents list on top)."""
    from respicast.forecast.export import day_records, forecast_dict
    from respicast.forecast.page import render
    from respicast.run_dir import RunDir

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = RunDir(out_dir).forecast_files()
    entries = [{"series": keys, **forecast_dict(fc, k)} for keys, fc in items]
    paths["json"].write_text(json.dumps({"series": entries}, default=str, indent=1))
    rows = [{**keys, **r} for keys, fc in items for r in day_records(fc, k)]
    pl.DataFrame(rows).write_csv(paths["csv"])
    sections, contents = [], []
    for i, (_, fc) in enumerate(items):
        page = render(fc, k)
        body = page[page.index("<body>") + len("<body>") : page.index("</body>")]
        body = body.replace(' id="', f' id="s{i}-')  # ids stay unique on the one page
        title = fc.labels.get("series", f"series {i}")
        contents.append(f'<li><a href="#s{i}">{title}</a></li>')
        sections.append(f'<section id="s{i}"><h1 class="series">{title}</h1>{body}</section>')
    head = page[: page.index("<body>") + len("<body>")]
    paths["html"].write_text(
        f'{head}<nav id="series"><h2>Series</h2><ul>{"".join(contents)}</ul></nav>'
        f"{''.join(sections)}</body></html>",
        encoding="utf-8",
    )
    return paths
