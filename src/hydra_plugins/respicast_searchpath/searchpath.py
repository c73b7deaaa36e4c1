"""RESPICAST_CONF=DIR puts a site's own config directory in front of the shipped configs.

A file in DIR shadows the shipped file of the same path (e.g. DIR/train.yaml, DIR/data/site.yaml);
what DIR lacks comes from the package. A full copy of the configs therefore works as before.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

ENV = "RESPICAST_CONF"


class RespicastSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        conf = os.environ.get(ENV)
        if not conf:
            return
        if not Path(conf).is_dir():
            raise FileNotFoundError(f"{ENV}={conf}: not a directory")
        # in front of the app's own config dir ("main"), so its files win
        search_path.prepend(provider="respicast-env", path=f"file://{Path(conf).resolve()}")
