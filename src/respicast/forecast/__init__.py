"""respicast-forecast: the next H days from a trained run, as of a date (see core.make_forecast)."""

from __future__ import annotations

from pathlib import Path

from respicast.forecast.core import Forecast, make_forecast
from respicast.forecast.errors import ForecastError
from respicast.run_dir import RunDir


def write_outputs(fc: Forecast, out_dir: Path, k: int = 5) -> dict[str, Path]:
    """forecast.json, forecast.csv and forecast.html in out_dir, counts below k suppressed."""
    from respicast.forecast.export import write_csv, write_json
    from respicast.forecast.page import write_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = RunDir(out_dir).forecast_files()
    write_json(fc, paths["json"], k)
    write_csv(fc, paths["csv"], k)
    write_html(fc, paths["html"], k)
    return paths


__all__ = ["Forecast", "ForecastError", "make_forecast", "write_outputs"]
