"""respicast-report: gather runs' metrics.json into one comparison table (md, csv, html)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from respicast.cli import CONFIG_DIR

log = logging.getLogger(__name__)


def run_report(cfg: DictConfig, out_dir: Path) -> dict[str, Path]:
    # polars/sklearn load here, not at module load: `respicast-report --help` must start fast
    from respicast.report.compare import (
        add_reference_deltas,
        build_columns,
        find_run_dirs,
        horizons_in,
        load_rows,
        write_comparison,
    )

    runs = OmegaConf.to_container(cfg.runs) if OmegaConf.is_config(cfg.runs) else cfg.runs
    rows = load_rows(find_run_dirs(runs), cfg.group_by)
    horizons = list(cfg.horizons) if cfg.horizons else horizons_in(rows)
    if cfg.reference:
        b = cfg.bootstrap
        add_reference_deltas(rows, cfg.reference, horizons, b.n, b.seed, b.level)
    columns = build_columns(list(cfg.metrics), horizons, rows)
    return write_comparison(rows, columns, out_dir, min_positives=cfg.min_positives)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="report")
def main(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    if cfg.get("mode", "compare") == "ablation":
        from respicast.report.ablation import run_ablation_report

        paths = run_ablation_report(cfg, out_dir)
    elif cfg.get("mode", "compare") == "compare":
        paths = run_report(cfg, out_dir)
    else:
        raise ValueError(f"mode={cfg.mode!r}: choose compare or ablation")
    for kind, path in paths.items():
        print(f"{'ablation' if cfg.get('mode') == 'ablation' else 'comparison'} {kind}: {path}")


if __name__ == "__main__":
    main()
