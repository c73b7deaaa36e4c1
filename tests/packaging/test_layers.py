"""Only respicast.cli knows where the configs live: nothing below it imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import respicast

SRC = Path(respicast.__file__).resolve().parent


def _imported(tree: ast.AST, module: str) -> set[str]:
    """Absolute names the module imports (relative imports resolved against its package)."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def cli_importers(root: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if module == "respicast.cli" or module.startswith("respicast.cli."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(
            n == "respicast.cli" or n.startswith("respicast.cli.") for n in _imported(tree, module)
        ):
            bad.append(module)
    return bad


def test_no_module_below_cli_imports_cli():
    assert cli_importers() == []


def test_the_check_sees_a_lazy_import(tmp_path):
    pkg = tmp_path / "respicast" / "world"
    pkg.mkdir(parents=True)
    (pkg / "config.py").write_text("def f():\n    from respicast.cli import CONFIG_DIR\n")
    (pkg / "ok.py").write_text("import respicast.table\n")
    assert cli_importers(tmp_path / "respicast") == ["respicast.world.config"]
