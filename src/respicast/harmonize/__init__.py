"""Harmonisation: source frames -> the daily table (architecture doc §3)."""

from respicast.harmonize.build import build_daily_table

__all__ = ["build_daily_table"]
