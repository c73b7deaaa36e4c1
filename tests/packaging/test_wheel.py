"""A non-editable install (a built wheel) carries its configs: train and forecast run with it from
an empty directory, the repository's src/ and conf/ out of reach."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    p.relative_to(REPO / "src").as_posix()
    for p in (REPO / "src" / "respicast" / "conf").rglob("*.yaml")
    if p.parent.name != "local"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel, built from this checkout and unpacked with pip into a scratch folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", REPO],
        check=True,
    )
    (wheel,) = (tmp / "dist").glob("respicast-*.whl")
    assert sorted(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".yaml")) == SHIPPED
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp / "site", wheel], check=True)
    return tmp / "site"


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # -S: no site-packages .pth files, so the editable install's path to src/ is never added;
    # the dependencies come from this interpreter's site-packages, after the scratch install
    path = os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("RESPICAST_CONF", None)
    return subprocess.run(
        [sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_wheel_install_trains_and_forecasts_from_an_empty_dir(installed, tmp_path):
    where = _run(installed, tmp_path, "-c", "import respicast; print(respicast.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stderr
    train = _run(installed, tmp_path, "-m", "respicast.cli.train", "debug=fast", "torch_threads=1")
    assert train.returncode == 0, train.stderr[-3000:]
    # a baseline leaves a fitted state to forecast from (fast_dev_run writes no checkpoint)
    base = ["debug=fast", "torch_threads=1", "model=logistic", "hydra.run.dir=base"]
    train = _run(installed, tmp_path, "-m", "respicast.cli.train", *base)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "base" / "metrics.json").is_file()
    fc = _run(
        installed, tmp_path, "-m", "respicast.cli.forecast", "ckpt_path=base", "asof=2024-02-14"
    )
    assert fc.returncode == 0, fc.stderr[-3000:]
    assert list((tmp_path / "outputs" / "forecast").rglob("forecast.json"))
