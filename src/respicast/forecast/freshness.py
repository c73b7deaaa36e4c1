"""Data freshness on the as-of date: the last day each source covers, and the gaps that were filled.

A source "covers" a day when a valid value of a period containing that day was published by the
end of the as-of date (the source's own `published` column, as harmonisation uses it). Sources
that stopped delivering would otherwise go unnoticed: the daily table carries a source's last
period forward, so the staleness check reads the sources themselves.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.forecast.errors import ForecastError
from respicast.table import DailyTable

log = logging.getLogger(__name__)

FILL_RULES = {
    "locf_then_seasonal": "the last value carried forward for up to {locf} days, then the mean of the "
    "same ±7 days in earlier years, then the mean of all earlier values",
    "locf": "the last value carried forward for up to {locf} days",
    "none": "not filled",
}
UNFILLED_RULE = "a value still missing after that enters the model as its training mean"


def fill_rule(data_cfg: DictConfig) -> str:
    fill = data_cfg.get("fill") or {}
    method = str(fill.get("method", "locf_then_seasonal"))
    text = FILL_RULES.get(method, method).format(locf=int(fill.get("max_locf_days", 3)))
    return f"{method}: {text}; {UNFILLED_RULE}"


def _period_end(frame: pl.DataFrame, resolution: str, tz: str) -> pl.Expr:
    start = pl.col("time").dt.convert_time_zone(tz).dt.date()
    if resolution == "1w":
        return start + pl.duration(days=6)
    if resolution == "1mo":
        return start.dt.month_end()
    return start


def source_coverage(data_cfg: DictConfig, table: DailyTable, asof: dt.date) -> dict[str, dict]:
    """Per source: the last day covered as of `asof`, and the days since (staleness)."""
    from respicast.sources.registry import read_source

    cfg = OmegaConf.to_container(data_cfg, resolve=True)
    tz = cfg.get("timezone", "Europe/Paris")
    world_dir = table.meta.get("world_dir")
    target_src = (cfg.get("target") or {}).get("source")
    out = {}
    for name, entry in (cfg.get("sources") or {}).items():
        if name not in (table.meta.get("sources") or {}) and name != target_src:
            continue
        used = [c.name for c in table.columns if c.source == name]
        if not used:
            continue  # the source feeds no column of the selected groups
        try:
            frame, meta = read_source(name, entry, tz, world_dir)
        except Exception as e:  # noqa: BLE001 - freshness must not hide the forecast; say why
            log.warning("freshness of %s unknown: %s", name, e)
            out[name] = {"last_covered": None, "staleness_days": None, "note": f"unreadable: {e}"}
            continue
        from respicast.harmonize.build import column_name

        # a raw variable feeds a column named <source>_<variable>[_<daily stat>]
        variables = [
            v
            for v in frame["variable"].unique().to_list()
            if any(
                c == column_name(name, v) or c.startswith(column_name(name, v) + "_") for c in used
            )
        ]
        known = frame.filter(
            (pl.col("quality") == "valid")
            & pl.col("value").is_not_null()
            & (pl.col("published").dt.convert_time_zone(tz).dt.date() <= asof)
        )
        if target_src == name:
            tcol = (cfg.get("target") or {}).get("column")
            known = known.filter(pl.col("variable") != tcol)
        known = known.filter(pl.col("variable").is_in(variables))
        last = (
            known.select(_period_end(known, meta.resolution, tz).max()).item()
            if known.height
            else None
        )
        out[name] = {
            "last_covered": str(last) if last else None,
            "staleness_days": (asof - last).days if last else None,
            "resolution": meta.resolution,
            "latency_days": meta.latency.days,
            "columns": used,
        }
    return out


def target_coverage(table: DailyTable, asof: dt.date) -> dict:
    """The last day whose admissions count is known on the as-of date."""
    known_by = asof - dt.timedelta(days=table.target_latency_days)
    f = table.frame.filter((pl.col("date") <= known_by) & pl.col(table.target).is_not_null())
    last = f["date"].max() if f.height else None
    return {
        "last_covered": str(last) if last else None,
        "staleness_days": (asof - last).days if last else None,
        "latency_days": table.target_latency_days,
        "columns": [table.target],
    }


def check_staleness(coverage: dict[str, dict], limits: dict, on_stale: str = "error") -> list[str]:
    """Sources older than their limit (days): a ForecastError, or warnings when on_stale=warn."""
    limits = dict(limits or {})
    default = limits.get("default")
    problems = []
    for name, c in coverage.items():
        limit = limits.get(name, default)
        c["max_staleness_days"] = limit
        age = c.get("staleness_days")
        if limit is None:
            continue
        if age is None:
            problems.append(f"{name}: no value published by the as-of date")
        elif age > int(limit):
            problems.append(
                f"{name}: last covers {c['last_covered']}, {age} days old (limit {limit})"
            )
        c["stale"] = bool(age is None or age > int(limit))
    if problems and on_stale == "error":
        raise ForecastError(
            "sources too stale to forecast: "
            + "; ".join(problems)
            + " (raise forecast.freshness.max_staleness_days.<source> or set on_stale=warn)"
        )
    for p in problems:
        log.warning("stale source: %s", p)
    return problems


def filled_in_window(
    table: DailyTable, asof: dt.date, lookback: int, recent_days: int
) -> list[dict]:
    """Feature values of the lookback that were missing as published (filled), most recent first."""
    start = asof - dt.timedelta(days=lookback - 1)
    f = table.frame.filter(pl.col("date").is_between(start, asof))
    out = []
    for c in table.columns:
        if not c.mask or c.mask not in f.columns:
            continue
        days = f.filter(pl.col(c.mask))["date"].to_list()
        still = f.filter(pl.col(c.name).is_null())["date"].to_list()
        if not days:
            continue
        out.append(
            {
                "column": c.name,
                "group": c.group,
                "source": c.source,
                "days": len(days),
                "recent": [str(d) for d in days if (asof - d).days < recent_days],
                "last_filled": str(max(days)),
                "left_missing": len(still),
            }
        )
    out.sort(key=lambda r: r["last_filled"], reverse=True)
    return out


def history_gaps(history: np.ndarray, asof: dt.date, latency: int) -> list[str]:
    """Days whose admissions count is missing from the lookback's history (row s holds day s - latency)."""
    n = len(history)
    days = [asof - dt.timedelta(days=n - 1 - i + latency) for i in range(n)]
    return [str(d) for d, v in zip(days, history, strict=True) if np.isnan(v)]
