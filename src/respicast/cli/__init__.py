"""Console entry points; each is a Hydra app whose root config lives in the repository's conf/."""

from __future__ import annotations

import os
from pathlib import Path

# The project is installed in editable mode (see README), so conf/ sits three levels above
# src/respicast/cli/. RESPICAST_CONF points elsewhere, e.g. a site-specific copy on a cluster.
CONFIG_DIR = str(
    Path(os.environ.get("RESPICAST_CONF", Path(__file__).resolve().parents[3] / "conf"))
)

# registers ${respicast.ablation_groups:...} before Hydra composes any config
import respicast.experiments  # noqa: E402,F401
