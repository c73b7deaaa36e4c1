"""Console entry points; each is a Hydra app whose root config ships inside the package.

Only this package knows where the configs live. Users add their own config directory without
editing the package: ``--config-dir DIR`` for one command, or ``RESPICAST_CONF=DIR`` for every
command (read by the search-path plugin in hydra_plugins/respicast_searchpath); a file there takes
precedence over the shipped one of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

# respicast/conf/ is package data, so an editable and a wheel install find it alike (the repo's
# top-level conf/ is a symlink to it)
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")

# registers ${respicast.ablation_groups:...} before Hydra composes any config
import respicast.experiments  # noqa: E402,F401

# ${respicast.cwd:}: the directory the command was typed in. Unlike ${hydra:runtime.cwd} it can be
# resolved before a job exists (a multirun resolves hydra.sweep.dir first).
if not OmegaConf.has_resolver("respicast.cwd"):
    OmegaConf.register_new_resolver("respicast.cwd", os.getcwd)
