"""TSFEL features of every input channel of a WindowSet, leakage-safe and cached.

Each row's features come from its own lookback window only, which ends at the origin t, so no
value after t enters. Gaps inside a window (NaN) are carried forward from the last known value
of the same window (never from a later day); leading gaps take the first known value.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from respicast.dataset.windows import WindowSet
from respicast.features import tsfel_fast

CACHE_VERSION = "tsfel_fast-1"  # bump when a feature definition changes


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN along the last axis; leading NaN take the first known value; all-NaN rows 0."""
    x = np.asarray(x, dtype=float)
    missing = np.isnan(x)
    if not missing.any():
        return x
    pos = np.arange(x.shape[-1])
    last_known = np.maximum.accumulate(np.where(missing, 0, pos), axis=-1)
    out = np.take_along_axis(x, last_known, axis=-1)
    # leading gaps: first known value of the row
    first_known = np.argmax(~missing, axis=-1)[..., None]
    first_value = np.take_along_axis(x, first_known, axis=-1)
    out = np.where(np.isnan(out), first_value, out)
    return np.nan_to_num(out, nan=0.0)


def unknown_tail(history: np.ndarray) -> int:
    """Number of trailing days unknown in every window (reporting latency)."""
    known_any = ~np.all(np.isnan(history), axis=0)
    if not known_any.any():
        raise ValueError("history: every value is NaN; nothing to learn from")
    return int(len(known_any) - 1 - np.flatnonzero(known_any)[-1])


def window_blocks(
    ws: WindowSet, trim_tail: int = 0, use_past: bool = True
) -> list[tuple[list[str], np.ndarray]]:
    """Gap-filled channel blocks ``(names, [N, L_block, C])``: history/level, then past covariates.

    ``trim_tail`` drops the last days of the history (unknown because of reporting latency);
    covariates keep their whole window, hence two blocks of different lengths.
    """
    level = np.where(ws.level > 0, ws.level, np.nan)[:, None]
    hist = fill_gaps(ws.history[:, : ws.lookback - trim_tail] / level)
    blocks = [(["history_rel"], hist[:, :, None])]
    if use_past and ws.past.shape[-1] > 0:
        past = fill_gaps(np.moveaxis(ws.past, 1, -1))  # fill along time
        blocks.append((list(ws.past_names), np.moveaxis(past, -1, 1)))
    return blocks


class FeatureCache:
    """Feature matrices on disk (``directory``) and in memory, keyed by a hash of the data."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else None
        self._memory: dict[str, np.ndarray] = {}

    @staticmethod
    def key(x: np.ndarray, feature_names: list[str], fs: float) -> str:
        h = hashlib.sha256()
        h.update(CACHE_VERSION.encode())
        h.update(repr((x.shape, str(x.dtype), feature_names, float(fs))).encode())
        h.update(np.ascontiguousarray(x).tobytes())
        return h.hexdigest()[:32]

    def get(self, key: str) -> np.ndarray | None:
        if key in self._memory:
            return self._memory[key]
        if self.directory is not None:
            path = self.directory / f"{key}.npy"
            if path.exists():
                self._memory[key] = np.load(path)
                return self._memory[key]
        return None

    def put(self, key: str, value: np.ndarray) -> None:
        self._memory[key] = value
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{key}.tmp.npy"
            np.save(tmp, value)
            tmp.replace(
                self.directory / f"{key}.npy"
            )  # atomic: parallel runs never read half a file


def channel_features(
    x: np.ndarray,
    feature_names: list[str] | None = None,
    fs: float = 1.0,
    cache: FeatureCache | None = None,
) -> np.ndarray:
    """[N, L, C] gap-free windows -> [N, C, F] features (all channels in one vectorised pass)."""
    names = list(tsfel_fast.FEATURES) if feature_names is None else list(feature_names)
    key = FeatureCache.key(x, names, fs) if cache is not None else ""
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    n, length, c = x.shape
    flat = np.moveaxis(x, -1, 1).reshape(n * c, length)
    out = tsfel_fast.compute(flat, names, fs=fs).reshape(n, c, len(names))
    if cache is not None:
        cache.put(key, out)
    return out


def tsfel_table(
    ws: WindowSet,
    feature_names: list[str] | None = None,
    trim_tail: int = 0,
    use_past: bool = True,
    fs: float = 1.0,
    cache: FeatureCache | None = None,
) -> tuple[np.ndarray, list[str]]:
    """[N, C*F] TSFEL features of every channel of ``ws`` and their ``channel:feature`` names."""
    names = list(tsfel_fast.FEATURES) if feature_names is None else list(feature_names)
    mats, cols = [], []
    for channels, block in window_blocks(ws, trim_tail, use_past):
        feats = channel_features(block, names, fs, cache)
        mats.append(feats.reshape(len(ws), -1))
        cols += [f"{c}:{f}" for c in channels for f in names]
    return np.concatenate(mats, axis=1), cols
