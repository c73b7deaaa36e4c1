"""Behaviour check: `respicast-train`'s metrics.json for every model, before and after a change.

Runs ``python -m respicast.cli.train`` for each model config in two trees -- a git commit checked
out into a temporary worktree, and the current tree -- with the same small, fast settings, and
compares their metrics.json key by key. Exits 1 and lists every difference when any value differs.

    python scripts/check_behaviour.py --ref <commit> [--models lstm tcn] [--out DIR]

Each tree runs with PYTHONPATH=<tree>/src so that tree's respicast is imported (not an editable
install's), and with its own RESPICAST_ROOT so neither reuses the other's data cache. With
``--out``, a model whose metrics.json is already there for the reference is not run again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

OVERRIDES = (
    "data=toulouse_sim_small",
    "logger=none",
    "trainer.max_epochs=2",
    "torch_threads=1",
    "extras.print_config=false",
)
REPO = Path(__file__).resolve().parents[1]
# every model config (conf/model/_*.yaml are shared defaults, not models)
MODELS = sorted(
    p.stem for p in (REPO / "src/respicast/conf/model").glob("*.yaml") if not p.stem.startswith("_")
)


def train(tree: Path, model: str, out: Path) -> dict:
    """metrics.json of one respicast-train run of ``model`` with the code of ``tree``."""
    run_dir = out / model
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        return json.loads(metrics.read_text())
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), RESPICAST_ROOT=str(out / "root"))
    cmd = [sys.executable, "-m", "respicast.cli.train", f"model={model}", *OVERRIDES]
    cmd.append(f"hydra.run.dir={run_dir}")
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: model={model} failed:\n{done.stderr[-3000:]}")
    return json.loads(metrics.read_text())


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def differences(ref: dict, new: dict) -> list[str]:
    """Every key whose value differs (or that only one side has), one line each."""
    out = []
    for key in sorted(set(ref) | set(new)):
        if key not in new:
            out.append(f"{key}: only in the reference ({ref[key]!r})")
        elif key not in ref:
            out.append(f"{key}: only in the current tree ({new[key]!r})")
        elif not _same(ref[key], new[key]):
            out.append(f"{key}: reference {ref[key]!r} vs current {new[key]!r}")
    return out


def checkout(commit: str, where: Path) -> Path:
    """``commit`` in a detached worktree at ``where`` (removed again by the caller)."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), commit],
        check=True,
        capture_output=True,
    )
    return where


def compare(ref_tree: Path, models: list[str], out: Path) -> int:
    """Run both trees for every model; print the differences; the number of differing models."""
    failed = 0
    for model in models:
        if not (ref_tree / "src/respicast/conf/model" / f"{model}.yaml").exists():
            print(f"{model}: new since the reference, nothing to compare", flush=True)
            continue
        ref = train(ref_tree, model, out / "ref")
        new = train(REPO, model, out / "current")
        diff = differences(ref, new)
        status = "identical" if not diff else f"{len(diff)} difference(s)"
        print(f"{model}: {len(ref)} keys, {status}", flush=True)
        for line in diff:
            print(f"  {line}")
        failed += bool(diff)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the git commit to compare against")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary dir)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="respicast-behaviour-"))
    ref_tree = checkout(args.ref, Path(tempfile.mkdtemp(prefix="respicast-ref-")) / "tree")
    try:
        failed = compare(ref_tree, args.models, out.resolve())
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(ref_tree)])
    print(f"{len(args.models) - failed}/{len(args.models)} models identical (runs in {out})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
