"""Console entry points; each is a Hydra app whose root config lives in the repository's conf/."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

# The project is installed in editable mode (see README), so conf/ sits three levels above
# src/respicast/cli/. RESPICAST_CONF points elsewhere, e.g. a site-specific copy on a cluster.
CONFIG_DIR = str(
    Path(os.environ.get("RESPICAST_CONF", Path(__file__).resolve().parents[3] / "conf"))
)

# registers ${respicast.ablation_groups:...} before Hydra composes any config
import respicast.experiments  # noqa: E402,F401

# ${respicast.cwd:}: the directory the command was typed in. Unlike ${hydra:runtime.cwd} it can be
# resolved before a job exists (a multirun resolves hydra.sweep.dir first).
if not OmegaConf.has_resolver("respicast.cwd"):
    OmegaConf.register_new_resolver("respicast.cwd", os.getcwd)
