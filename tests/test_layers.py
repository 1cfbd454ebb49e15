"""Imports run one way: each package imports only the layers below it, and nothing cycles.

Read from the source with ``ast`` (imports inside functions included), so a lazy import
cannot hide an arrow that runs the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "flask_app", "fastapi_app", "bench", "workshop", "studies")

# Which project modules each layer may import (by prefix). The bench: its data model and
# statistics at the bottom; the plan; the load side; the runner, which drives both; the
# analysis reads only results; the report reads the analysis and results.
ALLOWED: dict[str, tuple[str, ...]] = {
    "shared": ("shared",),
    "flask_app": ("flask_app", "shared"),
    "fastapi_app": ("fastapi_app", "shared"),
    "bench.stats": (),
    "bench.results": ("bench.stats",),
    "bench.plan": ("bench.plan", "bench.results", "bench.stats", "shared"),
    "bench.load": ("bench.load", "bench.results", "bench.stats", "shared"),
    "bench.run": (
        "bench.run",
        "bench.load",
        "bench.plan",
        "bench.results",
        "bench.stats",
        "shared",
    ),
    "bench.analysis": ("bench.analysis", "bench.results", "bench.stats"),
    "bench.report": ("bench.report", "bench.analysis", "bench.results", "bench.stats"),
    "bench.__main__": ("bench",),
    # make examples runs the bench and writes reports into the project's docs/: the top.
    "bench.examples": ("bench", "shared"),
    "bench": ("bench",),  # the package's own __init__
    # The workshop's in-process timer builds the FastAPI twin itself: it sits above the apps.
    "workshop": ("workshop", "bench", "shared", "fastapi_app"),
    # Studies (one-off probes behind a document) may use anything, and nothing uses them.
    "studies": ("studies", "workshop", "bench", "shared", "fastapi_app", "flask_app"),
}
# Third-party packages that belong to one side only (the core owns Milvus and the model).
FORBIDDEN_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "shared": ("flask", "fastapi", "starlette", "marshmallow", "locust"),
    "flask_app": ("pymilvus", "sentence_transformers", "torch", "fastapi", "locust"),
    "fastapi_app": ("pymilvus", "sentence_transformers", "torch", "flask", "locust"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, resolved to dotted names (relative imports too)."""
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")
                parent = parent[: len(parent) - node.level + (1 if is_package else 0)]
                base = ".".join([*parent, base] if base else parent)
            out.add(base)
            # `from bench.report import plots` imports the module bench.report.plots.
            out.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)
    return out


def _project(imported: set[str]) -> set[str]:
    return {m for m in imported if m in MODULES}


def _layer(name: str) -> str:
    return max(
        (layer for layer in ALLOWED if name == layer or name.startswith(layer + ".")), key=len
    )


def _allowed(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_imports_only_the_layers_below_it(name: str) -> None:
    layer = _layer(name)
    imported = _imports(name, MODULES[name])
    wrong = sorted(t for t in _project(imported) if not _allowed(t, ALLOWED[layer]))
    assert not wrong, f"{name} (layer {layer}) imports {wrong}; allowed: {ALLOWED[layer]}"
    top = name.split(".")[0]
    banned = FORBIDDEN_THIRD_PARTY.get(top, ())
    crossing = sorted(t for t in imported if t.split(".")[0] in banned)
    assert not crossing, f"{name} imports {crossing}, which belongs to another side"


def test_no_import_cycles() -> None:
    graph = {name: _project(_imports(name, path)) - {name} for name, path in MODULES.items()}
    # A package importing its own submodules is not a cycle through them.
    for name in graph:
        graph[name] = {
            t
            for t in graph[name]
            if not (MODULES[name].name == "__init__.py" and t.startswith(name + "."))
        }
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_bench_has_at_most_six_top_level_modules() -> None:
    top = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
    assert len(top) <= 6, top
