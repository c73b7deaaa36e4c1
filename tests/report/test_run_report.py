import base64
import re

import pytest

from respicast.evaluation.plots import save_run_plots
from respicast.report import write_run_report


@pytest.fixture
def written(three_runs, tmp_path):
    _, made = three_runs
    res = made["lstm"]["result"]
    plots = save_run_plots(res.test, tmp_path / "plots", res.thresholds)
    summary = {
        "period": ["2021-01-04", "2022-05-18"],
        "sources": ["atmo", "synop", "sentinelles"],
        "groups": ["copd", "asthma"],
        "missingness": {"no2": 0.031, "pollen_betula": 0.27},
        "zones": 4,
    }
    md, html = write_run_report(
        tmp_path,
        metrics=res.metrics,
        test=res.test,
        plots=plots,
        data_summary=summary,
        model_name="lstm",
        oracle={"auroc_h1": 0.95, "brier_h1": 0.05},
    )
    return md, html, res, plots


def test_markdown_holds_data_metrics_oracle_and_pictures(written):
    md, _, res, plots = written
    text = md.read_text()
    assert "| period | 2021-01-04 to 2022-05-18 |" in text
    assert "| sources | atmo, synop, sentinelles |" not in text  # a table of its own
    assert "| atmo |" in text and "| zones | 4 |" in text
    assert "| pollen_betula | 27.0 % | — |" in text
    n_pos = int(res.metrics["test/n_pos_h7"])
    row_h7 = next(line for line in text.splitlines() if line.startswith("| h=7 d |"))
    assert f"| {n_pos} |" in row_h7
    auc, lo, hi = (res.metrics[f"test/auroc_h1{s}"] for s in ("", "_lo", "_hi"))
    assert f"{auc:.3f} [{lo:.3f}, {hi:.3f}]" in text
    share = (auc - 0.5) / (0.95 - 0.5)
    assert f"{100 * share:.0f} %" in text
    assert text.count("![") == len(plots)
    slope_raw, slope = res.metrics["test/cal_slope_raw_h1"], res.metrics["test/cal_slope_h1"]
    assert f"{slope_raw:.3f} → {slope:.3f}" in text


def test_html_is_self_contained(written):
    _, html, _, plots = written
    text = html.read_text()
    sources = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert len(sources) == len(plots)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    png = base64.b64decode(sources[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_unreliable_flag_and_no_oracle(tmp_path):
    metrics = {"test/n_pos_h1": 5.0, "test/auroc_h1": 0.7, "test/auroc_h1_unreliable": 1.0}
    import polars as pl

    empty = pl.DataFrame(schema={"target_date": pl.Date, "horizon": pl.Int32})
    md, _ = write_run_report(
        tmp_path,
        metrics=metrics,
        test=empty,
        plots={},
        data_summary={},
        model_name="x",
        oracle=None,
    )
    text = md.read_text()
    assert "unreliable (few peaks)" in text
    assert "Oracle" not in text
