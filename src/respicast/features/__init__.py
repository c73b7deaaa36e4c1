"""Window features: TSFEL statistical + temporal features, vectorised and cached."""

from respicast.features.extract import FeatureCache, fill_gaps, tsfel_table, unknown_tail
from respicast.features.tsfel_fast import FEATURES, compute

__all__ = ["FEATURES", "FeatureCache", "compute", "fill_gaps", "tsfel_table", "unknown_tail"]
