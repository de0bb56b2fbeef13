"""The layout rule of DESIGN.md: only ``sdaug/engine/`` imports torch (and the libraries built on
it) at module level; the benchmark (``sdaug/bench/``) drives the engine and imports them inside
its functions, so its options are checked before torch loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sdaug

PACKAGE = Path(sdaug.__file__).parent
HEAVY = ("torch", "diffusers", "transformers", "peft")


def module_level_imports(tree: ast.Module) -> list[str]:
    """Top-level module names imported outside functions and ``if TYPE_CHECKING:`` blocks."""
    names: list[str] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
        elif isinstance(node, ast.If) and not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            pending += [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            pending += [*node.body, *node.orelse, *node.finalbody, *(s for h in node.handlers for s in h.body)]
        elif isinstance(node, ast.ClassDef):
            pending += node.body
    return names


def test_only_the_engine_imports_torch_at_module_level() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "engine":
            continue
        heavy = sorted(set(module_level_imports(ast.parse(path.read_text(encoding="utf-8")))) & set(HEAVY))
        if heavy:
            offenders.append(f"{relative}: {', '.join(heavy)}")
    assert offenders == []


def test_the_benchmark_package_loads_without_torch() -> None:
    code = ("import sys, sdaug.bench.report, sdaug.bench.runner, sdaug.bench.models, sdaug.commands.bench; "
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_the_benchmark_is_not_in_the_engine() -> None:
    assert not list((PACKAGE / "engine").glob("bench*.py"))
