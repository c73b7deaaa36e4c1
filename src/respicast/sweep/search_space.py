"""Search spaces written in Hydra's override grammar, mapped to Optuna distributions.

``params:`` entries (and command-line overrides) of the sweeper use the sweep expressions Hydra
already parses:

==========================================  ===============================================
expression                                  Optuna distribution
==========================================  ===============================================
``interval(1e-4, 1e-2)``                    ``FloatDistribution(1e-4, 1e-2)``
``tag(log, interval(1e-4, 1e-2))``          ``FloatDistribution(1e-4, 1e-2, log=True)``
``tag(int, interval(1, 8))``                ``IntDistribution(1, 8)`` (``log`` may be added)
``range(16, 129, step=16)``                 ``IntDistribution(16, 128, step=16)``
``range(0.0, 0.55, step=0.1)``              ``FloatDistribution(0.0, 0.5, step=0.1)``
``tag(log, range(8, 65))``                  ``IntDistribution(8, 64, log=True)`` (step 1 only)
``choice(a, b)`` or ``a,b``                 ``CategoricalDistribution(["a", "b"])``
==========================================  ===============================================

``range`` keeps Hydra's (and Python's) meaning: the stop value is excluded, so the same
expression lists the same values under the basic sweeper. A plain value (``key=3``) is not
searched; it is passed to every trial unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from optuna.distributions import BaseDistribution


class SearchSpaceError(ValueError):
    """A sweep expression that has no Optuna counterpart."""


def _range_high(start: float, stop: float, step: float) -> float:
    # Last value Hydra's range would yield (stop excluded), robust to float rounding.
    n = math.ceil(round((stop - start) / step, 9))
    if n <= 0:
        raise SearchSpaceError(f"empty range({start}, {stop}, step={step})")
    return start + (n - 1) * step


def distribution_for(override: Override) -> BaseDistribution:
    """The Optuna distribution for one sweep override (``override.is_sweep_override()``)."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    key = override.get_key_element()
    value = override.value()
    tags = set(getattr(value, "tags", set()) or set())
    unknown = tags - {"log", "int"}
    if unknown:
        raise SearchSpaceError(f"{key}: unknown tag(s) {sorted(unknown)}; use log and/or int")
    log = "log" in tags
    if isinstance(value, IntervalSweep):
        if "int" in tags:
            return IntDistribution(int(value.start), int(value.end), log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if step <= 0:
            raise SearchSpaceError(f"{key}: range step must be positive")
        if log and step != 1:
            raise SearchSpaceError(f"{key}: Optuna's log scale needs step 1 in range()")
        if all(isinstance(v, int) for v in (start, stop, step)):
            high = int(_range_high(start, stop, step))
            return IntDistribution(start, high, log=log, step=step)
        high = round(_range_high(start, stop, step), 12)
        return FloatDistribution(float(start), high, log=log, step=None if log else float(step))
    if isinstance(value, ChoiceSweep):
        if log:
            raise SearchSpaceError(f"{key}: log does not apply to choice()")
        for v in value.list:
            if not (v is None or isinstance(v, bool | int | float | str)):
                raise SearchSpaceError(f"{key}: choice value {v!r} is not a scalar")
        return CategoricalDistribution(list(value.list))
    raise SearchSpaceError(f"{key}: sweep type {override.value_type} is not supported")


def _as_override_strings(params: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [f"{k}={v}" for k, v in params.items()]
    return list(params)


def parse_search_space(
    *sources: Mapping[str, Any] | Iterable[str] | None,
) -> tuple[dict[str, BaseDistribution], list[str]]:
    """Parse ``params:`` mappings and/or ``key=expr`` strings (later sources win per key).

    Returns the distributions by key and the fixed overrides passed unchanged to every trial.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    by_key: dict[str, Override] = {}
    for source in sources:
        for ov in parser.parse_overrides(_as_override_strings(source)):
            by_key[ov.get_key_element()] = ov
    space: dict[str, BaseDistribution] = {}
    fixed: list[str] = []
    for key, ov in by_key.items():
        if ov.is_sweep_override():
            space[key] = distribution_for(ov)
        else:
            fixed.append(ov.input_line or f"{key}={ov.get_value_element_as_str()}")
    return space, fixed


_BARE = re.compile(r"^[A-Za-z_][\w\-./]*$")
_RESERVED = {"true", "false", "null", "nan", "inf", "none"}


def format_value(value: Any) -> str:
    """A Hydra override value that parses back to ``value`` with the same type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 1e-05 and 0.001 both round-trip through Hydra's FLOAT
    text = str(value)
    if _BARE.match(text) and text.lower() not in _RESERVED:
        return text  # bare so config-group choices (model=lstm) stay plain
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_override(key: str, value: Any) -> str:
    return f"{key}={format_value(value)}"
