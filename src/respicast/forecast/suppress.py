"""Small-count suppression: any count below k leaves the data team only as "<k".

Applied to every count-valued field of every exported file: observed admissions, expected counts,
interval bounds and the peak threshold. Probabilities are not counts and are left as they are.
"""

from __future__ import annotations

import math


def count_cell(value: float | None, k: int, decimals: int = 0) -> float | int | str | None:
    """A count for export: None when unknown, "<k" below k, else rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if k > 0 and value < k:
        return f"<{k}"
    return int(round(value)) if decimals == 0 else round(float(value), decimals)


def is_suppressed(cell) -> bool:
    return isinstance(cell, str) and cell.startswith("<")
