"""Development cost, counted from the source: code lines of each twin by what the module does.

Rules (recorded with the counts and quoted by the report): blank lines, comments and
docstrings never count. Each module counts whole in one category, the one :data:`TWIN_FILES`
gives it: an explicit table per twin, so that moving code from one file to another changes
the count only where the table says, and a new file cannot slip into a category unseen
(tests/bench/test_bench_devcost.py fails while a twin has a file the table does not list).
A reader can check every figure with ``wc`` and their eyes. The categories:

* validation: request and response shapes and their rules (and, in the Flask twin, reading
  the body, which FastAPI does from a handler's signature);
* errors: bad input and failures turned into the contract's responses;
* docs: API docs written by hand;
* routing: the handlers (what a framework declares there, such as FastAPI's ``responses=``
  for the docs, counts here) and what routing the framework lacks;
* setup: the app factory, the server entry point, the routes that serve the docs pages;
* other: the workshop's pitfall switches.

Contract code is validation + errors + API docs: what a framework can declare for you.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from bench.results import AppCost
from shared.config import PROJECT_ROOT

__all__ = [
    "count_app",
    "count_devcost",
    "format_devcost",
    "unlisted_files",
    "CATEGORIES",
    "TWIN_FILES",
    "RULES",
]

CATEGORIES = ("validation", "errors", "docs", "routing", "setup", "other")
# Each twin's modules (paths in the twin's folder) and the category each counts in whole.
TWIN_FILES: dict[str, dict[str, str]] = {
    "flask": {
        "schemas.py": "validation",
        "body.py": "validation",
        "errors.py": "errors",
        "openapi.py": "docs",
        "routes.py": "routing",
        "__init__.py": "setup",
        "wsgi.py": "setup",
        "docs_routes.py": "setup",
    },
    "fastapi": {
        "schemas.py": "validation",
        "errors.py": "errors",
        "routes.py": "routing",
        "head.py": "routing",
        "__init__.py": "setup",
        "asgi.py": "setup",
        "docs_routes.py": "setup",
        "pitfalls.py": "other",
    },
}


def _rules() -> str:
    tables = "; ".join(
        f"{app}: "
        + ", ".join(
            f"{category} {' '.join(p for p, c in files.items() if c == category)}"
            for category in CATEGORIES
            if category in files.values()
        )
        for app, files in TWIN_FILES.items()
    )
    return (
        "code lines (no blanks, comments or docstrings) of each twin's modules, each module "
        f"whole in one category by an explicit table ({tables}); contract code = "
        "validation + errors + API docs"
    )


RULES = _rules()


def _code_lines(source: str) -> set[int]:
    """Line numbers holding code (not blank, comment or docstring)."""
    lines: set[int] = set()
    docstrings: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            end = body[0].end_lineno or body[0].lineno
            docstrings.update(range(body[0].lineno, end + 1))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def count_app(directory: Path, files: dict[str, str]) -> AppCost:
    """The code lines of one twin's modules, by the category ``files`` gives each.

    A module ``files`` does not list counts in ``other`` (and :func:`unlisted_files` names it):
    a run is not lost to a file added since the table was written.
    """
    cost = AppCost(directory.name)
    for path in sorted(directory.rglob("*.py")):
        try:
            lines = len(_code_lines(path.read_text(encoding="utf-8")))
        except (SyntaxError, tokenize.TokenError):
            continue
        name = path.relative_to(directory).as_posix()
        category = files.get(name, "other")
        cost.files += 1
        cost.total += lines
        cost.by_file[name] = lines
        cost.by_category[category] = cost.by_category.get(category, 0) + lines
    return cost


def count_devcost(root: Path = PROJECT_ROOT) -> dict[str, AppCost]:
    return {app: count_app(root / f"{app}_app", files) for app, files in TWIN_FILES.items()}


def _unlisted(app: str, names: Iterable[str]) -> list[str]:
    """Those of ``names``, modules of twin ``app``, that :data:`TWIN_FILES` does not list."""
    files = TWIN_FILES.get(app, {})
    return [name for name in names if name not in files]


def unlisted_files(root: Path = PROJECT_ROOT) -> dict[str, list[str]]:
    """Each twin's modules that :data:`TWIN_FILES` does not list (none, when it is right)."""
    found: dict[str, list[str]] = {}
    for app in TWIN_FILES:
        directory = root / f"{app}_app"
        names = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.py"))
        found[app] = _unlisted(app, names)
    return found


def format_devcost(result: dict[str, AppCost], *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(
            {k: {**asdict(v), "contract_code": v.contract_code} for k, v in result.items()},
            indent=1,
        )
    rows = [
        f"{'app':<9} {'total':>6} " + " ".join(f"{c:>10}" for c in CATEGORIES) + f" {'contract':>9}"
    ]
    for name, c in result.items():
        rows.append(
            f"{name:<9} {c.total:>6} "
            + " ".join(f"{c.by_category.get(col, 0):>10}" for col in CATEGORIES)
            + f" {c.contract_code:>9}"
        )
    unlisted = [
        f"{app} {name}" for app, cost in result.items() for name in _unlisted(app, cost.by_file)
    ]
    if unlisted:
        rows += ["", "not in the table, counted as other: " + ", ".join(unlisted)]
    return "\n".join(rows + ["", "rules: " + RULES])
