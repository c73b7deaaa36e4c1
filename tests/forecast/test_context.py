"""The words around the numbers: who the page is for, and the usual level for the season."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from omegaconf import OmegaConf

from respicast.cli import CONFIG_DIR
from respicast.forecast.context import labels, usual_level

LABELS = OmegaConf.to_container(OmegaConf.load(f"{CONFIG_DIR}/forecast.yaml").labels)


def test_labels_name_the_hospital_of_that_data_only():
    toulouse = OmegaConf.create(
        {"name": "toulouse_sim", "target": {"outcomes": ["copd", "asthma"]}}
    )
    lab = labels(LABELS, toulouse, "city")
    assert lab["outcome"] == "COPD and asthma admissions"
    assert "Toulouse" in lab["hospital"] and lab["area"].startswith("Toulouse")
    assert labels(LABELS, toulouse, "zone 31400")["area"] == "zone 31400"  # a zone keeps its name
    chicago = OmegaConf.create({"name": "chicago_nmmaps", "target": {"column": "resp"}})
    lab = labels(LABELS, chicago, "city")
    assert lab["hospital"] is None and lab["outcome"] == "resp admissions"
    assert lab["area"].startswith("Chicago")
    other = labels(LABELS, OmegaConf.create({"name": "mine", "target": {}}), "city")
    assert other["hospital"] is None and "mine" in other["area"]
    assert labels({**LABELS, "area": "Ward 3"}, toulouse, "city")["area"] == "Ward 3"


def test_usual_level_reads_earlier_years_known_by_the_origin():
    dates = pl.date_range(dt.date(2019, 1, 1), dt.date(2024, 3, 1), eager=True)
    year = dates.dt.year().to_numpy()
    counts = np.where(year == 2023, 10.0, 4.0) + (year == 2024) * 100.0
    frame = pl.DataFrame({"date": dates, "admissions": counts})
    day = [dt.date(2024, 2, 15)]
    got = usual_level(frame, "admissions", day, known_by=dt.date(2024, 2, 13), years=2)
    assert got[0] == (10.0 + 4.0) / 2  # 2023 and 2022, never 2024's own (later) days
    # nothing known by then: no usual level rather than a guess
    none = usual_level(frame, "admissions", day, known_by=dt.date(2018, 12, 1))
    assert np.isnan(none[0])
    # the window is ±7 days of the same date: a change 20 days away is not seen
    later = usual_level(
        frame.with_columns(
            pl.when(pl.col("date") == dt.date(2023, 3, 7)).then(1e6).otherwise("admissions")
        ),
        "admissions",
        day,
        known_by=dt.date(2024, 2, 13),
        years=1,
    )
    assert later[0] == 10.0
