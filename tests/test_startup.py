"""Fast start-up: importing an app, or asking it for --help, loads no heavy library (torch,
Lightning, polars, scikit-learn, W&B, Optuna…). Those cost seconds of CPU each; they load when a
run needs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "lightning", "polars", "sklearn", "pandas", "wandb", "optuna", "matplotlib")
APPS = {
    "respicast-train": "respicast.cli.train",
    "respicast-eval": "respicast.cli.evaluate",
    "respicast-forecast": "respicast.cli.forecast",
    "respicast-report": "respicast.cli.report",
    "respicast-simulate": "respicast.cli.simulate",
}
REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def loaded_after(code: str) -> tuple[list[str], str]:
    """Heavy modules loaded by ``code`` in a fresh interpreter, and what it printed before."""
    out = subprocess.run(
        [sys.executable, "-c", code + REPORT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    *printed, last = out.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def test_importing_the_apps_and_resolvers_loads_no_heavy_library():
    modules = [*APPS.values(), "respicast.cli", "respicast.experiments", "respicast.utils.tracking"]
    loaded, _ = loaded_after("".join(f"import {m}\n" for m in modules))
    assert loaded == []


@pytest.mark.parametrize("app", sorted(APPS))
def test_help_composes_the_config_without_heavy_libraries(app):
    """--help composes the app's config (Hydra plugins and resolvers included), as typed."""
    code = f"""
import sys
sys.argv = [{app!r}, "--help"]
from {APPS[app]} import main
try:
    main()
except SystemExit as e:
    assert e.code in (0, None), e.code
"""
    loaded, printed = loaded_after(code)
    assert "Powered by Hydra" in printed and "== Config ==" in printed
    assert loaded == []
