"""PMSI-like hospital stays in DuckDB: one stay per simulated case, plus distractor stays.

Case coding (what a correct extraction must recognise):
- COPD exacerbation: principal J440*/J441*, or principal J96* with an associated J44*;
- asthma: principal J45*/J46*, or principal J960* with an associated J45*/J46*.
Distractors: heart failure (I50) and pneumonia (J18) with COPD/asthma as associated diagnoses,
J96 without an associated J44/J45/J46, stable COPD (J449) as principal. True cases from postcodes
outside the zones are the truth's zone-"unknown" cells (see admissions.py): counted by a correct
extraction under zone "unknown".
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from respicast.world.admissions import OUT_OF_AREA_ZONE
from respicast.world.rng import stream

SCHEMA = """
CREATE TABLE stays (stay_id VARCHAR, patient_id VARCHAR, admission_ts TIMESTAMP, discharge_date DATE,
                    principal_dx VARCHAR, age INTEGER, sex VARCHAR, postcode VARCHAR, via_ed BOOLEAN);
CREATE TABLE associated_dx (stay_id VARCHAR, code VARCHAR);
"""
COPD_PRINCIPAL = (["J441", "J440", "J4410", "J4411"], [0.55, 0.2, 0.15, 0.1])
COPD_J96 = ["J960", "J961", "J969", "J9610"]
COPD_ASSOCIATED = ["J441", "J449", "J440"]
ASTHMA_PRINCIPAL = (["J450", "J451", "J458", "J459", "J46"], [0.25, 0.1, 0.1, 0.4, 0.15])
ASTHMA_J96 = ["J960", "J9600", "J9601"]
ASTHMA_ASSOCIATED = ["J459", "J46", "J450"]
COMORBIDITIES = ["I10", "E119", "F171", "I480", "E669", "Z880", "J301", "N189"]
OUT_OF_AREA = ["31800", "32000", "81000", "82000", "09000"]
# distractor kind -> (principal codes, associated codes that tempt a sloppy extraction)
DISTRACTORS = {
    "heart_failure_i50": (["I500", "I501", "I509"], ["J449", "J441", "I10"]),
    "pneumonia_j18": (["J189", "J181", "J180"], ["J441", "J459", "J449"]),
    "j96_without_j44_j45": (["J960", "J9600", "J961", "J969"], ["J189", "I509", "I10"]),
    "stable_copd_j449": (["J449", "J448"], ["I10", "F171"]),
}


def _age(rng: np.random.Generator, band: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    n = band.size
    return np.select(
        [band == "0-14", (band == "15-64") & (outcome == "copd"), band == "15-64"],
        [rng.integers(1, 15, n), rng.integers(40, 65, n), rng.integers(15, 65, n)],
        65 + np.minimum(rng.gamma(2.0, 6.0, n).astype(int), 39),
    )


def _patients(rng: np.random.Generator, cases: pl.DataFrame, p_repeat: float) -> pl.DataFrame:
    """Pseudonymous patient ids; a stay reuses an earlier patient of its cell when the age still fits."""
    ids = np.empty(cases.height, dtype=object)
    ages, sexes, postcodes = (
        cases["age"].to_numpy().copy(),
        cases["sex"].to_numpy().copy(),
        cases["postcode"].to_numpy().copy(),
    )
    years = cases["date"].to_numpy().astype("datetime64[Y]").astype(int)
    hi = {"0-14": 14, "15-64": 64, "65+": 120}
    pool: dict[tuple, list[int]] = {}
    reuse = rng.random(cases.height) < p_repeat
    pick = rng.random(cases.height)
    tokens = rng.integers(0, 2**63, cases.height)
    for i, key in enumerate(
        zip(
            cases["zone"].to_list(),
            cases["age_band"].to_list(),
            cases["outcome"].to_list(),
            strict=True,
        )
    ):
        earlier = pool.setdefault(key, [])
        if reuse[i] and earlier:
            j = earlier[int(pick[i] * len(earlier))]
            age = ages[j] + years[i] - years[j]
            if age <= hi[key[1]]:
                ids[i], ages[i], sexes[i], postcodes[i] = ids[j], age, sexes[j], postcodes[j]
                continue
        ids[i] = f"P{tokens[i]:016x}"
        earlier.append(i)
    return cases.with_columns(
        pl.Series("patient_id", ids, dtype=pl.Utf8),
        pl.Series("age", ages),
        pl.Series("sex", sexes),
        pl.Series("postcode", postcodes),
    )


def _postcodes(rng: np.random.Generator, world: dict, zones: np.ndarray) -> np.ndarray:
    out = np.empty(zones.size, dtype=object)
    outside = zones == OUT_OF_AREA_ZONE
    out[outside] = rng.choice(OUT_OF_AREA, outside.sum())
    for z, spec in world["zones"].items():
        sel = zones == z
        codes = list(spec["postcodes"])
        weights = np.array([spec["postcodes"][c]["population"] for c in codes], dtype=float)
        out[sel] = rng.choice(codes, sel.sum(), p=weights / weights.sum())
    return out


def case_stays(world: dict, truth: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One row per counted case, with demographics and coding."""
    h = world["hospital"]
    cases = truth.filter(pl.col("count") > 0).select("date", "zone", "age_band", "outcome", "count")
    cases = cases.select(pl.exclude("count").repeat_by(pl.col("count")).explode())
    n = cases.height
    band, outcome = cases["age_band"].to_numpy(), cases["outcome"].to_numpy()
    male_share = np.where(outcome == "copd", 0.6, np.where(band == "0-14", 0.6, 0.35))
    cases = cases.with_columns(
        pl.Series("age", _age(rng, band, outcome)),
        pl.Series("sex", np.where(rng.random(n) < male_share, "M", "F")),
        pl.Series("postcode", _postcodes(rng, world, cases["zone"].to_numpy()), dtype=pl.Utf8),
    )
    return _patients(rng, cases, h["repeat_probability"])


def _coding(
    rng: np.random.Generator, outcome: np.ndarray, j96_share: float
) -> tuple[np.ndarray, list[list[str]]]:
    n = outcome.size
    j96 = rng.random(n) < j96_share
    copd = outcome == "copd"
    principal = np.where(
        copd,
        np.where(
            j96, rng.choice(COPD_J96, n), rng.choice(COPD_PRINCIPAL[0], n, p=COPD_PRINCIPAL[1])
        ),
        np.where(
            j96,
            rng.choice(ASTHMA_J96, n),
            rng.choice(ASTHMA_PRINCIPAL[0], n, p=ASTHMA_PRINCIPAL[1]),
        ),
    )
    disease = np.where(copd, rng.choice(COPD_ASSOCIATED, n), rng.choice(ASTHMA_ASSOCIATED, n))
    extra = rng.integers(0, 3, n)
    comorb = rng.choice(COMORBIDITIES, (n, 2))
    associated = [([disease[i]] if j96[i] else []) + list(comorb[i, : extra[i]]) for i in range(n)]
    return principal, associated


def distractor_stays(world: dict, days: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    rates = world["hospital"]["distractors_per_day"]
    frames = []
    for kind, rate in rates.items():
        if kind not in DISTRACTORS:
            raise ValueError(
                f"world.hospital.distractors_per_day: unknown kind {kind!r}; known {list(DISTRACTORS)}"
            )
        per_day = rng.poisson(rate, days.size)
        date = np.repeat(days, per_day)
        n = date.size
        principal_codes, assoc_codes = DISTRACTORS[kind]
        zone_names = list(world["zones"])
        zone = rng.choice(zone_names, n)
        frames.append(
            pl.DataFrame(
                {
                    "date": date,
                    "principal_dx": rng.choice(principal_codes, n),
                    "assoc": [[c] for c in rng.choice(assoc_codes, n)],
                    "age": rng.integers(40, 96, n),
                    "sex": np.where(rng.random(n) < 0.5, "M", "F"),
                    "postcode": _postcodes(rng, world, zone).astype(str),
                    "patient_id": [f"P{t:016x}" for t in rng.integers(0, 2**63, n)],
                }
            )
        )
    return pl.concat(frames)


def write_hospital(world: dict, truth: pl.DataFrame, days: np.ndarray, out: Path) -> Path:
    h = world["hospital"]
    rng = stream(int(world["seed"]), "hospital")
    cases = case_stays(world, truth, rng)
    principal, associated = _coding(rng, cases["outcome"].to_numpy(), h["j96_share"])
    cases = cases.with_columns(
        pl.Series("principal_dx", principal), pl.Series("assoc", associated, dtype=pl.List(pl.Utf8))
    )
    cols = ["date", "principal_dx", "assoc", "age", "sex", "postcode", "patient_id", "los_outcome"]
    stays = pl.concat(
        [
            cases.with_columns(pl.col("outcome").alias("los_outcome")).select(cols),
            distractor_stays(world, days, rng)
            .with_columns(pl.lit("copd").alias("los_outcome"))
            .select(cols),
        ],
        how="vertical_relaxed",
    )
    stays = _timed(stays, rng, h)
    stays = stays.with_columns(
        pl.format("S{}", pl.int_range(10_000_001, 10_000_001 + pl.len())).alias("stay_id")
    )
    return _write_duckdb(stays, out)


def _timed(stays: pl.DataFrame, rng: np.random.Generator, h: dict) -> pl.DataFrame:
    """``stays`` with admission time, discharge date (length of stay) and ED flag, time-sorted."""
    n = stays.height
    hour = rng.choice(24, n, p=_arrival_hours())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    los_mean = np.where(
        stays["los_outcome"].to_numpy() == "copd",
        h["los_mean_days"]["copd"],
        h["los_mean_days"]["asthma"],
    )
    los = rng.negative_binomial(2, 2 / (2 + los_mean))
    date = stays["date"].to_numpy().astype("datetime64[D]")
    return stays.with_columns(
        pl.Series(
            "admission_ts",
            (date.astype("datetime64[s]") + seconds.astype("timedelta64[s]")).astype(
                "datetime64[us]"
            ),
        ),
        pl.Series("discharge_date", date + los.astype("timedelta64[D]")).cast(pl.Date),
        pl.Series("via_ed", rng.random(n) < h["ed_share"]),
    ).sort("admission_ts", "principal_dx", "patient_id")


def _write_duckdb(stays: pl.DataFrame, out: Path) -> Path:
    """The stays and associated_dx tables written to a fresh ``out``/stays.duckdb; its path."""
    assoc = (
        stays.select("stay_id", pl.col("assoc").alias("code")).explode("code").drop_nulls("code")
    )
    path = out / "stays.duckdb"
    out.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    table = stays.select(
        "stay_id",
        "patient_id",
        "admission_ts",
        "discharge_date",
        "principal_dx",
        pl.col("age").cast(pl.Int32),
        "sex",
        "postcode",
        "via_ed",
    )
    with duckdb.connect(str(path)) as con:
        con.execute(SCHEMA)
        con.register("stays_frame", table.to_arrow())
        con.register("assoc_frame", assoc.to_arrow())
        con.execute("INSERT INTO stays SELECT * FROM stays_frame")
        con.execute("INSERT INTO associated_dx SELECT * FROM assoc_frame")
    return path


def _arrival_hours() -> np.ndarray:
    """ED arrivals: few at night, most between 10:00 and 20:00 (local time)."""
    w = 0.3 + np.exp(-0.5 * ((np.arange(24) - 15) / 4.0) ** 2)
    return w / w.sum()
