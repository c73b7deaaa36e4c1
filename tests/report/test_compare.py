import subprocess
import sys

import polars as pl
import pytest
from omegaconf import OmegaConf

from respicast.cli.report import run_report
from respicast.report.compare import Column, best_marks, find_run_dirs, load_rows


def _cfg(runs, **kw):
    base = dict(
        runs=runs,
        group_by=None,
        reference=None,
        horizons=[1, 3, 7],
        metrics=["auroc", "brier", "mae"],
        min_positives=20,
        bootstrap={"n": 20, "seed": 0, "level": 0.95},
    )
    return OmegaConf.create({**base, **kw})


def test_three_runs_table(three_runs, tmp_path):
    root, made = three_runs
    paths = run_report(_cfg(str(root)), tmp_path)
    csv = pl.read_csv(paths["csv"])
    assert csv["row"].to_list() == ["lstm", "tcn", "climatology", "oracle"]
    aurocs = {m: made[m]["metrics"]["test/auroc_h1"] for m in ("lstm", "tcn", "climatology")}
    best = max(aurocs, key=aurocs.get)
    assert csv.filter(pl.col("auroc_h1_best"))["row"].to_list() == [best]
    assert csv.filter(pl.col("row") == "oracle")["auroc_h1"][0] == 0.95
    assert not csv.filter(pl.col("row") == "oracle")["auroc_h1_best"][0]
    md = paths["md"].read_text()
    assert f"**{aurocs[best]:.3f} [" in md
    assert "<b>" in paths["html"].read_text()


def test_thin_column_is_flagged_not_marked(tmp_path, run_factory):
    make_run = run_factory
    make_run(tmp_path / "a", "lstm", noise=0.05, oracle=None)
    make_run(tmp_path / "b", "tcn", noise=0.2, oracle=None, keep_positives=8)
    rows = load_rows(find_run_dirs(tmp_path))
    cols = [Column("auroc", 1), Column("mae", 1)]
    marks, unreliable = best_marks(rows, cols, min_positives=20)
    assert "|test/auroc_h1" in unreliable and not any(k == "test/auroc_h1" for _, k in marks)
    paths = run_report(_cfg(str(tmp_path), metrics=["auroc"]), tmp_path / "out")
    assert "AUROC h1 (unreliable)" in paths["md"].read_text()


def test_group_by_and_reference_deltas(tmp_path, run_factory):
    make_run = run_factory
    for i, (model, noise, group) in enumerate(
        [
            ("lstm", 0.05, "copd"),
            ("climatology", 0.4, "copd"),
            ("lstm", 0.1, "asthma"),
            ("climatology", 0.4, "asthma"),
        ]
    ):
        make_run(tmp_path / str(i), model, noise=noise, groups=group)
    paths = run_report(
        _cfg([str(tmp_path)], group_by="data.groups", reference="climatology"), tmp_path / "out"
    )
    csv = pl.read_csv(paths["csv"])
    assert set(csv["group"]) == {"copd", "asthma"}
    lstm = csv.filter((pl.col("group") == "copd") & (pl.col("row") == "lstm"))
    clim = csv.filter((pl.col("group") == "copd") & (pl.col("row") == "climatology"))
    # same synthetic days in both runs: the paired Δ equals the difference of the two AUROCs
    assert lstm["dauroc_h1"][0] == pytest.approx(
        lstm["auroc_h1"][0] - clim["auroc_h1"][0], abs=1e-6
    )
    assert lstm["dauroc_h1_lo"][0] <= lstm["dauroc_h1"][0] <= lstm["dauroc_h1_hi"][0]
    assert clim["dauroc_h1"].is_null()[0] or clim["dauroc_h1"].is_nan()[0]
    assert "Group: asthma" in paths["md"].read_text()
    with pytest.raises(ValueError, match="reference='gbm'.*rows"):
        run_report(
            _cfg([str(tmp_path)], group_by="data.groups", reference="gbm"), tmp_path / "out2"
        )


def test_missing_runs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json under"):
        find_run_dirs(tmp_path)
    (tmp_path / "metrics.json").write_text("{bad")
    with pytest.raises(ValueError, match="metrics.json: not valid JSON"):
        load_rows(find_run_dirs(tmp_path))


def test_console_app_writes_to_its_run_dir(three_runs, tmp_path):
    root, _ = three_runs
    out = tmp_path / "report_out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "respicast.cli.report",
            f"runs={root}",
            f"hydra.run.dir={out}",
            "bootstrap.n=5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"comparison csv: {out / 'comparison.csv'}" in proc.stdout
    assert (out / "comparison.html").exists()


def test_run_config_is_read_from_config_resolved_first(tmp_path, run_factory):
    """respicast-eval mode=checkpoint: Hydra's config holds eval's default model, the resolved
    config the evaluated one; the row is named after the evaluated model."""
    run = tmp_path / "eval_run"
    run_factory(run, "glm_dlnm", noise=0.5)
    (run / ".hydra" / "config.yaml").write_text("model:\n  name: lstm\n")
    (run / ".hydra" / "overrides.yaml").write_text("- mode=checkpoint\n")
    assert load_rows([run])[0].name == "lstm"  # only Hydra's config: it is read
    (run / "config_resolved.yaml").write_text("model:\n  name: glm_dlnm\n")
    assert load_rows([run])[0].name == "glm_dlnm"
