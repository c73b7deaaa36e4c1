"""The README as written is the test: every shell command in its ```bash blocks runs verbatim.

Commands run in a scratch directory, as a user who types them one after the other would: a command
that names a run typed earlier (`<run>`, `<multirun>`, `<date_time>`) gets the newest such dir
there, which is what the user would paste. Nothing else is added: no output dir, no small dataset.
Every command must be classified below (fast suite, slow suite, or a stated reason it cannot run
here); a README command that is not, or a classification the README lost, fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

# What CI (.ci/run) does for the README's first two lines: it must run the same set-up verbatim.
SETUP_PARTS = (
    "python3.11 -m venv .venv",
    ". .venv/bin/activate",
    'pip install -e ".[dev]"',
)

FAST = "fast"
SLOW = "slow"


@dataclass(frozen=True)
class Tier:
    kind: str  # fast | slow | skip | repo
    reason: str = ""
    timeout: int = 900


def _skip(reason: str) -> Tier:
    return Tier("skip", reason)


# README command (comments stripped, continuation lines joined) -> how the suite runs it.
# "repo": a development command typed in the repository itself, not a scratch dir.
COMMANDS: dict[str, Tier] = {
    "respicast-train": Tier(FAST),  # the main job, after the install part of the first line
    "pytest": _skip("the suite itself (CI runs it through .ci/run)"),
    "respicast-train model=tcn data.horizon=7": Tier(SLOW),
    "respicast-train data=chicago_nmmaps model=cnn1d": Tier(SLOW),
    "respicast-train data.lookback=56 data.groups=[history,pollution,calendar]": Tier(SLOW),
    "respicast-train -m model=lstm,tcn trainer.max_epochs=5": Tier(SLOW),
    "respicast-train -m model=logistic,climatology data=toulouse_sim_small logger=none": Tier(FAST),
    "respicast-train model=glm_dlnm": Tier(SLOW),
    "respicast-train model=ensemble": Tier(SLOW),
    "respicast-train debug=fast": Tier(SLOW),
    "respicast-train trainer=gpu": Tier("gpu"),
    "respicast-train logger=none": Tier(SLOW),
    "respicast-train ckpt_path=outputs/train/runs/<run>/checkpoints/last.ckpt": Tier(SLOW),
    "respicast-eval data=chicago_nmmaps model=tcn": Tier(SLOW, timeout=2400),
    "respicast-eval data=chicago_nmmaps model=ensemble model@model.members.net=tcn": Tier(
        SLOW, timeout=3600
    ),
    "respicast-eval mode=checkpoint run_dir=outputs/train/runs/<run>": Tier(FAST),
    "respicast-eval mode=checkpoint run_dir=<run> importance=groups": Tier(SLOW),
    "respicast-report runs=outputs/train/multiruns/<date_time>": Tier(FAST),
    "respicast-report runs=<multirun> reference=climatology": Tier(FAST),
    "respicast-forecast ckpt_path=outputs/train/runs/<run> asof=2024-02-14": Tier(FAST),
    "respicast-forecast ckpt_path=<run> asof=2024-02-14 format=hub hub.location=FR-31": Tier(FAST),
    "respicast-simulate out=my_world": Tier(FAST),
    "respicast-simulate out=my_world_seed3 seed=3 world.epidemics.ili_source=real": Tier(FAST),
    "respicast-train -m hparams_search=lstm_optuna": Tier(SLOW, timeout=7200),
    (
        "respicast-train -m hparams_search=tcn_optuna trainer=gpu hydra/launcher=slurm "
        "hydra.launcher.partition=gpu hydra.launcher.account=myproj hydra.sweeper.n_jobs=8 "
        "'hydra.launcher.setup=[\"source /shared/respicast/.venv/bin/activate\"]' "
        "hydra.sweeper.storage=postgresql+psycopg2://me@dbhost/optuna"
    ): _skip("needs a SLURM cluster with a 'gpu' partition and the PostgreSQL host it names"),
    "respicast-train -m experiment=ablation_groups": Tier(SLOW),
    "respicast-report runs=outputs/train/multiruns/ablation_groups_<date_time> mode=ablation": Tier(
        SLOW
    ),
    "pytest -m slow": _skip("the slow suite itself"),
    "ruff check . && ruff format --check .": Tier("repo"),
    "python scripts/bench_simulate.py": Tier("repo-slow"),
    "python scripts/bench_harmonize.py": Tier("repo-slow"),
    "python scripts/bench_tsfel.py": Tier("repo-slow"),
    "python scripts/bench_training.py": Tier("repo-slow"),
    "python scripts/bench_skill.py --quick": Tier("repo-slow"),
    "python scripts/bench_ensemble.py": Tier("repo-slow"),
    "python scripts/bench_gpu.py": Tier("repo-slow"),
    "python scripts/bench_panel.py": Tier("repo"),
    "python scripts/bench_panel.py --skill": Tier("repo-slow"),
    # 4-5 min on 2 free cores (7 zone tables, 36 series): verbatim in the slow suite; CI trains
    # and forecasts a panel through tests/forecast/test_panel_forecast.py
    "respicast-train data=toulouse_sim_panel_small model=tcn": Tier(SLOW),
    (
        "respicast-eval data=toulouse_sim_panel_small model=tcn backtest.min_train_years=1 "
        "backtest.val_days=120"
    ): Tier(SLOW, timeout=2400),
    "respicast-train data=toulouse_sim_panel model=tcn": Tier(SLOW, timeout=3600),
    "respicast-train data=spf_covid_dep model=tcn": Tier(SLOW, timeout=2400),
    "respicast-train data=sentinelles_ili_weekly model=tcn": Tier(SLOW),
    "respicast-train data=sentinelles_ili_regions model=tcn": Tier(SLOW, timeout=2400),
    (
        "respicast-forecast ckpt_path=<panel run> asof=2021-06-01 "
        "'series=[all|all|all,toulouse_centre|copd|65-200]'"
    ): Tier(SLOW),
}


def _strip_comment(line: str) -> str:
    # a comment starts at " #" outside quotes; README commands keep '#' out of quoted values
    return re.sub(r"\s+#(\s.*)?$", "", line).rstrip()


def readme_commands(text: str) -> list[str]:
    """Shell commands of the ```bash blocks, continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for raw in block.splitlines():
            line = _strip_comment(raw.strip()) if not raw.strip().startswith("#") else ""
            if not line:
                continue
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            commands.append((pending + line).strip())
            pending = ""
    return commands


def _first_line_job(command: str) -> str:
    """The README's first line is set-up (what CI runs) && the main job; return the job."""
    parts = [p.strip() for p in command.split("&&")]
    assert tuple(parts[: len(SETUP_PARTS)]) == SETUP_PARTS, parts
    return " && ".join(parts[len(SETUP_PARTS) :])


def classified_commands() -> list[str]:
    cmds = readme_commands(README.read_text(encoding="utf-8"))
    out = []
    for c in cmds:
        if c.startswith("python3.11 -m venv"):
            c = _first_line_job(c)
        elif c.startswith(". .venv/bin/activate && "):
            c = c.removeprefix(". .venv/bin/activate && ")
        out.append(c)
    return out


def test_every_readme_command_is_classified():
    cmds = classified_commands()
    unknown = [c for c in cmds if c not in COMMANDS]
    stale = [c for c in COMMANDS if c not in cmds]
    assert not unknown, f"README commands the suite does not run (classify them): {unknown}"
    assert not stale, f"classified commands no longer in the README: {stale}"


def test_ci_runs_the_readme_setup_and_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    first = readme_commands(README.read_text(encoding="utf-8"))[:2]
    setup = " && ".join(SETUP_PARTS)
    assert first[0].startswith(setup), first[0]
    assert setup.replace("pip install -e", "pip install -q -e") in ci or setup in ci
    assert ". .venv/bin/activate && pytest" in ci


def _newest(pattern: str, cwd: Path) -> str:
    found = sorted(cwd.glob(pattern), key=lambda p: p.stat().st_mtime)
    assert found, f"no {pattern} in {cwd}: the command that makes it did not run first"
    return str(found[-1].relative_to(cwd))


def _newest_panel_run(cwd: Path) -> str:
    """The newest train run whose data config names data.series (a panel)."""
    runs = sorted(cwd.glob("outputs/train/runs/*/config_resolved.yaml"))
    panels = [r.parent for r in runs if re.search(r"^  series:\s*\n?\s*- ", r.read_text(), re.M)]
    assert panels, f"no panel run under {cwd}/outputs/train/runs"
    return str(panels[-1].relative_to(cwd))


def substitute(command: str, cwd: Path) -> str:
    """Replace the README's placeholders with what the user would paste from earlier runs."""
    subs = {
        "outputs/train/runs/<run>": lambda: _newest("outputs/train/runs/*/metrics.json", cwd),
        "outputs/train/multiruns/ablation_groups_<date_time>": lambda: _newest(
            "outputs/train/multiruns/ablation_groups_*", cwd
        ),
        "outputs/train/multiruns/<date_time>": lambda: _newest("outputs/train/multiruns/2*", cwd),
        "<multirun>": lambda: _newest("outputs/train/multiruns/2*", cwd),
        "<run>": lambda: _newest("outputs/train/runs/*/metrics.json", cwd),
        "<panel run>": lambda: _newest_panel_run(cwd),
    }
    for key, value in subs.items():
        if key in command:
            path = value()
            if path.endswith("metrics.json"):
                path = str(Path(path).parent)
            command = command.replace(key, path)
    return command


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPICAST_", "HYDRA_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = env.get("CI", "")
    return env


def run_verbatim(command: str, cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    typed = substitute(command, cwd)
    proc = subprocess.run(
        typed, shell=True, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"README command failed ({proc.returncode}): {typed}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    )
    return proc


def _runs(cwd: Path) -> set[Path]:
    return set(cwd.glob("outputs/*/runs/*")) | set(cwd.glob("outputs/*/multiruns/*/*"))


def check_effect(command: str, cwd: Path, before: set[Path], proc) -> None:
    """Each command leaves what it promises, not just exit 0."""
    new = sorted(_runs(cwd) - before)
    if command.startswith("respicast-simulate"):
        out = re.search(r"out=(\S+)", command).group(1)
        assert (cwd / out / "world.yaml").is_file() and (cwd / out / "truth.parquet").is_file()
    elif command.startswith(("respicast-train -m hparams_search", "respicast-train -m experiment")):
        assert new, "the sweep wrote no job dir"
    elif command.startswith("respicast-train -m"):
        models = re.search(r"model=(\S+)", command).group(1).split(",")
        assert sum((d / "metrics.json").is_file() for d in new) == len(models), new
    elif command.startswith("respicast-train") and "debug=" not in command:
        assert any((d / "metrics.json").is_file() for d in new), new
        assert "AUROC" in proc.stdout
    elif command.startswith("respicast-eval"):
        assert any((d / "metrics.json").is_file() for d in new), new
    elif command.startswith("respicast-report"):
        assert any(any(d.glob("*.md")) for d in new), new
    elif command.startswith("respicast-forecast"):
        assert any((d / "forecast.html").is_file() for d in new), new


def _params(kinds: set[str]):
    # a command shown twice (e.g. in two sections) runs once, at its first place
    cmds = [
        c
        for c in dict.fromkeys(classified_commands())
        if c in COMMANDS and COMMANDS[c].kind in kinds
    ]
    return [pytest.param(c, id=re.sub(r"\W+", "_", c)[:60]) for c in cmds]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One scratch directory per suite: the commands run in README order, as typed."""
    return tmp_path_factory.mktemp("readme_user")


def _run_and_check(command: str, cwd: Path) -> None:
    tier = COMMANDS[command]
    before = _runs(cwd)
    proc = run_verbatim(command, cwd, tier.timeout)
    check_effect(command, cwd, before, proc)


@pytest.mark.parametrize("command", _params({FAST}))
def test_readme_command_fast(command: str, scratch: Path):
    _run_and_check(command, scratch)


@pytest.mark.slow
@pytest.mark.parametrize("command", _params({SLOW}))
def test_readme_command_slow(command: str, scratch: Path):
    _run_and_check(command, scratch)


@pytest.mark.slow
@pytest.mark.parametrize("command", _params({"gpu"}))
def test_readme_command_gpu(command: str, scratch: Path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    _run_and_check(command, scratch)


@pytest.mark.parametrize("command", _params({"repo"}))
def test_readme_command_in_repo(command: str):
    if shutil.which("ruff", path=_env()["PATH"]) is None:
        pytest.fail("ruff is a dev dependency and must be installed")
    run_verbatim(command, REPO, 300)


@pytest.mark.slow
@pytest.mark.parametrize("command", _params({"repo-slow"}))
def test_readme_command_in_repo_slow(command: str):
    run_verbatim(command, REPO, 3600)
