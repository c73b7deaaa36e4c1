"""Per-series proper scores of a panel (issue 16): the pooled scores' distribution, per series."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.per_series import SERIES_SCORES, per_series_metrics, series_table
from respicast.evaluation.proper_scores import row_scores
from respicast.evaluation.quantiles import HUB_LEVELS
from respicast.report.document import Document
from respicast.report.run_report import _series_section

SCALES = {"small": 2.0, "mid": 20.0, "big": 200.0}  # series 100x apart, as on weekly panels
HORIZONS = (1, 2)


def panel_frames(weeks: int = 80, seed: int = 0, with_dispersion: bool = False):
    """Weekly NB counts of three zones; the first half of the origins is val, the rest test."""
    rng = np.random.default_rng(seed)
    start = date(2019, 1, 7)
    parts = []
    for i, (zone, scale) in enumerate(SCALES.items()):
        t = np.arange(weeks)
        lam = scale * np.exp(0.6 * np.cos(2 * np.pi * t / 52 + i))
        observed = rng.negative_binomial(8, 8 / (8 + lam)).astype(float)
        threshold = float(np.quantile(observed[: weeks // 2], 0.8))
        for h in HORIZONS:
            predicted = lam * np.exp(rng.normal(0, 0.1 * h, weeks))
            prob = 1 / (1 + np.exp(-(predicted - threshold) / (0.2 * scale)))
            parts.append(
                pl.DataFrame(
                    {
                        "zone": zone,
                        "origin_date": [start + timedelta(weeks=int(w) - h) for w in t],
                        "target_date": [start + timedelta(weeks=int(w)) for w in t],
                        "horizon": h,
                        "observed": observed,
                        "predicted": predicted,
                        "threshold": threshold,
                        "peak": (observed > threshold).astype(np.int8),
                        "peak_prob": prob,
                        "split": np.where(t < weeks // 2, "val", "test"),
                    }
                )
            )
    frame = pl.concat(parts)
    if with_dispersion:  # a model-given k, different per zone
        k = pl.col("zone").replace_strict({"small": 50.0, "mid": 5.0, "big": 12.0})
        frame = frame.with_columns(k.alias("dispersion"))
    # two test weeks of the mid zone without an observation: fewer scored rows than rows
    gone = (pl.col("zone") == "mid") & (pl.col("target_date") >= start + timedelta(weeks=70))
    gone = gone & (pl.col("target_date") < start + timedelta(weeks=72))
    frame = frame.with_columns(
        pl.when(gone).then(None).otherwise(pl.col(c)).alias(c) for c in ("observed", "peak")
    )
    return frame.filter(pl.col("split") == "val"), frame.filter(pl.col("split") == "test")


CFG = {"bootstrap": {"n": 0}}


@pytest.mark.parametrize("with_dispersion", [False, True])
def test_series_scores_weighted_by_rows_give_back_the_pooled_scores(with_dispersion):
    val, test = panel_frames(with_dispersion=with_dispersion)
    result = evaluate_predictions(val, test, CFG, {h: 0.2 for h in HORIZONS})
    m = per_series_metrics(result.test, ["zone"], HUB_LEVELS)
    for h in HORIZONS:
        n = {z: m[f"series/{z}/n_scored_h{h}"] for z in SCALES}
        assert n["mid"] == n["small"] - 2  # the two unobserved weeks are not scored
        for score in SERIES_SCORES:
            per = {z: m[f"series/{z}/{score}_h{h}"] for z in SCALES}
            pooled = sum(per[z] * n[z] for z in SCALES) / sum(n.values())
            assert pooled == pytest.approx(result.metrics[f"test/{score}_h{h}"], rel=1e-9)
            assert m[f"test/{score}_macro_h{h}"] == pytest.approx(np.mean(list(per.values())))
        # WIS is in counts: the big zone's is far above the small one's
        assert m[f"series/big/wis_h{h}"] > 10 * m[f"series/small/wis_h{h}"]


def test_series_scores_are_those_of_the_series_rows_alone():
    val, test = panel_frames(with_dispersion=True)
    result = evaluate_predictions(val, test, CFG, {h: 0.2 for h in HORIZONS})
    m = per_series_metrics(result.test, ["zone"], HUB_LEVELS)
    rows = result.test.filter((pl.col("zone") == "mid") & (pl.col("horizon") == 2))
    alone = row_scores(rows, HUB_LEVELS)
    for score in SERIES_SCORES:
        assert m[f"series/mid/{score}_h2"] == pytest.approx(np.nanmean(alone[score]))


def test_series_scores_follow_the_dispersion_column():
    val, test = panel_frames(with_dispersion=True)
    result = evaluate_predictions(val, test, CFG, {h: 0.2 for h in HORIZONS})
    given = per_series_metrics(result.test, ["zone"], HUB_LEVELS)
    poisson = result.test.with_columns(pl.lit(float("inf")).alias("dispersion"))
    other = per_series_metrics(poisson, ["zone"], HUB_LEVELS)
    # k = 5 in the mid zone: a Poisson interval is too narrow for its NB counts
    assert other["series/mid/cover80_h1"] < given["series/mid/cover80_h1"]
    assert other["series/mid/logscore_h1"] > given["series/mid/logscore_h1"]
    with pytest.raises(ValueError, match=r"lack column\(s\) \['dispersion'\]"):
        per_series_metrics(test.drop("dispersion"), ["zone"], HUB_LEVELS)


def test_without_levels_only_the_auroc_is_scored():
    val, test = panel_frames()
    result = evaluate_predictions(val, test, CFG, {h: 0.2 for h in HORIZONS})
    m = per_series_metrics(result.test, ["zone"])
    assert "series/big/auroc_h1" in m and not any("wis" in k for k in m)


def test_series_table_and_report_show_wis_and_coverage_next_to_auroc(tmp_path):
    val, test = panel_frames()
    result = evaluate_predictions(val, test, CFG, {h: 0.2 for h in HORIZONS})
    metrics = {**result.metrics, **per_series_metrics(result.test, ["zone"], HUB_LEVELS)}
    table = series_table(metrics, [1])
    assert table["series"].to_list() == sorted(SCALES)
    big = table.row(0, named=True)
    assert big["wis_h1"] == metrics["series/big/wis_h1"]
    assert big["cover80_h1"] == metrics["series/big/cover80_h1"]
    doc = Document("run")
    _series_section(doc, metrics, "test")
    text = doc.to_markdown(tmp_path / "report.md")
    header = next(line for line in text.splitlines() if line.startswith("| series |"))
    assert "| AUROC h=1 | n_pos h=1 | WIS h=1 | cov80 h=1 |" in header
    assert "WIS h=2" in header
    row = next(line for line in text.splitlines() if line.startswith("| mid |"))
    mid = [metrics[f"series/mid/{m}_h1"] for m in ("auroc", "wis", "cover80")]
    assert f"| {mid[0]:.3f} | " in row and f" {mid[1]:.3f} | {mid[2]:.2f} |" in row
    macro = next(line for line in text.splitlines() if line.startswith("| macro mean |"))
    assert f"{metrics['test/wis_macro_h2']:.3f}" in macro
