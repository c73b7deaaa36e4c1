"""python -m respicast.cli.ablation_variants <data config> [keep,groups]: the ablation variants
of a data config, ready for ``ablation.variant=...``."""

from __future__ import annotations

import sys

from respicast.cli import CONFIG_DIR
from respicast.experiments.ablation import main

if __name__ == "__main__":
    main(sys.argv[1:], CONFIG_DIR)
