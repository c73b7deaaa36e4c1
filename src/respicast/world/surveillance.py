"""Epidemic surveillance files: Sentinelles weekly exports (ILI, RSV-like) and SPF daily COVID-19."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from respicast.world.epidemics import REAL_ILI, iso_week_monday
from respicast.world.rng import stream

SENTINELLES_COLUMNS = [
    "week",
    "indicator",
    "inc",
    "inc_low",
    "inc_up",
    "inc100",
    "inc100_low",
    "inc100_up",
    "geo_insee",
    "geo_name",
]
SPF_HEADER = '"dep";"jour";"incid_hosp";"incid_rea";"incid_dc";"incid_rad"'
GEO = ("73", "MIDI-PYRENEES")
CITATION = "réseau Sentinelles, INSERM, Sorbonne Université, https://www.sentiweb.fr"


def full_iso_weeks(days: np.ndarray) -> np.ndarray:
    """YYYYWW of the ISO weeks lying entirely inside days."""
    mondays = days[(days.astype(int) + 3) % 7 == 0]
    mondays = mondays[mondays + 6 <= days[-1]]
    thursday = mondays + 3
    iso_year = thursday.astype("datetime64[Y]").astype(int) + 1970
    week = (thursday - thursday.astype("datetime64[Y]")).astype(int) // 7 + 1
    return iso_year * 100 + week


def _write_sentinelles(
    path: Path, frame: pl.DataFrame, indicator: int, weeks: np.ndarray, simulated: bool = True
) -> None:
    meta = {
        "source": CITATION,
        "meta": {
            "period": [int(weeks.min()), int(weeks.max())],
            "geo": ["REG", 0],
            "geo_ref": "insee",
            "indicator": str(indicator),
            "simulated": simulated,
        },
    }
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# " + json.dumps(meta, ensure_ascii=False) + "\n")
        frame.select(SENTINELLES_COLUMNS).sort("week", descending=True).write_csv(fh)


def weekly_incidence(
    curve: np.ndarray,
    days: np.ndarray,
    all_days: np.ndarray,
    indicator: int,
    population: int,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Sentinelles-like rows: weekly inc100 = mean of the daily curve over the week, with sampling noise."""
    weeks = full_iso_weeks(days)
    first = (iso_week_monday(weeks) - all_days[0]).astype(int)
    inc100_true = curve[first[:, None] + np.arange(7)].mean(axis=1) * np.exp(
        rng.normal(0, 0.12, weeks.size)
    )
    inc = np.round(inc100_true * population / 1e5).astype(np.int64)
    half = np.round(0.3 * inc + 300).astype(np.int64)
    low, up = np.maximum(inc - half, 0), inc + half

    def per100k(x: np.ndarray) -> np.ndarray:
        return np.round(x * 1e5 / population).astype(np.int64)

    return pl.DataFrame(
        {
            "week": weeks,
            "indicator": indicator,
            "inc": inc,
            "inc_low": low,
            "inc_up": up,
            "inc100": per100k(inc),
            "inc100_low": per100k(low),
            "inc100_up": per100k(up),
            "geo_insee": GEO[0],
            "geo_name": GEO[1],
        }
    )


def write_surveillance(
    world: dict, exposures: pl.DataFrame, days: np.ndarray, out: Path
) -> list[Path]:
    ep = world["epidemics"]
    rng = stream(int(world["seed"]), "surveillance")
    out.mkdir(parents=True, exist_ok=True)
    all_days = exposures["date"].to_numpy().astype("datetime64[D]")
    pop = int(ep["region_population"])
    weeks = full_iso_weeks(days)
    if ep["ili_source"] == "real":  # the real rows themselves, for the period's weeks
        ili = pl.read_csv(REAL_ILI, skip_rows=1, infer_schema=False).filter(
            pl.col("week").cast(pl.Int64).is_in(weeks)
        )
    else:
        ili = weekly_incidence(exposures["ili"].to_numpy(), days, all_days, 3, pop, rng)
    rsv = weekly_incidence(exposures["rsv"].to_numpy(), days, all_days, 25, pop, rng)
    paths = [
        out / "sentinelles_ili.csv",
        out / "sentinelles_rsv.csv",
        out / "spf_covid_hosp_dep.csv",
    ]
    _write_sentinelles(paths[0], ili, 3, weeks, simulated=ep["ili_source"] != "real")
    _write_sentinelles(paths[1], rsv, 25, weeks)
    lo = max(days[0], np.datetime64(ep["covid_start"], "D"))
    hi = min(days[-1], np.datetime64(ep["covid_end"], "D"))
    sel = (all_days >= lo) & (all_days <= hi)
    curve = exposures["covid"].to_numpy()
    hosp = rng.poisson(curve[sel] * rng.gamma(20.0, 1 / 20.0, sel.sum()))
    lagged = np.concatenate([np.zeros(12), curve])[: curve.size][sel]
    covid = pl.DataFrame(
        {
            "dep": '"31"',
            "jour": pl.Series(all_days[sel]).cast(pl.Date).dt.strftime("%Y-%m-%d"),
            "incid_hosp": hosp,
            "incid_rea": rng.binomial(hosp, 0.17),
            "incid_dc": rng.poisson(0.12 * lagged),
            "incid_rad": rng.poisson(0.8 * lagged),
        }
    )
    with paths[2].open("w", encoding="utf-8") as fh:
        fh.write(SPF_HEADER + "\n")
        covid.write_csv(fh, separator=";", include_header=False, quote_style="never")
    return paths
