from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
APPS = Path(__file__).resolve().parent / "apps"
TOY = APPS / "toy_app.py"


class Sweep:
    """Runs tests/sweep/apps/toy_app.py as a Hydra multirun driven by the respicast_optuna sweeper."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "sweep"
        self.storage = f"sqlite:///{self.dir}/optuna.db"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            str(TOY),
            "-m",
            f"hydra.searchpath=[file://{CONF}]",
            "hydra/sweeper=respicast_optuna",
            f"hydra.sweep.dir={self.dir}",
            "hydra.sweeper.sampler.seed=1",
            *args,
        ]
        return subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )

    def study(self, name: str = "toy_app"):
        import optuna

        return optuna.load_study(study_name=name, storage=self.storage)

    def states(self) -> dict[str, int]:
        from collections import Counter

        return dict(Counter(t.state.name for t in self.study().trials))


@pytest.fixture
def sweep(tmp_path: Path) -> Sweep:
    return Sweep(tmp_path)
