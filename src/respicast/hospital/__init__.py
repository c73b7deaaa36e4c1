"""Hospital admissions by SQL: daily COPD/asthma counts per zone and age band.

Reads the PMSI-like ``stays``/``associated_dx`` tables from a DuckDB file or any SQLAlchemy URL;
only aggregated counts come out (see counts.py for the privacy rule).
"""

from respicast.hospital.counts import DEFAULT_AGE_BANDS, daily_counts
from respicast.hospital.rules import DEFAULT_RULES, Rule, SelectionRules
from respicast.hospital.transfer import load_stays
from respicast.hospital.zones import UNKNOWN, read_zone_map

__all__ = [
    "DEFAULT_AGE_BANDS",
    "DEFAULT_RULES",
    "UNKNOWN",
    "Rule",
    "SelectionRules",
    "daily_counts",
    "load_stays",
    "read_zone_map",
]
