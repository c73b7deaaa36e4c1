"""Units the readers accept, their canonical form, and the range a real value can take.

Readers convert every value to the canonical unit so harmonisation never mixes scales; a value
outside the plausible range is a sensor or transcription fault, not weather (e.g. 60 °C).
"""

from __future__ import annotations

import re

import polars as pl

# alias -> (canonical unit, scale, offset): canonical = value * scale + offset
UNIT_ALIASES: dict[str, tuple[str, float, float]] = {
    "ug.m-3": ("ug/m3", 1.0, 0.0),
    "ug/m3": ("ug/m3", 1.0, 0.0),
    "µg/m3": ("ug/m3", 1.0, 0.0),
    "µg/m³": ("ug/m3", 1.0, 0.0),
    "mg.m-3": ("ug/m3", 1000.0, 0.0),  # CO in ATMO exports
    "mg/m3": ("ug/m3", 1000.0, 0.0),
    "degC": ("degC", 1.0, 0.0),
    "C": ("degC", 1.0, 0.0),
    "K": ("degC", 1.0, -273.15),
    "degF": ("degC", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "F": ("degC", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "%": ("%", 1.0, 0.0),
    "Pa": ("hPa", 0.01, 0.0),
    "hPa": ("hPa", 1.0, 0.0),
    "m/s": ("m/s", 1.0, 0.0),
    "mm": ("mm", 1.0, 0.0),
    "grains/m3": ("grains/m3", 1.0, 0.0),
    "count": ("count", 1.0, 0.0),
    "per100k": ("per100k", 1.0, 0.0),
    "cases": ("cases", 1.0, 0.0),
    "rate": ("rate", 1.0, 0.0),
    # pre-transformed regressors (e.g. a scaled NO2 maximum): no physical range
    "scaled": ("scaled", 1.0, 0.0),
    "1": ("1", 1.0, 0.0),
}

# canonical unit -> (lowest, highest) plausible value; None = unbounded on that side
PLAUSIBLE: dict[str, tuple[float | None, float | None]] = {
    "ug/m3": (0.0, 50000.0),  # CO reaches tens of mg/m3 near traffic
    "degC": (-60.0, 50.0),
    "%": (0.0, 100.0),
    "hPa": (850.0, 1100.0),
    "m/s": (0.0, 75.0),
    "mm": (0.0, 500.0),
    "grains/m3": (0.0, 100000.0),
    "count": (0.0, 1e6),  # admissions or deaths per day and area
    "per100k": (0.0, 100000.0),
    "cases": (0.0, 1e8),
    "rate": (0.0, None),
    "scaled": (None, None),
    "1": (None, None),
}


# Gas mixing ratios -> mass concentration at the reference conditions of the EU air-quality
# Directive 2008/50/EC (annex VI: 293 K, 101.3 kPa). We use the molar volume 24.055 L/mol
# (R * 293.15 K / 101.325 kPa), the value behind the usual factors (1 ppb NO2 = 1.91 ug/m3):
# ug/m3 = ppb * M / 24.055, with M the molar mass in g/mol.
MOLAR_VOLUME_L = 24.055
MIXING_RATIOS = {"ppb": 1.0, "ppm": 1000.0}  # -> ppb
MOLAR_MASS = {  # g/mol; NOx is expressed as NO2, as the Directive does
    "no2": 46.0055,
    "no": 30.0061,
    "nox": 46.0055,
    "o3": 47.9982,
    "so2": 64.064,
    "co": 28.0101,
    "nh3": 17.0305,
    "h2s": 34.081,
    "c6h6": 78.112,
    "benzene": 78.112,
}


def gas_key(name: str) -> str:
    """'NO2', 'no_2', 'O3 ' -> the MOLAR_MASS key form."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def mixing_ratio_scale(unit: str, gas: str, where: str) -> float:
    """Factor turning `unit` (ppb or ppm) of `gas` into ug/m3; unknown gas raises naming `where`."""
    molar_mass = MOLAR_MASS.get(gas_key(gas))
    if molar_mass is None:
        raise ValueError(
            f"{where}: unit {unit!r} of {gas!r}: a mixing ratio converts to ug/m3 only for a "
            f"known gas {sorted(MOLAR_MASS)}"
        )
    return MIXING_RATIOS[unit] * molar_mass / MOLAR_VOLUME_L


def canonical(unit: str, where: str) -> tuple[str, float, float]:
    """(canonical unit, scale, offset) of `unit`; `where` names the file/key for the error.

    ppb/ppm depend on the gas: see mixing_ratio_scale."""
    try:
        return UNIT_ALIASES[unit]
    except KeyError:
        known = sorted([*UNIT_ALIASES, *MIXING_RATIOS])
        raise ValueError(f"{where}: unknown unit {unit!r}; known: {known}") from None


def implausible(unit_col: str = "unit", value_col: str = "value") -> pl.Expr:
    """True where the (canonical-unit) value lies outside its unit's plausible range."""
    expr = pl.lit(False)
    for unit, (lo, hi) in PLAUSIBLE.items():
        bad = pl.lit(False)
        if lo is not None:
            bad = bad | (pl.col(value_col) < lo)
        if hi is not None:
            bad = bad | (pl.col(value_col) > hi)
        expr = pl.when(pl.col(unit_col) == unit).then(bad).otherwise(expr)
    return (expr | pl.col(value_col).is_infinite()).fill_null(False)
