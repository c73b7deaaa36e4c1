"""Achievable ceiling of a simulated world: the planted model fed only what is known at the origin.

The oracle (oracle.py) knows the true expected count, including the unobserved latent level, so it
is an upper bound no forecaster can reach. The ceiling is the planted model (true structure and
coefficients: world.yaml and the truth's constant baseline term) run as a forecaster at origin t:

- known-future terms are exact: baseline, trend, season, day of week, public holidays, the school
  return and lockdowns (computed from world.yaml and the calendar, never read from the truth);
- exposure-driven terms (pollution, pollen, epidemics, weather) use the true exposures published
  by t: a driver of group g is known up to day t − EXPOSURE_LATENCY_DAYS[g] (the latencies the
  sources declare; epidemics at daily resolution, which is generous), and every later day of a
  lag window is replaced by the last known value (persistence);
- the latent level is estimated from the counts published by t (days ≤ t − target latency): the
  ratio of exponentially weighted sums of count and of non-latent λ (each day's non-latent λ as
  known when its count was published), with half-life HALFLIFE_DAYS tuned once on a world of
  another seed (``tune_halflife``), then decayed toward 0 on the log scale by the planted AR(1)
  coefficient over the h + latency days ahead;
- the peak probability is P(count > threshold) under NB(mean, k) with the world's dispersion k.

``drop_groups`` removes the drivers of variable groups from the model (their terms set to 0 in both
the level estimate and the forecast), so the level estimate absorbs what it can of them: the gap to
the full ceiling is the most that group can add to a forecaster that reads the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from scipy.signal import lfilter
from scipy.stats import nbinom

from respicast.world import calendar
from respicast.world.admissions import Cells, contributions, transformed
from respicast.world.exposures import LEAD_IN_DAYS
from respicast.world.simulate import read_world_record

# variable group of every term of log lambda that a group ablation can remove
TERM_GROUPS = {
    "pm25": "pollution",
    "no2": "pollution",
    "pm10": "pollution",
    "o3": "pollution",
    "poaceae": "pollen",
    "cupressaceae": "pollen",
    "betula": "pollen",
    "ambrosia": "pollen",
    "ili": "epidemics",
    "rsv": "epidemics",
    "covid": "epidemics",
    "temperature": "weather",
    "rain": "weather",
    "season": "calendar",
    "day_of_week": "calendar",
    "public_holiday": "calendar",
    "school_return": "calendar",
}
ALWAYS_KEPT = ("baseline", "trend", "lockdown")  # a level and a known policy: in every variant
CEILING_GROUPS = ("pollution", "pollen", "epidemics", "weather", "calendar")
# days after which a day's exposure is published (conf/data/sources/toulouse_sim.yaml)
EXPOSURE_LATENCY_DAYS = {"pollution": 1, "weather": 1, "pollen": 3, "epidemics": 3}
# tuned once by tune_halflife on the default world of seed 1 (the data's world is seed 2024):
#   respicast-simulate out=/tmp/w1 seed=1
#   python -c "from respicast.world.ceiling import tune_halflife; print(tune_halflife('/tmp/w1'))"
# mean NB log-likelihood: 7 d -2.3779, 10 d -2.3746, 14 d -2.3737 (best), 21 d -2.3745, 28 d -2.3758
HALFLIFE_DAYS = 14.0


def _selection(truth: pl.LazyFrame, outcomes, zones, age_bands) -> pl.LazyFrame:
    truth = truth.filter(pl.col("outcome").is_in(list(outcomes)))
    if zones is not None:
        truth = truth.filter(pl.col("zone").is_in(list(zones)))
    if age_bands is not None:
        truth = truth.filter(pl.col("age_band").is_in(list(age_bands)))
    return truth


class World:
    """What the ceiling reads of a world folder, for one selection of cells."""

    def __init__(self, world_dir, outcomes, zones=None, age_bands=None):
        path = Path(world_dir) / "truth.parquet"
        self.record = read_world_record(world_dir)
        self.cfg = self.record["config"]
        truth = _selection(pl.scan_parquet(path), outcomes, zones, age_bands)
        daily = truth.group_by("date").agg(pl.col("count").sum()).sort("date").collect()
        if daily.height == 0:
            raise ValueError(f"{path}: no cells for outcomes={list(outcomes)} zones={zones}")
        self.days = daily["date"].to_numpy().astype("datetime64[D]")
        self.counts = daily["count"].to_numpy().astype(float)
        first = truth.filter(pl.col("date") == pl.lit(self.days[0])).collect()
        # the constant baseline term of each cell (log of population x rate, or the out-of-area share)
        self.cells = Cells(
            first["zone"].to_list(),
            first["age_band"].to_list(),
            first["outcome"].to_list(),
            first["contrib_baseline"].to_numpy(),
        )
        self.exposures = pl.read_parquet(Path(world_dir) / "exposures.parquet")
        self.k = float(self.record["dispersion_k"])
        self.calendar: pl.DataFrame | None = None

    def index(self, dates: np.ndarray, what: str) -> np.ndarray:
        pos = np.searchsorted(self.days, dates)
        bad = (pos >= self.days.size) | (self.days[np.minimum(pos, self.days.size - 1)] != dates)
        if bad.any():
            raise ValueError(f"{what}: {bad.sum()} date(s) outside the world, e.g. {dates[bad][0]}")
        return pos


def _group(term: str, where: str) -> str | None:
    if term in ALWAYS_KEPT or term == "latent":
        return None
    if term not in TERM_GROUPS:
        raise KeyError(f"{where}: term {term!r} has no variable group in ceiling.TERM_GROUPS")
    return TERM_GROUPS[term]


def _calendar_frame(w: World) -> pl.DataFrame:
    """The calendar exposures over the lead-in and the period (computed once per World)."""
    if w.calendar is None:
        days = np.concatenate([w.days[0] - np.arange(LEAD_IN_DAYS, 0, -1), w.days])
        w.calendar = pl.DataFrame(
            {
                "date": days,
                "public_holiday": calendar.public_holidays(days),
                "school_return": calendar.school_return_week(days),
                "lockdown": calendar.lockdowns(days, w.cfg["epidemics"]["lockdowns"]),
            }
        )
    return w.calendar


def known_future_terms(w: World, drop_groups: Sequence[str]) -> np.ndarray:
    """Sum of the exact known-future terms, [n_days, n_cells], from world.yaml and the calendar."""
    frame = _calendar_frame(w)
    # contributions() needs every effect's driver: exposure drivers are zeros, their terms unused
    drivers = {e["driver"] for e in w.cfg["effects"].values()} - set(frame.columns)
    frame = frame.with_columns([pl.lit(0.0).alias(d) for d in sorted(drivers)])
    terms = contributions(w.cfg, frame, w.cells)
    total = np.zeros((w.days.size, len(w.cells.zone)))
    for name, term in terms.items():
        group = _group(name, f"world.yaml term {name}")
        if name == "latent" or group in EXPOSURE_LATENCY_DAYS or group in drop_groups:
            continue
        total = total + term
    return total


def _applies(effect: dict, c: Cells) -> np.ndarray:
    outcome = np.isin(np.array(c.outcome), np.atleast_1d(effect["outcome"]))
    if "ages" in effect:
        outcome &= np.isin(np.array(c.age_band), np.atleast_1d(effect["ages"]))
    return outcome.astype(float)


def _covariate_asof(effect: dict, x: np.ndarray, name: str, target: np.ndarray, cutoff: np.ndarray):
    """Mean over the effect's lags of transformed exposure at target days (period index), with
    days after `cutoff` (exposure index: last known day) replaced by the value on the cutoff day."""
    f = transformed(effect, x, name)
    csum = np.concatenate([[0.0], np.cumsum(f)])
    lo, hi = int(effect["lags"][0]), int(effect["lags"][1])
    a, b = target + LEAD_IN_DAYS - hi, target + LEAD_IN_DAYS - lo
    known_hi = np.minimum(b, cutoff)
    n_known = np.clip(known_hi - a + 1, 0, None)
    known_sum = np.where(n_known > 0, csum[known_hi + 1] - csum[np.minimum(a, known_hi + 1)], 0.0)
    return (known_sum + (hi - lo + 1 - n_known) * f[cutoff]) / (hi - lo + 1)


def exposure_terms(
    w: World, target: np.ndarray, origin: np.ndarray, drop_groups: Sequence[str]
) -> np.ndarray:
    """Exposure-driven log-lambda terms at period indices `target` as known at `origin`, [M, cells]."""
    out = np.zeros((target.size, len(w.cells.zone)))
    for name, effect in w.cfg["effects"].items():
        group = _group(effect["driver"], f"world.yaml effects.{name}.driver")
        if group not in EXPOSURE_LATENCY_DAYS or group in drop_groups:
            continue
        x = w.exposures[effect["driver"]].to_numpy()
        cutoff = np.minimum(origin + LEAD_IN_DAYS - EXPOSURE_LATENCY_DAYS[group], x.size - 1)
        if (cutoff < 0).any():
            raise ValueError(f"origins before the exposures of {effect['driver']} start")
        cov = _covariate_asof(effect, x, name, target, cutoff)
        beta = np.log(effect["rr"]) / effect["per"]
        out += beta * cov[:, None] * _applies(effect, w.cells)[None, :]
    return out


def nonlatent_lambda(
    w: World, known: np.ndarray, target: np.ndarray, origin: np.ndarray, drop_groups
) -> np.ndarray:
    """Sum over cells of exp(known-future + exposure terms) at `target` as known at `origin`."""
    log_lam = known[target] + exposure_terms(w, target, origin, drop_groups)
    return np.exp(log_lam).sum(axis=1)


def latent_ratio(w: World, known: np.ndarray, latency: int, halflife: float, drop_groups):
    """Per day s: EW sum of counts / EW sum of non-latent λ over days ≤ s (each λ as known at
    s + latency, when that day's count was published)."""
    days = np.arange(w.days.size)
    lam = nonlatent_lambda(w, known, days, days + latency, drop_groups)
    alpha = 1.0 - 0.5 ** (1.0 / halflife)
    num = lfilter([alpha], [1.0, alpha - 1.0], w.counts)
    den = lfilter([alpha], [1.0, alpha - 1.0], lam)
    return num / den


def _validate_groups(drop_groups: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(drop_groups) - set(CEILING_GROUPS))
    if unknown:
        raise ValueError(f"ceiling drop_groups {unknown}: choose among {list(CEILING_GROUPS)}")
    return tuple(drop_groups)


def ceiling_forecast(
    world_dir: str | Path,
    origins,
    horizons,
    thresholds,
    *,
    outcomes: Sequence[str] = ("copd", "asthma"),
    zones: Sequence[str] | None = None,
    age_bands: Sequence[str] | None = None,
    target_latency_days: int = 1,
    halflife_days: float = HALFLIFE_DAYS,
    drop_groups: Sequence[str] = (),
    world: World | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(expected count, P(count > threshold)) for each origin t and horizon h (same shapes), from
    what is known at t only (see the module docstring); nan probability where the threshold is."""
    drop = _validate_groups(drop_groups)
    w = world or World(world_dir, outcomes, zones, age_bands)
    o_dates = np.asarray(origins, dtype="datetime64[D]")
    h = np.broadcast_to(np.asarray(horizons, dtype=int), o_dates.shape).ravel()
    origin = w.index(o_dates.ravel(), "ceiling origins")
    target = w.index(o_dates.ravel() + h.astype("timedelta64[D]"), "ceiling target dates")
    published = origin - int(target_latency_days)  # last day whose count is known at t
    if (published < 0).any():
        raise ValueError("ceiling: an origin precedes the first published count of the world")
    known = known_future_terms(w, drop)
    ratio = latent_ratio(w, known, int(target_latency_days), halflife_days, drop)[published]
    rho = float(w.cfg["latent"]["ar"])
    multiplier = np.exp(rho ** (h + int(target_latency_days)) * np.log(np.maximum(ratio, 1e-9)))
    mean = multiplier * nonlatent_lambda(w, known, target, origin, drop)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=float), o_dates.shape).ravel()
    prob = nbinom.sf(np.floor(np.nan_to_num(thr, nan=0.0)), w.k, w.k / (w.k + mean))
    prob = np.where(np.isnan(thr), np.nan, prob)
    return mean.reshape(o_dates.shape), prob.reshape(o_dates.shape)


def tune_halflife(
    world_dir: str | Path,
    candidates: Sequence[float] = (3, 5, 7, 10, 14, 21, 28, 42, 56),
    horizons: Sequence[int] = (1, 3, 7),
    burn_in_days: int = 365,
    **selection,
) -> dict[float, float]:
    """Mean NB log-likelihood of the counts at the given horizons for each half-life, over every
    origin after a burn-in: run once on a world of another seed than the data's, never on test years."""
    w = World(world_dir, selection.pop("outcomes", ("copd", "asthma")), **selection)
    origins = w.days[burn_in_days : w.days.size - max(horizons)]
    grid_o = np.repeat(origins, len(horizons))
    grid_h = np.tile(np.asarray(horizons), origins.size)
    y = w.counts[w.index(grid_o + grid_h.astype("timedelta64[D]"), "tuning targets")]
    score = {}
    for hl in candidates:
        mean, _ = ceiling_forecast(
            world_dir, grid_o, grid_h, np.full(grid_o.size, np.nan), halflife_days=hl, world=w
        )
        score[float(hl)] = float(nbinom.logpmf(y, w.k, w.k / (w.k + mean)).mean())
    return score
