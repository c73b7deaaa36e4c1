"""respicast-simulate: write a simulated world folder (see respicast.world)."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig, OmegaConf

from respicast.cli import CONFIG_DIR

log = logging.getLogger(__name__)


@hydra.main(config_path=CONFIG_DIR, config_name="simulate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from respicast.world import ensure_world  # numpy/polars: not needed for --help

    world = OmegaConf.to_container(cfg.world, resolve=True)
    if cfg.seed is not None:
        world["seed"] = int(cfg.seed)
    out = ensure_world(world, cfg.out, regenerate=cfg.regenerate, keys=("out", "regenerate"))
    log.info("world ready in %s", out)
    print(out)


if __name__ == "__main__":
    main()
