"""Calendar drivers of the world: French public holidays, September school return, COVID lockdowns."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
from vacances_scolaires_france import SchoolHolidayDates

SUMMER = "Vacances d'été"


def public_holidays(days: np.ndarray) -> np.ndarray:
    years = range(int(str(days[0])[:4]), int(str(days[-1])[:4]) + 1)
    fr = holidays.France(years=list(years))
    marked = np.array(sorted(fr.keys()), dtype="datetime64[D]")
    return np.isin(days, marked).astype(float)


def school_return_week(days: np.ndarray) -> np.ndarray:
    """1.0 on the first seven days after the end of each summer holiday (national dates)."""
    calendar = SchoolHolidayDates()
    out = np.zeros(days.size)
    first, last = int(str(days[0])[:4]), int(str(days[-1])[:4])
    for year in range(first, last + 1):
        summer = [
            d
            for d, v in calendar.holidays_for_year_and_zone(year, "C").items()
            if v["nom_vacances"] == SUMMER
        ]
        if not summer:
            raise ValueError(f"vacances-scolaires-france has no summer holidays for {year}")
        back = np.datetime64(max(summer) + dt.timedelta(days=1), "D")
        out[(days >= back) & (days < back + 7)] = 1.0
    return out


def lockdowns(days: np.ndarray, periods: list) -> np.ndarray:
    out = np.zeros(days.size)
    for i, (start, end) in enumerate(periods):
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        if hi < lo:
            raise ValueError(f"world.epidemics.lockdowns[{i}]: end {end} before start {start}")
        out[(days >= lo) & (days <= hi)] = 1.0
    return out
