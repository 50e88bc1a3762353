"""The import graph of ``lib``, read from the source (AST), not from what happens to be imported at run time.

The layers, bottom to top: ``paths``/``io`` and the bottom utilities -> ``datasets`` -> ``preprocess`` ->
``metrics`` -> the learners (``baselines``, ``models``, ``tuning``, ``fusion``, ``anomaly``) -> ``run`` ->
``figures`` -> ``report``, ``runner``, ``score``, ``session``, ``verify``, ``coursework``. A module imports only
modules of its own layer or below, and no import cycle exists between modules (imports under
``if TYPE_CHECKING:`` aside: they are never executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lib import paths

LIB = paths.REPO_ROOT / "lib"

#: Top-level part of lib -> its layer (higher imports lower, never the reverse).
LAYERS = {
    "paths": 0, "io": 0, "progress": 0, "registry": 0,
    "datasets": 1,
    "preprocess": 2,
    "metrics": 3,
    "baselines": 4, "models": 4, "tuning": 4, "fusion": 4, "anomaly": 4, "shortcut": 4,
    "run": 5,
    "figures": 6,
    "report": 7, "runner": 7, "score": 7, "session": 7, "verify": 7, "coursework": 7,
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node but those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of ``lib`` that the file imports at run time (``from lib import x`` names the module x)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "lib"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if base.split(".")[0] != "lib":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    files = sorted(p for p in LIB.rglob("*.py") if "__pycache__" not in p.parts)
    known = {module_name(p) for p in files}
    return {module_name(p): {m for m in imports_of(p, known) if m in known} for p in files}


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        raise AssertionError(f"{module}: no layer assigned; add lib.{top} to LAYERS in tests/test_layers.py")
    return LAYERS[top]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between modules (a parent package importing its own sub-modules aside), or None."""
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt.startswith(node + "."):  # a package re-exporting its sub-modules
                continue
            if state.get(nxt) == 1:
                return trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
            if not state.get(nxt):
                found = visit(nxt, [*trail, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if not state.get(start):
            found = visit(start, [start])
            if found:
                return found
    return None


def test_every_module_of_lib_has_a_layer():
    for module in graph():
        if module != "lib":
            layer(module)


def test_no_module_imports_one_above_it():
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in graph().items()
        if module != "lib"
        for target in targets
        if target != "lib" and layer(target) > layer(module)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle():
    assert find_cycle(graph()) is None, f"import cycle: {' -> '.join(find_cycle(graph()))}"


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """The test's own machinery: a made-up cycle is found, a TYPE_CHECKING import is not an import."""
    assert find_cycle({"lib.a": {"lib.b"}, "lib.b": {"lib.c"}, "lib.c": {"lib.a"}}) == [
        "lib.a",
        "lib.b",
        "lib.c",
        "lib.a",
    ]
    assert find_cycle({"lib.a": {"lib.a.x"}, "lib.a.x": {"lib.b"}}) is None
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lib import run\nfrom lib import io\n"
    )
    modules = sorted(n.module for n in _runtime_nodes(ast.parse(source.read_text())) if isinstance(n, ast.ImportFrom))
    assert modules == ["lib", "typing"]


@pytest.mark.parametrize("module", ["lib.io", "lib.paths", "lib.datasets", "lib.preprocess", "lib.metrics", "lib.run"])
def test_modules_that_train_no_network_do_not_import_tensorflow(module):
    import subprocess
    import sys

    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{module} imports TensorFlow or Keras"
