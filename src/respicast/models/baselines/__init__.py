"""Baselines every deep model must beat; each offers ``fit(train, val)`` and ``predict(ws)``."""

from respicast.models.baselines.base import Baseline
from respicast.models.baselines.climatology import Climatology
from respicast.models.baselines.glm_dlnm import GLMDLNM
from respicast.models.baselines.lightgbm_tsfel import LightGBMTSFEL
from respicast.models.baselines.logistic import LogisticBaseline
from respicast.models.baselines.persistence import Persistence

__all__ = ["GLMDLNM", "Baseline", "Climatology", "LightGBMTSFEL", "LogisticBaseline", "Persistence"]
