"""Every function and method under src/respicast is at most MAX_LINES long (issue 14).

A longer one is allowed only with a ``# long: <reason>`` comment on its def line, on the line
directly above it, or above its decorators, so the reason sits next to the code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "respicast"
MAX_LINES = 60
LONG_COMMENT = re.compile(r"#\s*long:\s*\S")
# (path, qualified name) allowed over the limit without a comment, while being split elsewhere
KNOWN_LONG: set[tuple[str, str]] = set()


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _has_reason(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``# long:`` comment on the def line, the line above it, or the line above its decorators."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    at = {node.lineno, node.lineno - 1, first - 1} - {0}  # 1-based line numbers
    return any(LONG_COMMENT.search(lines[i - 1]) for i in at)


def long_functions(root: Path = SRC, base: Path = REPO) -> list[tuple[str, int, str, int, bool]]:
    """(path relative to ``base``, line, qualified name, length, has a reason) of the long ones."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        rel = path.relative_to(base).as_posix()
        for name, node in _functions(ast.parse(text, filename=str(path))):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_LINES:
                out.append((rel, node.lineno, name, n, _has_reason(lines, node)))
    return out


def test_functions_are_short_or_say_why():
    too_long = [
        f"{rel}:{line} {name} ({n} lines)"
        for rel, line, name, n, reason in long_functions()
        if not reason and (rel, name) not in KNOWN_LONG
    ]
    assert not too_long, (
        f"functions over {MAX_LINES} lines without a '# long: <reason>' comment:\n"
        + "\n".join(too_long)
    )


def test_known_long_entries_are_still_long():
    # an exemption whose function was split (or renamed, or moved) must be deleted
    still_long = {(rel, name) for rel, _, name, _, _ in long_functions()}
    stale = sorted(KNOWN_LONG - still_long)
    assert not stale, f"KNOWN_LONG entries no longer over {MAX_LINES} lines: {stale}"


def test_scan_finds_long_functions_and_reasons(tmp_path):
    # the scanner itself: qualified names, nested defs, and the places the comment may sit
    body = ["x = 1"] * (MAX_LINES - 1)  # + the def line: exactly MAX_LINES, allowed

    def fn(head: list[str], indent: int, extra: int = 0) -> list[str]:
        pad = " " * indent
        return [pad + h for h in head] + [pad + "    " + b for b in body + ["y = 2"] * extra]

    lines = (
        ["class A:"]
        + fn(["def m(self):"], 4, extra=1)
        + fn(["def fits():"], 0)
        + fn(["# long: a table of cases", "@staticmethod", "def f():"], 0, extra=1)
        + fn(["def g():  # long: generated"], 0, extra=1)
        + fn(["# long:", "def h():"], 0, extra=1)  # no reason given
        + ["def outer():", "    def inner():"]
        + ["        x = 1"] * MAX_LINES
    )
    src = tmp_path / "src" / "respicast"
    src.mkdir(parents=True)
    (src / "mod.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = {
        name: (rel, line, n, reason) for rel, line, name, n, reason in long_functions(src, tmp_path)
    }
    n = MAX_LINES + 1
    assert found == {
        "A.m": ("src/respicast/mod.py", 2, n, False),
        "f": ("src/respicast/mod.py", 2 * MAX_LINES + 5, n, True),
        "g": ("src/respicast/mod.py", 3 * MAX_LINES + 6, n, True),
        "h": ("src/respicast/mod.py", 4 * MAX_LINES + 8, n, False),
        "outer": ("src/respicast/mod.py", 5 * MAX_LINES + 9, n + 1, False),
        "outer.inner": ("src/respicast/mod.py", 5 * MAX_LINES + 10, n, False),
    }
