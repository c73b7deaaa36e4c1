from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.stats import nbinom

from respicast.world.oracle import expected_counts, peak_probability

# The case rules of the issue, written independently of the generator.
CASES_SQL = """
WITH assoc AS (
    SELECT stay_id,
           bool_or(code LIKE 'J44%') AS has_j44,
           bool_or(code LIKE 'J45%' OR code LIKE 'J46%') AS has_j45
    FROM associated_dx GROUP BY stay_id
)
SELECT CAST(s.admission_ts AS DATE) AS date, s.age, s.postcode,
       CASE
         WHEN s.principal_dx LIKE 'J440%' OR s.principal_dx LIKE 'J441%'
              OR (s.principal_dx LIKE 'J96%' AND coalesce(a.has_j44, false)) THEN 'copd'
         WHEN s.principal_dx LIKE 'J45%' OR s.principal_dx LIKE 'J46%'
              OR (s.principal_dx LIKE 'J960%' AND coalesce(a.has_j45, false)) THEN 'asthma'
       END AS outcome
FROM stays s LEFT JOIN assoc a USING (stay_id)
"""


def test_contributions_add_up_to_log_lambda(small_world):
    truth = pl.read_parquet(small_world / "truth.parquet")
    contrib = truth.select(pl.sum_horizontal(pl.col("^contrib_.*$"))).to_series()
    np.testing.assert_allclose(contrib.exp().to_numpy(), truth["lambda"].to_numpy(), rtol=1e-9)
    for driver in [
        "pm25",
        "no2",
        "pm10",
        "o3",
        "temperature",
        "poaceae",
        "ili",
        "school_return",
        "lockdown",
    ]:
        assert f"contrib_{driver}" in truth.columns
    # drivers act only on their outcome / age bands
    assert truth.filter(pl.col("outcome") == "copd")["contrib_poaceae"].abs().max() == 0
    assert truth.filter(pl.col("age_band") != "0-14")["contrib_school_return"].abs().max() == 0
    lockdown = truth.filter(pl.col("date") == pl.date(2020, 4, 1))["contrib_lockdown"]
    np.testing.assert_allclose(lockdown.to_numpy(), np.log(0.65))


def test_correct_extraction_reproduces_truth_counts(small_world, small_cfg):
    zones = pl.read_csv(small_world / "zones.csv", schema_overrides={"postcode": pl.Utf8}).select(
        "postcode", "zone"
    )
    with duckdb.connect(str(small_world / "hospital" / "stays.duckdb"), read_only=True) as con:
        stays = pl.from_arrow(con.sql(CASES_SQL).to_arrow_table())
    assert stays["outcome"].null_count() > 1000  # distractor stays exist and are excluded
    # postcodes outside zones.csv are counted, in zone "unknown", as the extraction does
    cases = (
        stays.drop_nulls("outcome")
        .join(zones, on="postcode", how="left")
        .with_columns(pl.col("zone").fill_null("unknown"))
    )
    band = (
        pl.when(pl.col("age") <= 14)
        .then(pl.lit("0-14"))
        .when(pl.col("age") <= 64)
        .then(pl.lit("15-64"))
        .otherwise(pl.lit("65+"))
    )
    got = cases.group_by("date", "zone", band.alias("age_band"), "outcome").len("n")
    truth = pl.read_parquet(small_world / "truth.parquet").select(
        "date", "zone", "age_band", "outcome", "count", "lambda"
    )
    merged = truth.join(
        got, on=["date", "zone", "age_band", "outcome"], how="full", coalesce=True
    ).fill_null(0)
    assert merged.height == truth.height  # no case outside the truth cells
    assert (merged["count"] == merged["n"]).all()
    # the out-of-area cells hold the configured stays a day, in expectation and in the draws
    outside = truth.filter(pl.col("zone") == "unknown")
    n_days = truth["date"].n_unique()
    rate = small_cfg["hospital"]["out_of_area_per_day"]
    np.testing.assert_allclose(outside["lambda"].sum() / n_days, rate, rtol=1e-9)
    assert abs(outside["count"].sum() / n_days - rate) < 4 * np.sqrt(rate * 1.2 / n_days)


def test_oracle_is_negative_binomial_of_summed_lambda(small_world):
    truth = pl.read_parquet(small_world / "truth.parquet")
    daily = truth.group_by("date").agg(pl.col("lambda").sum(), pl.col("count").sum()).sort("date")
    dates = daily["date"].to_numpy()
    lam = expected_counts(small_world, dates)
    np.testing.assert_allclose(lam, daily["lambda"].to_numpy())
    thresholds = np.full(dates.size, 6.5)
    prob = peak_probability(small_world, dates, thresholds)
    k = float(truth["dispersion_k"][0])
    np.testing.assert_allclose(prob, 1 - nbinom.cdf(6, k, k / (k + lam)))
    # calibrated: predicted exceedances match observed ones within 3 binomial standard errors
    observed = (daily["count"].to_numpy() > 6.5).mean()
    assert abs(prob.mean() - observed) < 3 * np.sqrt(prob.mean() * (1 - prob.mean()) / dates.size)
    # shapes and nan thresholds pass through; subsets of outcomes have smaller expectations
    grid = np.stack([dates[:5], dates[1:6]], axis=1)
    assert peak_probability(small_world, grid, np.full(grid.shape, np.nan)).shape == (5, 2)
    assert np.isnan(peak_probability(small_world, grid, np.full(grid.shape, np.nan))).all()
    assert (expected_counts(small_world, dates, outcomes=("copd",)) < lam).all()
    with pytest.raises(ValueError, match="outside the world"):
        expected_counts(small_world, np.array(["2030-01-01"], dtype="datetime64[D]"))
