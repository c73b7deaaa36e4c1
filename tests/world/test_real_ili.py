from __future__ import annotations

import numpy as np
import polars as pl

from respicast.world import simulate
from respicast.world.epidemics import REAL_ILI


def test_real_ili_source_writes_the_real_midi_pyrenees_rows(tmp_path, small_cfg):
    cfg = {**small_cfg, "start": "2019-01-01", "end": "2019-03-31"}
    cfg["epidemics"] = {**cfg["epidemics"], "ili_source": "real"}
    out = simulate(cfg, tmp_path / "w")
    written = pl.read_csv(
        out / "epidemics" / "sentinelles_ili.csv", skip_rows=1, infer_schema=False
    ).sort("week")
    real = (
        pl.read_csv(REAL_ILI, skip_rows=1, infer_schema=False)
        .filter(pl.col("week").is_in(written["week"].to_list()))
        .sort("week")
    )
    assert written.height == 12 and written.equals(real)
    # the ILI driver follows the real weekly curve (value of the ISO week 2019w06 on its Thursday)
    exposures = pl.read_parquet(out / "exposures.parquet")
    thursday = exposures.filter(pl.col("date") == pl.date(2019, 2, 7))["ili"][0]
    assert thursday == float(real.filter(pl.col("week") == "201906")["inc100"][0])
    assert "Sentinelles" in (REAL_ILI.parent / "SOURCE.txt").read_text()
    assert np.isfinite(exposures["ili"].to_numpy()).all()
