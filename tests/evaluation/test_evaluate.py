import logging
import pickle
from datetime import date

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from respicast.evaluation import evaluate_predictions
from respicast.evaluation.bootstrap import iso_week_ids, resamples, week_blocks
from respicast.evaluation.evaluate import naive_mae
from respicast.evaluation.synthetic import fake_predictions, split_frames

CFG = {"calibration": "platt", "bootstrap": {"n": 30, "seed": 1}}
REF = {1: 0.15, 3: 0.15, 7: 0.15}


@pytest.fixture(scope="module")
def frames():
    return split_frames(fake_predictions(horizons=(1, 3, 7), seed=2))


@pytest.fixture(scope="module")
def result(frames):
    return evaluate_predictions(*frames, CFG, REF)


def test_keys_and_values(result, frames):
    m = result.metrics
    _, test = frames
    t1 = test.filter(pl.col("horizon") == 1)
    for split in ("val", "test"):
        for h in (1, 3, 7):
            for metric in (
                "auroc",
                "auprc",
                "brier",
                "bss",
                "ece",
                "cal_slope",
                "sensitivity",
                "mae",
                "mase",
            ):
                assert np.isfinite(m[f"{split}/{metric}_h{h}"]), (split, metric, h)
            assert (
                m[f"{split}/auroc_h{h}_lo"]
                <= m[f"{split}/auroc_h{h}"]
                <= m[f"{split}/auroc_h{h}_hi"]
            )
    assert m["test/n_pos_h1"] == t1["peak"].sum()
    # raw AUROC is computed on the incoming probabilities
    assert m["test/auroc_raw_h1"] == pytest.approx(
        roc_auc_score(t1["peak"], t1["peak_prob"]), abs=1e-6
    )
    # Platt with a positive slope keeps the ranking
    assert m["test/auroc_h1"] == pytest.approx(m["test/auroc_raw_h1"], abs=1e-6)
    assert m["test/tp_h1"] + m["test/fn_h1"] == m["test/n_pos_h1"]


def test_calibration_fixes_planted_overconfidence_on_val(result):
    # the synthetic model is over-confident (slope < 1); Platt fitted on val brings val's slope to 1
    assert result.metrics["val/cal_slope_raw_h1"] < 0.8
    assert result.metrics["val/cal_slope_h1"] == pytest.approx(1.0, abs=1e-3)


def test_calibrated_frames_and_reusable_calibrators(result, frames):
    test = result.test
    assert {"peak_prob_raw", "alert", "alert_threshold"} <= set(test.columns)
    h3 = test.filter(pl.col("horizon") == 3)
    cals = pickle.loads(pickle.dumps(result.calibrators))
    np.testing.assert_allclose(
        cals.apply(h3["peak_prob_raw"].to_numpy(), 3), h3["peak_prob"].to_numpy()
    )
    expected_alert = (h3["peak_prob"] >= result.thresholds[3]).cast(pl.Int8)
    assert h3["alert"].to_list() == expected_alert.to_list()


def test_no_positive_split_gives_nan_and_flags(frames, caplog):
    val, test = frames
    empty = test.with_columns(pl.lit(0, dtype=pl.Int8).alias("peak"))
    with caplog.at_level(logging.WARNING):
        r = evaluate_predictions(val, empty, {**CFG, "bootstrap": {"n": 5}}, REF)
    m = r.metrics
    assert np.isnan(m["test/auroc_h1"]) and np.isnan(m["test/auprc_h1"])
    assert m["test/auroc_h1_undefined"] == 1.0
    assert m["test/auprc_raw_h7_undefined"] == 1.0
    assert m["test/auroc_h1_unreliable"] == 1.0
    assert m["test/n_pos_h1"] == 0.0
    assert np.isfinite(m["test/mae_h1"])
    assert "AUROC/AUPRC undefined" in caplog.text
    assert "val/auroc_h1_undefined" not in m


def test_few_positives_flagged_unreliable(frames):
    val, test = frames
    few = test.with_columns(
        pl.when(pl.int_range(pl.len()).over("horizon") < 40)
        .then(pl.col("peak"))
        .otherwise(0)
        .alias("peak")
    )
    m = evaluate_predictions(
        val, few, {**CFG, "bootstrap": {"n": 0}, "min_positives": 20}, REF
    ).metrics
    assert 0 < m["test/n_pos_h1"] < 20
    assert m["test/auroc_h1_unreliable"] == 1.0
    assert "test/mae_h1_unreliable" not in m
    assert "val/auroc_h1_unreliable" not in m
    assert "test/auroc_h1_lo" not in m


def test_null_labels_are_counted_and_left_out(frames, caplog):
    val, test = frames
    holed = test.with_columns(
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("peak")).alias("peak")
    )
    with caplog.at_level(logging.WARNING):
        m = evaluate_predictions(val, holed, {**CFG, "bootstrap": {"n": 0}}, REF).metrics
    n_null = holed.filter(pl.col("peak").is_null() & (pl.col("horizon") == 1)).height
    assert m["test/n_h1"] == test.filter(pl.col("horizon") == 1).height - n_null
    assert f"{holed['peak'].null_count()} row(s) with peak label null" in caplog.text


def test_mase_scale_is_naive_mae_on_val():
    days = [date(2022, 1, d) for d in range(1, 6)]
    frame = pl.DataFrame(
        {"fold": [0] * 5, "target_date": days, "observed": [1.0, 3.0, 2.0, 6.0, 6.0]}
    )
    # persistence at lag 1: |3-1|, |2-3|, |6-2|, |6-6| -> mean 7/4; at lag 2: |2-1|, |6-3|, |6-2| -> 8/3
    assert naive_mae(frame, 1) == pytest.approx(7 / 4)
    assert naive_mae(frame, 2) == pytest.approx(8 / 3)


def test_mase_uses_given_scale(frames):
    r = evaluate_predictions(
        *frames, {**CFG, "bootstrap": {"n": 0}}, REF, mase_scale={1: 2.0, 3: 2.0, 7: 2.0}
    )
    assert r.metrics["test/mase_h3"] == pytest.approx(r.metrics["test/mae_h3"] / 2.0)


def test_pooled_folds(frames):
    val, test = frames
    other_val, other_test = split_frames(fake_predictions(start=date(2023, 1, 2), fold=1, seed=5))
    r = evaluate_predictions(
        pl.concat([val, other_val]),
        pl.concat([test, other_test]),
        {**CFG, "bootstrap": {"n": 0}},
        REF,
    )
    assert r.metrics["test/n_h1"] == 2 * test.filter(pl.col("horizon") == 1).height
    assert set(r.test["fold"].unique()) == {0, 1}


def test_bad_inputs_are_named(frames):
    val, test = frames
    with pytest.raises(ValueError, match="'test'.*peak_prob"):
        evaluate_predictions(val, test.drop("peak_prob"), CFG, REF)
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        evaluate_predictions(val, test.with_columns(pl.col("peak_prob") * 3), CFG, REF)
    with pytest.raises(ValueError, match="'test'.*NaN"):
        evaluate_predictions(val, test.with_columns(pl.col("peak_prob") * float("nan")), CFG, REF)
    with pytest.raises(ValueError, match="evaluation.*unknown key.*'calibraton'"):
        evaluate_predictions(val, test, {"calibraton": "platt"}, REF)
    with pytest.raises(ValueError, match="evaluation.decision.rule"):
        evaluate_predictions(val, test, {"decision": {"rule": "magic"}}, REF)


def test_week_blocks_keep_weeks_whole():
    dates = pl.Series(
        [date(2022, 1, 1) + (date(2022, 1, 2) - date(2022, 1, 1)) * i for i in range(28)]
    )
    weeks = iso_week_ids(dates)
    assert weeks[0] == 202152 and weeks[2] == 202201  # 1 Jan 2022 is ISO week 52 of 2021
    blocks = week_blocks(weeks)
    for idx in resamples(blocks, 5, seed=0):
        ids, counts = np.unique(weeks[idx], return_counts=True)
        sizes = {int(w): int((weeks == w).sum()) for w in ids}
        assert all(c % sizes[int(w)] == 0 for w, c in zip(ids, counts, strict=True))
