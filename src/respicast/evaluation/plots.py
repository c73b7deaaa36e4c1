"""Run pictures: ROC, reliability, confusion matrices, observed vs predicted over the test period."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on training nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from torchmetrics.functional.classification import binary_roc  # noqa: E402

from respicast.evaluation import metrics as M  # noqa: E402

log = logging.getLogger(__name__)


def _labelled(test: pl.DataFrame, h: int) -> tuple[np.ndarray, np.ndarray]:
    sub = test.filter(
        (pl.col("horizon") == h) & pl.col("peak").is_not_null() & pl.col("peak_prob").is_not_null()
    )
    return sub["peak"].cast(pl.Float64).to_numpy(), sub["peak_prob"].cast(pl.Float64).to_numpy()


def _model_name(test: pl.DataFrame) -> str:
    return (
        ", ".join(sorted(test["model"].unique().cast(pl.Utf8).to_list()))
        if "model" in test.columns
        else "model"
    )


def _horizons(test: pl.DataFrame) -> list[int]:
    return sorted(int(h) for h in test["horizon"].unique().to_list())


def plot_roc(test: pl.DataFrame, thresholds: dict[int, float], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for h in _horizons(test):
        y, p = _labelled(test, h)
        if not M.has_both_classes(y):
            log.warning(
                "ROC h=%d: needs positives and negatives (%d of %d); curve left out",
                h,
                int(y.sum()),
                y.size,
            )
            continue
        fpr, tpr, _ = binary_roc(torch.tensor(p), torch.tensor(y, dtype=torch.long))
        (line,) = ax.plot(fpr, tpr, label=f"h={h} d  AUROC {M.auroc(y, p):.2f}")
        if h in thresholds:
            op = M.confusion_at(y, p, thresholds[h])
            ax.plot(1 - op["specificity"], op["sensitivity"], "o", color=line.get_color())
    ax.plot([0, 1], [0, 1], ":", color="grey", label="no skill")
    ax.set(
        xlabel="false alarm rate (1 − specificity)",
        ylabel="peaks detected (sensitivity)",
        title=f"ROC of peak probability, test, {_model_name(test)}\n(dot = chosen alert threshold)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def _reliability_top(test: pl.DataFrame, n_bins: int) -> float:
    """Upper end of both axes: the data's range (largest predicted probability or observed bin
    frequency) rounded up to 0.05, so a model that never says more than 0.2 fills the frame."""
    top = 0.0
    for h in _horizons(test):
        y, p = _labelled(test, h)
        if y.size:
            freq = [f for _, f, _ in M.reliability_bins(y, p, n_bins)]
            top = max(top, float(np.nanmax(p)), float(np.nanmax(freq)) if freq else 0.0)
    return float(min(1.0, np.ceil(top * 1.05 / 0.05) * 0.05)) if top > 0 else 1.0


def plot_reliability(test: pl.DataFrame, path: Path, n_bins: int = 10) -> Path:
    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(6, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top = _reliability_top(test, n_bins)
    ax.plot([0, top], [0, top], ":", color="grey", label="perfect calibration")
    for h in _horizons(test):
        y, p = _labelled(test, h)
        if y.size == 0:
            continue
        bins = M.reliability_bins(y, p, n_bins)
        mean_p, freq, counts = (np.array(v) for v in zip(*bins, strict=True))
        ece = M.ece_equal_frequency(y, p, n_bins)
        # equal-count bins: one count range per horizon says how many days stand behind each dot
        (line,) = ax.plot(
            mean_p,
            freq,
            "o-",
            label=f"h={h} d  ECE {ece:.3f}  ({counts.min()}–{counts.max()} days/bin)",
        )
        hist.hist(p, bins=20, range=(0, top), histtype="step", color=line.get_color())
    ax.set(
        ylabel="observed peak frequency",
        title=f"Reliability of peak probability, test, {_model_name(test)}\n"
        f"({n_bins} equal-count bins; axes on the predictions' range 0–{top:.2f})",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend(loc="upper left", fontsize=7)
    hist.set(
        xlabel="predicted peak probability",
        ylabel=f"days per {top / 20:.3g} bin",
        xlim=(0, top),
    )
    return _save(fig, path)


def plot_pit(test: pl.DataFrame, path: Path, n_bins: int = 10, seed: int = 0) -> Path:
    """Randomised PIT histogram per horizon of the count distribution (predicted, dispersion)."""
    from respicast.evaluation.proper_scores import observed_counts, randomized_pit

    horizons = _horizons(test)
    fig, axes = plt.subplots(1, len(horizons), figsize=(2.2 * len(horizons) + 1, 3.0), sharey=True)
    for ax, h in zip(np.atleast_1d(axes), horizons, strict=True):
        sub = test.filter((pl.col("horizon") == h) & pl.col("observed").is_not_null())
        y = observed_counts(sub["observed"].cast(pl.Float64).to_numpy(), f"PIT h={h}")
        k = sub["dispersion"].cast(pl.Float64).fill_null(np.inf).to_numpy()
        u = randomized_pit(y, sub["predicted"].cast(pl.Float64).to_numpy(), k, seed + h)
        ax.hist(u[np.isfinite(u)], bins=n_bins, range=(0, 1), density=True, color="tab:blue")
        ax.axhline(1.0, ls=":", color="grey")
        ax.set(title=f"h={h} d", xlabel="PIT", xlim=(0, 1))
    np.atleast_1d(axes)[0].set_ylabel("density (1 = uniform)")
    fig.suptitle(f"Randomised PIT, test, {_model_name(test)}", fontsize=9)
    return _save(fig, path)


def plot_learning_curves(curves: pl.DataFrame, path: Path, model_name: str = "model") -> Path:
    """Train and validation loss per epoch (from the CSV logger), the best epoch marked."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    epoch = curves["epoch"].to_numpy() + 1  # counted from 1, as the report says
    for col, colour in (("train/loss", "tab:blue"), ("val/loss", "tab:orange")):
        if col in curves.columns:
            ax.plot(
                epoch, curves[col].to_numpy().astype(float), "o-", ms=3, color=colour, label=col
            )
    if "val/loss" in curves.columns and curves["val/loss"].is_not_null().any():
        v = curves["val/loss"].to_numpy().astype(float)
        i = int(np.nanargmin(v))
        ax.plot(
            epoch[i], v[i], "o", ms=9, mfc="none", color="black", label=f"best epoch {epoch[i]}"
        )
    ax.set(xlabel="epoch", ylabel="loss", title=f"Learning curves, {model_name}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_confusion(test: pl.DataFrame, thresholds: dict[int, float], path: Path) -> Path:
    horizons = [h for h in _horizons(test) if h in thresholds]
    cols = min(4, max(len(horizons), 1))
    rows = int(np.ceil(len(horizons) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(horizons) :]:
        ax.axis("off")
    for ax, h in zip(axes.flat, horizons, strict=False):
        y, p = _labelled(test, h)
        c = M.confusion_at(y, p, thresholds[h])
        grid = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        ax.imshow(grid, cmap="Blues")
        for (r, k), v in np.ndenumerate(grid):
            ax.text(
                k,
                r,
                "–" if np.isnan(v) else f"{int(v)}",
                ha="center",
                va="center",
                fontsize=12,
                color="white" if v > np.nanmax(grid) / 2 else "black",
            )
        ax.set_xticks([0, 1], ["no alert", "alert"])
        ax.set_yticks([0, 1], ["no peak", "peak"])
        ax.set_title(f"h={h} d, alert if p ≥ {thresholds[h]:.2f}", fontsize=9)
    fig.suptitle(f"Confusion matrices (days), test, {_model_name(test)}")
    return _save(fig, path)


def plot_timeseries(test: pl.DataFrame, h: int, thresholds: dict[int, float], path: Path) -> Path:
    sub = test.filter(pl.col("horizon") == h).sort("target_date")
    dates = sub["target_date"].to_numpy()
    peak = sub["peak"].fill_null(0).cast(pl.Int8).to_numpy().astype(bool)
    fig, (ax, axp) = plt.subplots(
        2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    top = float(np.nanmax(sub["observed"].to_numpy())) if sub.height else 1.0
    ax.fill_between(
        dates,
        0,
        top * 1.05,
        where=peak,
        step="mid",
        color="tab:red",
        alpha=0.15,
        label="observed peak day",
    )
    ax.plot(dates, sub["observed"].to_numpy(), color="black", lw=0.8, label="observed")
    ax.plot(
        dates, sub["predicted"].to_numpy(), color="tab:blue", lw=1.2, label=f"predicted {h} d ahead"
    )
    if "threshold" in sub.columns:
        ax.step(
            dates,
            sub["threshold"].to_numpy(),
            where="mid",
            color="tab:red",
            ls="--",
            lw=0.8,
            label="peak threshold",
        )
    ax.set(
        ylabel="admissions/day",
        title=f"Observed vs predicted admissions, test, h={h} d, {_model_name(test)}",
    )
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    axp.fill_between(dates, 0, 1, where=peak, step="mid", color="tab:red", alpha=0.15)
    axp.plot(dates, sub["peak_prob"].to_numpy(), color="tab:purple", lw=1, label="peak probability")
    if h in thresholds:
        axp.axhline(
            thresholds[h],
            color="grey",
            ls="--",
            lw=0.8,
            label=f"alert threshold {thresholds[h]:.2f}",
        )
    axp.set(ylabel="P(peak)", xlabel="target date", ylim=(0, 1))
    axp.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_run_plots(
    test: pl.DataFrame, out_dir: Path, thresholds: dict[int, float]
) -> dict[str, Path]:
    """Write the run's PNGs to ``out_dir``; returns {name: path}.

    Time series are drawn for h=1 (or the shortest horizon) and the longest horizon.
    """
    out_dir = Path(out_dir)
    thresholds = {int(k): float(v) for k, v in thresholds.items()}
    horizons = _horizons(test)
    if not horizons:
        raise ValueError("save_run_plots: the test predictions frame has no row")
    pngs = {
        "roc": plot_roc(test, thresholds, out_dir / "roc.png"),
        "reliability": plot_reliability(test, out_dir / "reliability.png"),
        "confusion": plot_confusion(test, thresholds, out_dir / "confusion.png"),
    }
    if "dispersion" in test.columns:  # the count distribution is known: its PIT
        pngs["pit"] = plot_pit(test, out_dir / "pit.png")
    for h in sorted({horizons[0], horizons[-1]}):
        pngs[f"timeseries_h{h}"] = plot_timeseries(
            test, h, thresholds, out_dir / f"timeseries_h{h}.png"
        )
    return pngs


def log_to_wandb(run, pngs: dict[str, Path], test: pl.DataFrame) -> bool:
    """Log the PNGs and the test predictions as a table to ``run`` (or the active wandb run).

    Returns False, doing nothing, when no run is active.
    """
    import wandb

    run = run if run is not None else wandb.run
    if run is None:
        log.info("no active wandb run: plots not logged")
        return False
    payload = {f"plots/{name}": wandb.Image(str(path)) for name, path in pngs.items()}
    # dates as ISO strings: wandb tables do not take numpy datetime64
    table = test.with_columns(pl.col(pl.Date, pl.Datetime).cast(pl.Utf8))
    payload["predictions/test"] = wandb.Table(columns=table.columns, data=table.rows())
    run.log(payload)
    return True
