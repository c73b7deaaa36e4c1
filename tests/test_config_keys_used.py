"""Every key of the data/, model/, evaluation/ configs (and eval.yaml's backtest) is read by code.

A static check, since tracing reads is not sound here: the pipeline turns configs into plain dicts
(OmegaConf.to_container) and hashes whole nodes for cache keys, so a recording DictConfig would
lose most reads and count a hash as reading everything. Instead, each composed config is walked:
- a key beside `_target_` must be a parameter of that callable (inspect.signature), which is
  exactly what hydra.utils.instantiate passes it to;
- any other key must be a name the source reads: a string constant equal to it (cfg["q"],
  cfg.get("q")), an attribute (cfg.peak.q), a keyword or parameter name (f(q=...), **cfg into a
  function), or a dataclass field (the typed evaluation config), in src/ (docstrings excluded).
This is necessary, not sufficient (a common name can appear for another reason); the signature
check of instantiated nodes is exact.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import inspect
from functools import cache
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from respicast.cli import CONFIG_DIR

SRC = Path(__file__).parents[1] / "src" / "respicast"
CONF = Path(CONFIG_DIR)

# Read by Hydra's instantiate, not by respicast code.
HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}

# Levels whose keys are labels chosen by the user and iterated over (for name, entry in ...),
# not names any code looks up; their children are checked as usual.
LABEL_LEVELS = ["data.sources.*", "data.sources.*.options.columns.*", "model.members.*"]

# The composed world (conf/world/, as respicast-simulate takes it): the simulator reads it whole,
# zone and effect names are labels, and its keys are not data keys.
SKIPPED = ["data.world.config.*"]

# Keys beside a `_target_` that code reads instead of passing them on (path pattern: who reads it).
NOT_ARGUMENTS = {
    "model.name": "the run's label; training.instantiate_model pops it before instantiating",
    "model.members.*.name": "an ensemble member's label, read as model.name is",
}


def _not_argument(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pat) for pat in NOT_ARGUMENTS)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml") if not p.stem.startswith("_"))


@cache
def _compose(config: str, overrides: tuple[str, ...]) -> dict:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config, overrides=[*overrides, "paths.root_dir=/nonexistent"])
    return OmegaConf.to_container(cfg, resolve=False)


@cache
def names_read_in_src() -> frozenset[str]:
    """String constants (not docstrings), attributes, keyword/parameter names and class fields."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings:
                    names.add(node.value)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return frozenset(names)


@cache
def _parameters(target: str) -> tuple[frozenset[str], bool]:
    module, _, attr = target.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    params = inspect.signature(obj).parameters.values()
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return frozenset(p.name for p in params), var_kw


def _walk(node, path: str, target: str | None = None):
    """(dotted path, key, the `_target_` of the mapping holding it or None) for every key."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, f"{path}[]", None)
        return
    if not isinstance(node, dict):
        return
    here = node.get("_target_")
    for key, value in node.items():
        yield f"{path}.{key}", str(key), here
        yield from _walk(value, f"{path}.{key}", None)


def unused_keys(cfg: dict, root: str) -> list[str]:
    """Dotted paths of the keys under cfg (the node at `root`) that no code reads."""
    read = names_read_in_src()
    out = []
    for path, key, target in _walk(cfg, root):
        parent = path.rsplit(".", 1)[0]
        if key in HYDRA_KEYS or key == "defaults":
            continue
        if any(fnmatch.fnmatchcase(path, pat) for pat in LABEL_LEVELS):
            continue
        if any(fnmatch.fnmatchcase(path, pat) for pat in SKIPPED):
            continue
        if target is not None and not _not_argument(path):
            params, var_kw = _parameters(target)
            if key in params or (var_kw and key in read):
                continue
            out.append(f"{path} (not a parameter of {target}, under {parent})")
        elif key not in read and not _not_argument(path):
            out.append(path)
    return out


def _cases() -> list[tuple[str, list[str], list[str]]]:
    """Each model option once, each data and evaluation option at least once (compose is slow)."""
    data, models, evals = _options("data"), _options("model"), _options("evaluation")
    n = max(len(data), len(models), len(evals))
    cases = [
        (
            "train",
            [
                f"model={models[i % len(models)]}",
                f"data={data[i % len(data)]}",
                f"evaluation={evals[i % len(evals)]}",
            ],
            ["data", "model", "evaluation"],
        )
        for i in range(n)
    ]
    return [*cases, ("eval", ["mode=backtest"], ["backtest"])]


CASES = _cases()


@pytest.mark.parametrize(
    ("config", "overrides", "nodes"), CASES, ids=[",".join(c[1]) for c in CASES]
)
def test_every_config_key_is_read(config, overrides, nodes):
    cfg = _compose(config, tuple(overrides))
    unused = {node: unused_keys(cfg[node], node) for node in nodes}
    assert unused == {node: [] for node in nodes}


def test_checker_flags_an_unread_key_and_a_wrong_parameter():
    cfg = _compose("train", ("model=logistic",))
    model = {**cfg["model"], "n_lagz": 3}
    data = {**cfg["data"], "peak": {**cfg["data"]["peak"], "quantile_of_doom": 1}}
    assert unused_keys(model, "model") == [
        "model.n_lagz (not a parameter of respicast.models.baselines.LogisticBaseline, under model)"
    ]
    assert unused_keys(data, "data") == ["data.peak.quantile_of_doom"]


def test_every_data_subconfig_is_composed():
    """A file under conf/data/<group>/ that no data config composes is never read (as the ICD-10
    rules once were): each must be named by some conf/data/*.yaml defaults list."""
    composed = set()
    for path in (CONF / "data").glob("*.yaml"):
        for entry in OmegaConf.load(path).get("defaults") or []:
            if isinstance(entry, str) or len(entry) != 1:
                continue
            ((group, option),) = OmegaConf.to_container(entry).items()
            composed.add(f"{group.split('@')[0]}/{option}")
    files = {f"{p.parent.name}/{p.stem}" for p in (CONF / "data").glob("*/*.yaml")}
    assert files and sorted(files - composed) == []
