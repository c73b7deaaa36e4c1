"""Spatial harmonisation: values of several sites -> one value per period for the city or a zone.

Methods (data.spatial.method): `nearest` (closest site with a value that period), `idw`
(inverse squared distance), `mean` (of sites, optionally only those whose type contains
spatial.site_type), `population` (each zone takes its nearest site; sites weighted by the
population they serve, zones.csv). Weights are renormalised over sites with a value each period,
so a station gap never turns into a zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from respicast.sources.frame import Site

log = logging.getLogger(__name__)
METHODS = ("nearest", "idw", "mean", "population")


@dataclass(frozen=True)
class Area:
    """Where features are wanted: a point (population-weighted centroid) and the zones it covers."""

    name: str
    lat: float | None
    lon: float | None
    zones: pl.DataFrame | None = None  # zone, population, lat, lon


def load_zones(path: str | Path) -> pl.DataFrame:
    """zones.csv (one row per postcode) -> one row per zone with population and centroid."""
    path = Path(path)
    df = pl.read_csv(path, schema_overrides={"zone": pl.Utf8, "postcode": pl.Utf8})
    missing = [c for c in ("zone", "population", "lat", "lon") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    bad = df.with_row_index("line", 2).filter(
        (pl.col("population") < 0) | pl.col("lat").is_null() | pl.col("lon").is_null()
    )
    if bad.height:
        raise ValueError(f"{path}:{bad['line'][0]}: negative population or missing coordinates")
    w = pl.col("population")
    return df.group_by("zone", maintain_order=True).agg(
        population=w.sum(),
        lat=(pl.col("lat") * w).sum() / w.sum(),
        lon=(pl.col("lon") * w).sum() / w.sum(),
    )


def make_area(level: str, zone: str | None, zones: pl.DataFrame | None) -> Area:
    if level not in ("city", "zone"):
        raise ValueError(f"data.spatial.level={level!r}; use city or zone")
    if zones is None:
        if level == "zone":
            raise ValueError(
                "data.spatial.level=zone needs a zones.csv (world dir or data.spatial.zones_csv)"
            )
        return Area("city", None, None)
    if level == "zone":
        z = zones.filter(pl.col("zone") == str(zone))
        if z.height == 0:
            raise ValueError(
                f"data.spatial.zone={zone!r} not in zones.csv; known {zones['zone'].to_list()[:20]}"
            )
        zones = z
    w = zones["population"].to_numpy().astype(float)
    lat = float(np.average(zones["lat"].to_numpy(), weights=w))
    lon = float(np.average(zones["lon"].to_numpy(), weights=w))
    return Area("city" if level == "city" else f"zone:{zone}", lat, lon, zones)


def _km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (haversine), km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def site_weights(
    sites: dict[str, Site], area: Area, method: str, source: str, site_type: str | None = None
) -> dict[str, float]:
    """Static weight of each site (before renormalisation over sites with a value)."""
    if method not in METHODS:
        raise ValueError(f"data.spatial.method={method!r}; known {METHODS}")
    ids = sorted(sites)
    if len(ids) == 1:
        return {ids[0]: 1.0}
    if method == "mean":
        keep = [s for s in ids if site_type is None or site_type.lower() in sites[s].type.lower()]
        if not keep:
            raise ValueError(
                f"source {source!r}: no site of type {site_type!r}; types {sorted({sites[s].type for s in ids})}"
            )
        return dict.fromkeys(keep, 1.0)
    no_xy = [s for s in ids if sites[s].lat is None or sites[s].lon is None]
    if no_xy or area.lat is None:
        raise ValueError(
            f"source {source!r}: spatial method {method!r} needs coordinates for sites {no_xy or ids} and a zones.csv; "
            "use method mean or give coordinates"
        )
    lat = np.array([sites[s].lat for s in ids])
    lon = np.array([sites[s].lon for s in ids])
    if method == "population":
        z = area.zones
        d = _km(
            z["lat"].to_numpy()[:, None], z["lon"].to_numpy()[:, None], lat[None, :], lon[None, :]
        )
        served = np.zeros(len(ids))
        np.add.at(served, d.argmin(axis=1), z["population"].to_numpy().astype(float))
        return {s: float(w) for s, w in zip(ids, served, strict=True) if w > 0}
    d = np.maximum(_km(area.lat, area.lon, lat, lon), 0.1)
    if method == "nearest":  # rank-based weights: the closest site with a value dominates entirely
        order = np.argsort(d)
        return {ids[i]: float(1e6 ** (-rank)) for rank, i in enumerate(order)}
    return {s: float(w) for s, w in zip(ids, 1.0 / d**2, strict=True)}


def combine_sites(periods: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """(site, variable, start, last, value, published) -> (variable, start, last, value, published)."""
    w = pl.DataFrame(
        {"site": list(weights), "w": list(weights.values())},
        schema={"site": pl.Utf8, "w": pl.Float64},
    )
    df = periods.join(w, on="site", how="inner")
    has = pl.col("value").is_not_null()
    return df.group_by("variable", "start", "last").agg(
        value=pl.when(has.any()).then(
            (pl.col("value") * pl.col("w")).sum() / pl.col("w").filter(has).sum()
        ),
        published=pl.col("published").max(),
    )
