"""respicast-simulate: write a simulated world folder (see respicast.world)."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig, OmegaConf

from respicast.cli import CONFIG_DIR
from respicast.world import ensure_world, simulate

log = logging.getLogger(__name__)


@hydra.main(config_path=CONFIG_DIR, config_name="simulate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    world = OmegaConf.to_container(cfg.world, resolve=True)
    if cfg.seed is not None:
        world["seed"] = int(cfg.seed)
    out = simulate(world, cfg.out) if cfg.force else ensure_world(world, cfg.out)
    log.info("world ready in %s", out)
    print(out)


if __name__ == "__main__":
    main()
