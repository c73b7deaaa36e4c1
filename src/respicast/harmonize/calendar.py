"""Calendar columns, known for future days too: public and school holidays, day-of-week and
day-of-year on the unit circle. Holidays from the `holidays` package (country, default France)
and school holidays from `vacances-scolaires-france` (zone C = Toulouse's academy)."""

from __future__ import annotations

import logging
import math

import polars as pl

log = logging.getLogger(__name__)
CALENDAR_COLUMNS = ("public_holiday", "school_holiday", "dow_sin", "dow_cos", "doy_sin", "doy_cos")


def _school_days(dates: pl.Series, zone: str) -> list[bool | None]:
    from vacances_scolaires_france import SchoolHolidayDates

    table = SchoolHolidayDates()
    out: list[bool | None] = []
    for d in dates.to_list():
        out.append(
            table.is_holiday_for_zone(d, zone)
            if table.min_year <= d.year <= table.max_year
            else None
        )
    return out


def calendar_frame(
    dates: pl.Series, country: str | None = "FR", school_zone: str | None = "C"
) -> pl.DataFrame:
    """date -> calendar columns (school_holiday only when school_zone is set)."""
    df = pl.DataFrame({"date": dates})
    cols = []
    if country:
        import holidays

        years = range(dates.min().year, dates.max().year + 1)
        days = set(holidays.country_holidays(country, years=years))
        cols.append(pl.col("date").is_in(list(days)).cast(pl.Float64).alias("public_holiday"))
    if school_zone:
        school = pl.Series("school_holiday", _school_days(dates, school_zone), dtype=pl.Boolean)
        unknown = school.null_count()
        if unknown:
            log.warning(
                "school holidays zone %s: %d day(s) outside the package's years, set to 0",
                school_zone,
                unknown,
            )
        df = df.with_columns(school.fill_null(False).cast(pl.Float64))
    dow = pl.col("date").dt.weekday() - 1  # 0 = Monday
    doy = pl.col("date").dt.ordinal_day() - 1
    year_len = pl.when(pl.col("date").dt.is_leap_year()).then(366).otherwise(365)
    cols += [
        (2 * math.pi * dow / 7).sin().alias("dow_sin"),
        (2 * math.pi * dow / 7).cos().alias("dow_cos"),
        (2 * math.pi * doy / year_len).sin().alias("doy_sin"),
        (2 * math.pi * doy / year_len).cos().alias("doy_cos"),
    ]
    return df.with_columns(cols)
