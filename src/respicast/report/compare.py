"""Comparison table across runs: one row per run (plus oracle/baseline rows), metrics with CIs.

A run is a folder holding ``metrics.json``; its config (``config_resolved.yaml``, else Hydra's
``.hydra/config.yaml``: respicast.run_dir) gives the model name and ``.hydra/overrides.yaml`` the
command-line overrides. Keys of
metrics.json whose prefix is neither ``val`` nor ``test`` (``oracle/auroc_h1``, ...) become extra
rows named after the prefix.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import OmegaConf

from respicast.evaluation import metrics as M
from respicast.evaluation.bootstrap import bootstrap_cis, iso_week_ids
from respicast.report.document import Cell, Document
from respicast.report.format import (
    HIGHER_IS_BETTER,
    LABELS,
    LOWER_IS_BETTER,
    as_float,
    fmt_ci,
    is_number,
    metric_triplet,
)
from respicast.run_dir import PREDICTIONS, RunDir

log = logging.getLogger(__name__)

SPLITS = ("val", "test")
JOIN_KEYS = ["fold", "origin_date", "target_date", "horizon"]


@dataclass
class Row:
    name: str
    group: str
    metrics: dict[str, float]
    run_dir: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    is_run: bool = True


def find_run_dirs(runs: str | Path | list) -> list[Path]:
    """Every folder holding a metrics.json under the given run or multirun dirs."""
    entries = runs if isinstance(runs, list | tuple) else [runs]
    return [rd.path for rd in RunDir.find(entries)]


def _read_overrides(run_dir: Path) -> dict[str, str]:
    out = {}
    for item in RunDir(run_dir).read_overrides():
        key, _, value = item.partition("=")
        out[key.lstrip("+~")] = value
    return out


def _read_config(run_dir: Path):
    return RunDir(run_dir).read_config()


def _lookup(run_dir: Path, overrides: dict[str, str], cfg, key: str) -> str | None:
    if key in overrides:
        return overrides[key]
    if cfg is not None:
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        if value is not None:
            return str(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)
    return None


def load_rows(run_dirs: list[Path], group_by: str | None = None) -> list[Row]:
    """One Row per run, then the extra rows (oracle, ...) once per group."""
    runs: list[Row] = []
    extras: dict[tuple[str, str], Row] = {}
    for run_dir in run_dirs:
        raw = RunDir(run_dir).read_metrics()
        overrides = _read_overrides(run_dir)
        cfg = _read_config(run_dir)
        model = (
            _lookup(run_dir, overrides, cfg, "model.name") or overrides.get("model") or run_dir.name
        )
        group = _lookup(run_dir, overrides, cfg, group_by) if group_by else ""
        if group_by and group is None:
            log.warning(
                "%s: group_by key %r not in overrides or config; grouped as 'unknown'",
                run_dir,
                group_by,
            )
            group = "unknown"
        by_prefix: dict[str, dict[str, float]] = {}
        for key, value in raw.items():
            prefix, sep, rest = key.partition("/")
            if sep:
                by_prefix.setdefault(prefix, {})[key if prefix in SPLITS else f"test/{rest}"] = (
                    as_float(value)
                )
        runs.append(
            Row(
                model,
                group,
                {k: v for p in SPLITS for k, v in by_prefix.pop(p, {}).items()},
                run_dir,
                overrides,
            )
        )
        for prefix, values in by_prefix.items():
            # rows such as the oracle are the same for every run on the same data: keep one
            extras.setdefault((group, prefix), Row(prefix, group, values, is_run=False))
    _disambiguate(runs, group_by)
    return runs + list(extras.values())


def _disambiguate(rows: list[Row], group_by: str | None) -> None:
    """Same model name twice in a group: add the overrides that differ, then the folder name."""
    by_key: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        by_key.setdefault((row.group, row.name), []).append(row)
    for same in by_key.values():
        if len(same) < 2:
            continue
        keys = sorted({k for r in same for k in r.overrides} - {"model", group_by})
        varying = [k for k in keys if len({r.overrides.get(k) for r in same}) > 1]
        for r in same:
            extra = ", ".join(f"{k}={r.overrides.get(k)}" for k in varying)
            r.name = f"{r.name} ({extra})" if extra else f"{r.name} ({r.run_dir.name})"


def _quantile_levels(run_dir: Path) -> tuple[float, ...]:
    from respicast.evaluation.quantiles import HUB_LEVELS

    cfg = _read_config(run_dir)
    levels = OmegaConf.select(cfg, "evaluation.quantile_levels") if cfg is not None else None
    return tuple(float(x) for x in levels) if levels is not None else HUB_LEVELS


def _count_scores(sub: pl.DataFrame, suffix: str, levels) -> dict[str, np.ndarray]:
    """Per-row WIS and CRPS of one side of a joined frame (empty without a dispersion column)."""
    from respicast.evaluation.proper_scores import row_scores

    if f"dispersion{suffix}" not in sub.columns:
        return {}
    side = sub.select(
        "target_date",
        "observed",
        pl.col(f"predicted{suffix}").alias("predicted"),
        pl.col(f"dispersion{suffix}").alias("dispersion"),
    )
    scores = row_scores(side, levels, "report")
    return {"wis": scores["wis"], "crps": scores["crps"]}


def _delta_levels(row_dir: Path, ref_dir: Path) -> tuple[float, ...]:
    levels, ref_levels = _quantile_levels(row_dir), _quantile_levels(ref_dir)
    if levels != ref_levels:
        raise ValueError(
            f"report reference: evaluation.quantile_levels differ between {row_dir} ({levels}) "
            f"and the reference {ref_dir} ({ref_levels}); ΔWIS needs the same levels"
        )
    return levels


def _paired_deltas(
    row_dir: Path, ref_dir: Path, horizons: list[int], n_boot: int, seed: int, level: float
) -> dict[str, float]:
    """ΔAUROC and ΔBrier (row − reference) on the test rows both runs predicted, with week-block
    CIs; ΔWIS and ΔCRPS too when both runs carry their count distribution (``dispersion``)."""
    cols = [*JOIN_KEYS, "peak", "peak_prob", "observed", "predicted", "dispersion"]

    def load(d: Path) -> pl.DataFrame:
        df = RunDir(d).read_predictions()
        if "fold" not in df.columns:
            df = df.with_columns(pl.lit(0, dtype=pl.Int32).alias("fold"))
        return df.filter(pl.col("split") == "test").select([c for c in cols if c in df.columns])

    joined = (
        load(row_dir)
        .join(load(ref_dir).drop("peak", "observed"), on=JOIN_KEYS, suffix="_ref")
        .drop_nulls(["peak", "peak_prob", "peak_prob_ref"])
    )
    levels = _delta_levels(row_dir, ref_dir)
    out: dict[str, float] = {}
    for h in horizons:
        sub = joined.filter(pl.col("horizon") == h)
        y = sub["peak"].cast(pl.Float64).to_numpy()
        p, q = sub["peak_prob"].to_numpy(), sub["peak_prob_ref"].to_numpy()
        mine, ref = _count_scores(sub, "", levels), _count_scores(sub, "_ref", levels)
        paired = sorted(set(mine) & set(ref))

        def stat(idx: np.ndarray, y=y, p=p, q=q, a=mine, b=ref, names=paired) -> dict[str, float]:
            out = {
                "dauroc": M.auroc(y[idx], p[idx]) - M.auroc(y[idx], q[idx]),
                "dbrier": M.brier(y[idx], p[idx]) - M.brier(y[idx], q[idx]),
            }
            for n in names:
                out[f"d{n}"] = float(np.nanmean(a[n][idx]) - np.nanmean(b[n][idx]))
            return out

        point = stat(np.arange(sub.height))
        cis = (
            bootstrap_cis(stat, iso_week_ids(sub["target_date"]), n_boot, seed + h, level)
            if n_boot and sub.height
            else {}
        )
        for name, value in point.items():
            key = f"test/{name}_h{h}"
            out[key] = value
            out[key + "_lo"], out[key + "_hi"] = cis.get(name, (float("nan"), float("nan")))
    return out


def add_reference_deltas(
    rows: list[Row],
    reference: str,
    horizons: list[int],
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> None:
    """Fill test/dauroc_h{h} and test/dbrier_h{h} of every run row against ``reference`` in its group."""
    groups = {r.group for r in rows}
    for group in groups:
        ref = [r for r in rows if r.group == group and r.name == reference and r.is_run]
        if not ref:
            names = sorted({r.name for r in rows if r.group == group})
            raise ValueError(
                f"report reference={reference!r}: no such run row in group {group!r}; rows: {names}"
            )
        ref_dir = ref[0].run_dir
        if not RunDir(ref_dir).has_predictions():
            log.warning(
                "reference %s has no %s; no Δ columns for group %r", ref_dir, PREDICTIONS, group
            )
            continue
        for row in rows:
            if not row.is_run or row is ref[0] or row.group != group:
                continue
            if not RunDir(row.run_dir).has_predictions():
                log.warning("%s has no %s; no Δ against %s", row.run_dir, PREDICTIONS, reference)
                continue
            row.metrics.update(_paired_deltas(row.run_dir, ref_dir, horizons, n_boot, seed, level))


@dataclass
class Column:
    metric: str
    horizon: int

    @property
    def key(self) -> str:
        return f"test/{self.metric}_h{self.horizon}"

    @property
    def label(self) -> str:
        names = {**LABELS, "dauroc": "ΔAUROC", "dbrier": "ΔBrier", "dwis": "ΔWIS", "dcrps": "ΔCRPS"}
        return f"{names.get(self.metric, self.metric)} h{self.horizon}"


def best_marks(
    rows: list[Row], columns: list[Column], min_positives: int
) -> tuple[set[tuple[int, str]], set[str]]:
    """(row index, column key) pairs to mark best, and the column keys too thin to mark."""
    marks, unreliable = set(), set()
    for col in columns:
        better = 1 if col.metric in HIGHER_IS_BETTER else -1 if col.metric in LOWER_IS_BETTER else 0
        for group in {r.group for r in rows}:
            members = [(i, r) for i, r in enumerate(rows) if r.group == group and r.is_run]
            n_pos = [r.metrics.get(f"test/n_pos_h{col.horizon}", float("nan")) for _, r in members]
            if any(not is_number(n) or n < min_positives for n in n_pos):
                unreliable.add(f"{group}|{col.key}")
                continue
            scored = [
                (better * r.metrics[col.key], i)
                for i, r in members
                if is_number(r.metrics.get(col.key, float("nan")))
            ]
            if better and scored:
                top = max(s for s, _ in scored)
                marks |= {(i, col.key) for s, i in scored if s == top}
    return marks, unreliable


def comparison_frame(rows: list[Row], columns: list[Column], marks: set) -> pl.DataFrame:
    records = []
    for i, r in enumerate(rows):
        rec: dict = {"group": r.group, "row": r.name, "run_dir": str(r.run_dir or "")}
        for col in columns:
            v, lo, hi = metric_triplet(r.metrics, col.key)
            (
                rec[f"{col.metric}_h{col.horizon}"],
                rec[f"{col.metric}_h{col.horizon}_lo"],
                rec[f"{col.metric}_h{col.horizon}_hi"],
            ) = v, lo, hi
            rec[f"{col.metric}_h{col.horizon}_best"] = (i, col.key) in marks
        for h in sorted({c.horizon for c in columns}):
            rec[f"n_pos_h{h}"] = r.metrics.get(f"test/n_pos_h{h}", float("nan"))
        records.append(rec)
    return pl.DataFrame(records)


def write_comparison(
    rows: list[Row],
    columns: list[Column],
    out_dir: Path,
    *,
    min_positives: int = 20,
    title: str = "respicast model comparison",
) -> dict[str, Path]:
    """comparison.md, comparison.csv and comparison.html in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    marks, unreliable = best_marks(rows, columns, min_positives)
    doc = Document(title)
    horizons = sorted({c.horizon for c in columns})
    for group in sorted({r.group for r in rows}):
        members = [(i, r) for i, r in enumerate(rows) if r.group == group]
        if group:
            doc.heading(f"Group: {group}")
        headers = ["row"] + [
            c.label + (" (unreliable)" if f"{group}|{c.key}" in unreliable else "") for c in columns
        ]
        headers += [f"n_pos h{h}" for h in horizons]
        table = []
        for i, r in members:
            cells: list[Cell | str] = [r.name]
            cells += [
                Cell(fmt_ci(*metric_triplet(r.metrics, c.key)), (i, c.key) in marks)
                for c in columns
            ]
            cells += [
                fmt_ci(r.metrics.get(f"test/n_pos_h{h}", float("nan")), None, None, 0)
                for h in horizons
            ]
            table.append(cells)
        doc.table(headers, table)
    doc.paragraph(
        "Test split; 95 % CIs from a bootstrap over whole ISO weeks. Bold: best run in its column "
        f"(oracle and other reference rows excluded). '(unreliable)': a run has fewer than {min_positives} "
        "peak days at that horizon, so no best is marked. Δ columns: row minus the reference row, paired on "
        "the same test days."
    )
    paths = RunDir(out_dir).comparison_files()
    doc.write(paths["md"], paths["html"])
    comparison_frame(rows, columns, marks).write_csv(paths["csv"])
    return paths


def build_columns(metrics: list[str], horizons: list[int], rows: list[Row]) -> list[Column]:
    """Requested metrics × horizons, then any Δ columns the rows carry."""
    cols = [Column(m, h) for m in metrics for h in horizons]
    for m in ("dauroc", "dbrier", "dwis", "dcrps"):
        cols += [Column(m, h) for h in horizons if any(f"test/{m}_h{h}" in r.metrics for r in rows)]
    return cols


def horizons_in(rows: list[Row]) -> list[int]:
    pattern = re.compile(r"^test/n_pos_h(\d+)$")
    return sorted({int(m.group(1)) for r in rows for k in r.metrics if (m := pattern.match(k))})
