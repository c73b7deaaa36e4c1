"""Ablation report: ΔAUROC and ΔBrier of each variant against the full model, over seeds.

Reads a multirun of ``respicast-train -m experiment=ablation_groups`` (run discovery, overrides
and configs through respicast.report.compare). Each variant run is paired with the reference run
(``full``) of the *same model and seed* on the same test days; the point estimate is the mean of
the per-seed differences, and its CI comes from a bootstrap over whole ISO weeks of target dates
in which every seed of the variant and of the reference is scored on the same resampled days.
That CI is about the test period (which weeks happened); the spread over seeds (training noise) is
reported next to it as a standard deviation.

Sign: Δ = variant − full. ΔAUROC < 0 (ΔBrier > 0): the variant is worse, so a dropped group was
useful; for only_<g>, compare with the other only_ rows (they all lack most groups).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from omegaconf import DictConfig, OmegaConf

from respicast.evaluation import metrics as M
from respicast.evaluation.bootstrap import bootstrap_cis, iso_week_ids
from respicast.report.compare import JOIN_KEYS, _lookup, _read_config, find_run_dirs, load_rows
from respicast.report.document import Cell, Document
from respicast.report.format import fmt, fmt_ci
from respicast.run_dir import PREDICTIONS, RunDir
from respicast.table import GROUPS

log = logging.getLogger(__name__)

VARIANT_KEY = "ablation.variant"


# overrides that never define a setting: the variant and seed are what the report pairs over
_NOT_SETTING = {"seed", "experiment", "hydra.sweep.dir", "hydra.run.dir"}


@dataclass(frozen=True)
class AblationRun:
    model: str  # the setting: model name plus any other override that varies across the sweep
    variant: str
    seed: str
    run_dir: Path


def load_ablation_runs(runs, variant_key: str = VARIANT_KEY) -> list[AblationRun]:
    """One entry per run dir that has predictions, labelled by setting, variant and seed.

    Runs of a sweep that also varies e.g. model.C are kept apart: the setting label gets the
    overrides that differ between runs (besides the variant and the seed).
    """
    found = []
    for row in load_rows(find_run_dirs(runs), group_by=variant_key):
        if not row.is_run:
            continue
        if not RunDir(row.run_dir).has_predictions():
            log.warning("%s has no %s; left out of the ablation", row.run_dir, PREDICTIONS)
            continue
        cfg = _read_config(row.run_dir)
        model = _lookup(row.run_dir, row.overrides, cfg, "model.name") or row.overrides.get(
            "model", "?"
        )
        seed = _lookup(row.run_dir, row.overrides, cfg, "seed") or "0"
        found.append((model, row.group, str(seed), row.run_dir, row.overrides))
    skip = _NOT_SETTING | {variant_key, "model"}
    keys = sorted({k for *_, ov in found for k in ov} - skip)
    varying = [k for k in keys if len({ov.get(k) for *_, ov in found}) > 1]
    out = []
    for model, variant, seed, run_dir, ov in found:
        extra = ", ".join(f"{k}={ov.get(k)}" for k in varying)
        out.append(AblationRun(f"{model} ({extra})" if extra else model, variant, seed, run_dir))
    return out


def _variant_order(variant: str) -> tuple:
    """drop_ variants first, then only_, then anything else, each in the table's group order."""
    kind, _, group = variant.partition("_")
    rank = {"drop": 0, "only": 1}.get(kind, 2)
    return (rank, GROUPS.index(group) if group in GROUPS else len(GROUPS), variant)


def _test_probs(run: AblationRun) -> pl.DataFrame:
    df = RunDir(run.run_dir).read_predictions()
    if "fold" not in df.columns:
        df = df.with_columns(pl.lit(0, dtype=pl.Int32).alias("fold"))
    return df.filter(pl.col("split") == "test").select([*JOIN_KEYS, "peak", "peak_prob"])


def _wide(runs: list[AblationRun], ref_runs: list[AblationRun]) -> tuple[pl.DataFrame, dict]:
    """Test rows every run predicted: labels from the reference, one probability column per run."""
    frame = _test_probs(ref_runs[0]).select([*JOIN_KEYS, "peak"])
    cols: dict[AblationRun, str] = {}
    for i, run in enumerate(runs):
        cols[run] = f"p{i}"
        frame = frame.join(
            _test_probs(run).select([*JOIN_KEYS, pl.col("peak_prob").alias(f"p{i}")]), on=JOIN_KEYS
        )
    return frame.drop_nulls(), cols


def _seed_deltas(
    y: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]], idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-seed (ΔAUROC, ΔBrier) of (variant, reference) probability pairs on rows ``idx``."""
    d_auc = [M.auroc(y[idx], p[idx]) - M.auroc(y[idx], q[idx]) for p, q in pairs]
    d_bri = [M.brier(y[idx], p[idx]) - M.brier(y[idx], q[idx]) for p, q in pairs]
    return np.array(d_auc), np.array(d_bri)


def _horizon_rows(
    y: np.ndarray,
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    weeks: np.ndarray,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, dict[str, float]]:
    """Seed-averaged Δ per variant with a joint week-block bootstrap CI (all variants and seeds
    scored on the same resampled days)."""

    def stat(idx: np.ndarray) -> dict[str, float]:
        out = {}
        for v, vp in pairs.items():
            a, b = _seed_deltas(y, vp, idx)
            out[f"{v}|dauroc"], out[f"{v}|dbrier"] = np.nanmean(a), np.nanmean(b)
        return out

    cis = bootstrap_cis(stat, weeks, n_boot, seed, level) if n_boot else {}
    nan2 = (float("nan"), float("nan"))
    everything = np.arange(len(y))
    rows = {}
    for v, vp in pairs.items():
        a, b = _seed_deltas(y, vp, everything)
        rows[v] = {
            "n_seeds": len(a),
            "auroc": float(np.mean([M.auroc(y, p) for p, _ in vp])),
            "auroc_ref": float(np.mean([M.auroc(y, q) for _, q in vp])),
            "dauroc": float(np.nanmean(a)),
            "dauroc_lo": cis.get(f"{v}|dauroc", nan2)[0],
            "dauroc_hi": cis.get(f"{v}|dauroc", nan2)[1],
            "dauroc_seed_sd": float(np.std(a, ddof=1)) if len(a) > 1 else float("nan"),
            "dbrier": float(np.nanmean(b)),
            "dbrier_lo": cis.get(f"{v}|dbrier", nan2)[0],
            "dbrier_hi": cis.get(f"{v}|dbrier", nan2)[1],
            "dbrier_seed_sd": float(np.std(b, ddof=1)) if len(b) > 1 else float("nan"),
        }
    return rows


def ablation_deltas(
    runs: list[AblationRun],
    *,
    reference: str = "full",
    horizons: list[int] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> pl.DataFrame:
    """One row per (model, variant, horizon): AUROC, ΔAUROC and ΔBrier vs ``reference`` with CIs."""
    records = []
    for model in sorted({r.model for r in runs}):
        mine = [r for r in runs if r.model == model]
        refs = {r.seed: r for r in mine if r.variant == reference}
        if not refs:
            variants = sorted({r.variant for r in mine})
            raise ValueError(
                f"ablation report: model {model!r} has no {reference!r} run; variants: {variants}"
            )
        others = [r for r in mine if r.variant != reference and r.seed in refs]
        for r in mine:
            if r.variant != reference and r.seed not in refs:
                log.warning(
                    "%s: no %s run with seed %s to pair with; left out",
                    r.run_dir,
                    reference,
                    r.seed,
                )
        variants = sorted({r.variant for r in others}, key=_variant_order)
        wide, col = _wide(list(refs.values()) + others, list(refs.values()))
        for h in horizons or sorted(wide["horizon"].unique().to_list()):
            sub = wide.filter(pl.col("horizon") == h)
            if sub.height == 0:
                continue
            y = sub["peak"].cast(pl.Float64).to_numpy()
            pairs = {
                v: [
                    (sub[col[r]].to_numpy(), sub[col[refs[r.seed]]].to_numpy())
                    for r in others
                    if r.variant == v
                ]
                for v in variants
            }
            weeks = iso_week_ids(sub["target_date"])
            for v, stats in _horizon_rows(y, pairs, weeks, n_boot, seed + int(h), level).items():
                records.append(
                    {"model": model, "variant": v, "horizon": int(h), **stats}
                    | {"n": sub.height, "n_pos": int(np.sum(y))}
                )
    return pl.DataFrame(records)


def _verdict(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "—"
    return "worse than full" if hi < 0 else "better than full" if lo > 0 else "no clear difference"


def plot_ablation(table: pl.DataFrame, path: Path) -> Path:
    """Forest plot: ΔAUROC with its CI per variant, one panel per horizon (and model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = table.select("model", "horizon").unique(maintain_order=True).rows()
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(3.6 * len(panels), 0.4 * table["variant"].n_unique() + 1.6),
        sharey=True,
        squeeze=False,
    )
    for ax, (model, h) in zip(axes[0], panels, strict=True):
        sub = table.filter((pl.col("model") == model) & (pl.col("horizon") == h))
        ypos = np.arange(sub.height)[::-1]
        d, lo, hi = (sub[c].to_numpy() for c in ("dauroc", "dauroc_lo", "dauroc_hi"))
        err = np.vstack(
            [d - np.where(np.isfinite(lo), lo, d), np.where(np.isfinite(hi), hi, d) - d]
        )
        colors = [
            "tab:red" if h_ < 0 else "tab:blue" if l_ > 0 else "0.4"
            for l_, h_ in zip(lo, hi, strict=True)
        ]
        for x, yy, e, c in zip(d, ypos, err.T, colors, strict=True):
            ax.errorbar(x, yy, xerr=e[:, None], fmt="o", color=c, ecolor=c, capsize=3)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(ypos, sub["variant"].to_list())
        ax.set_title(f"{model} h{h}")
        ax.set_xlabel("ΔAUROC vs full")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_ablation(
    table: pl.DataFrame, out_dir: Path, *, level: float = 0.95, reference: str = "full"
) -> dict[str, Path]:
    """ablation.csv, ablation.md, ablation.html and plots/ablation.png in ``out_dir``."""
    out = RunDir(out_dir)
    out.path.mkdir(parents=True, exist_ok=True)
    paths = out.ablation_files()
    table.write_csv(paths["csv"])
    paths["png"] = plot_ablation(table, out.ablation_plot())
    doc = Document("respicast ablation by variable group")
    for model in table["model"].unique(maintain_order=True):
        doc.heading(f"Model: {model}")
        sub = table.filter(pl.col("model") == model)
        headers = [
            "variant",
            "h",
            "seeds",
            "AUROC",
            f"AUROC {reference}",
            "ΔAUROC [CI]",
            "sd seeds",
            "ΔBrier [CI]",
            "n_pos",
            "verdict (ΔAUROC)",
        ]
        rows = []
        for r in sub.iter_rows(named=True):
            verdict = _verdict(r["dauroc_lo"], r["dauroc_hi"])
            rows.append(
                [
                    r["variant"],
                    str(r["horizon"]),
                    str(r["n_seeds"]),
                    fmt(r["auroc"]),
                    fmt(r["auroc_ref"]),
                    Cell(
                        fmt_ci(r["dauroc"], r["dauroc_lo"], r["dauroc_hi"]),
                        verdict == "worse than full",
                    ),
                    fmt(r["dauroc_seed_sd"]),
                    fmt_ci(r["dbrier"], r["dbrier_lo"], r["dbrier_hi"], 4),
                    str(r["n_pos"]),
                    verdict,
                ]
            )
        doc.table(headers, rows)
    doc.image("ΔAUROC against the full model", paths["png"])
    doc.paragraph(
        f"Test split. Δ = variant − {reference}, paired by seed on the same test days, averaged over "
        f"seeds; {int(level * 100)} % CIs from a bootstrap over whole ISO weeks (every seed scored on the "
        "same resampled days); 'sd seeds' is the spread of the per-seed Δ (training noise). Bold: the "
        "variant is worse than the full model (CI below 0), i.e. what it removed carried signal. "
        "drop_<g>: every group but g; only_<g>: the always-kept groups plus g."
    )
    doc.write(paths["md"], paths["html"])
    return paths


def run_ablation_report(cfg: DictConfig, out_dir: Path) -> dict[str, Path]:
    """The respicast-report ablation mode: cfg.runs, cfg.reference (default full), cfg.horizons,
    cfg.bootstrap and optionally cfg.variant_key (default ablation.variant)."""
    runs = OmegaConf.to_container(cfg.runs) if OmegaConf.is_config(cfg.runs) else cfg.runs
    reference = cfg.get("reference") or "full"
    b = cfg.get("bootstrap") or {}
    level = float(b.get("level", 0.95))
    table = ablation_deltas(
        load_ablation_runs(runs, cfg.get("variant_key") or VARIANT_KEY),
        reference=reference,
        horizons=list(cfg.horizons) if cfg.get("horizons") else None,
        n_boot=int(b.get("n", 200)),
        seed=int(b.get("seed", 0)),
        level=level,
    )
    return write_ablation(table, out_dir, level=level, reference=reference)
