from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
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

    def command(self, *args: str) -> list[str]:
        return [
            sys.executable,
            str(TOY),
            "-m",
            f"hydra.searchpath=[file://{CONF}]",
            "hydra/sweeper=respicast_optuna",
            f"hydra.sweep.dir={self.dir}",
            "hydra.sweeper.sampler.seed=1",
            *args,
        ]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start the sweep without waiting (several sweepers on one study)."""
        return subprocess.Popen(
            self.command(*args),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def study(self, name: str = "toy_app"):
        import optuna

        return optuna.load_study(study_name=name, storage=self.storage)

    def states(self) -> dict[str, int]:
        from collections import Counter

        return dict(Counter(t.state.name for t in self.study().trials))


def _pgserver():
    """tests/hospital/pgserver.py, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "respicast_tests_pgserver", REPO / "tests" / "hospital" / "pgserver.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster for the session (skipped without the server binaries)."""
    pg = _pgserver()
    with pg.temp_cluster(pg.bindir_or_stop()) as url:
        yield url


@pytest.fixture
def sweep(tmp_path: Path) -> Sweep:
    return Sweep(tmp_path)


@pytest.fixture
def sweep_at() -> type[Sweep]:
    """The Sweep class, for tests that run several sweeps in their own folders."""
    return Sweep
