"""The one error type respicast-forecast raises for bad input, so the CLI can print it plainly."""


class ForecastError(ValueError):
    """Bad input to a forecast: as-of date, stale sources, incompatible run or config."""
