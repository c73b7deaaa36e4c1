"""The one error type respicast-forecast raises for bad input, so the CLI can print it plainly.

It is the trained-run error: a bad run dir and a bad as-of date read the same to the user.
"""

from respicast.trained_run import RunError as ForecastError

__all__ = ["ForecastError"]
