"""respicast-forecast: a trained run + an as-of date -> forecast.json, forecast.csv, forecast.html."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from respicast.cli import CONFIG_DIR

log = logging.getLogger(__name__)
FORMATS = ("page", "hub")  # hub: also the hubverse model-output table (forecast/hub.py)


def forecast(cfg: DictConfig) -> Path:
    """Make the forecast and write the three files to the Hydra run dir; returns that dir."""
    from respicast.forecast import ForecastError, make_forecast, write_outputs

    fmt = str(cfg.get("format", "page"))
    if fmt not in FORMATS:
        raise ForecastError(f"format={fmt!r}: choose one of {FORMATS}")
    from respicast.harmonize.panel import series_keys
    from respicast.trained_run import resolve_run_dir

    out = Path(cfg.paths.output_dir)
    if series_keys(resolve_run_dir(str(cfg.ckpt_path))[0].read_config().data):
        return _panel_forecast(cfg, out, fmt)
    fc = make_forecast(str(cfg.ckpt_path), cfg.asof, cfg)
    paths = write_outputs(fc, out, int(cfg.get("suppress_below", 5)))
    if fmt == "hub":
        from respicast.forecast.hub import write_hub
        from respicast.trained_run import resolve_run_dir

        trained = resolve_run_dir(str(cfg.ckpt_path))[0].read_config()
        paths["hub"] = write_hub(fc, out, cfg.get("hub"), str(trained.data.name))
    levels = ", ".join(
        f"{r['date']:%a %d}: {r['level']} ({100 * r['peak_prob']:.0f} %)"
        for r in fc.days.iter_rows(named=True)
    )
    log.info("forecast as of %s (%s): %s", fc.asof, fc.model, levels)
    print(f"wrote {', '.join(p.name for p in paths.values())} to {out}")
    return out


def _panel_forecast(cfg: DictConfig, out: Path, fmt: str) -> Path:
    """A panel run: one section per series of forecast.series on the page, one location each
    in the hub table."""
    from respicast.forecast.panel import make_panel_forecasts, write_panel_outputs

    items = make_panel_forecasts(str(cfg.ckpt_path), cfg.asof, cfg)
    paths = write_panel_outputs(items, out, int(cfg.get("suppress_below", 5)))
    if fmt == "hub":
        from respicast.forecast.hub import write_panel_hub

        paths["hub"] = write_panel_hub(items, out, cfg.get("hub"))
    for _, fc in items:
        top = max(fc.days.iter_rows(named=True), key=lambda r: r["peak_prob"])
        log.info(
            "%s: highest peak probability %.0f %% on %s",
            fc.labels.get("series"),
            100 * top["peak_prob"],
            top["date"],
        )
    print(f"wrote {', '.join(p.name for p in paths.values())} to {out} ({len(items)} series)")
    return out


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="forecast")
def main(cfg: DictConfig) -> None:
    from respicast.forecast import ForecastError

    try:
        forecast(cfg)
    except ForecastError as e:
        log.error("%s", e)
        print(f"respicast-forecast: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
