"""Source readers: raw files in real formats -> tidy source frames (architecture doc §2)."""

from respicast.sources.frame import SOURCE_SCHEMA, Latency, Site, SourceMeta
from respicast.sources.registry import KINDS, read_source

__all__ = ["KINDS", "SOURCE_SCHEMA", "Latency", "Site", "SourceMeta", "read_source"]
