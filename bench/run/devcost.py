"""Development cost, counted from the source: code lines of each twin by what the module does.

Rules (recorded with the counts and quoted by the report): blank lines, comments and
docstrings never count. Each module counts whole in one category, chosen by its file name,
and both twins use the same file names for the same job, so a reader can check every
figure with ``wc`` and their eyes:

* ``schemas.py``: validation (request and response shapes and their rules);
* ``errors.py``: errors (bad input and failures turned into the contract's responses);
* ``openapi.py``: API docs written by hand;
* ``routes.py``: routing (the handlers; what a framework declares there, such as FastAPI's
  ``responses=`` for the docs, counts here);
* ``__init__.py``, ``wsgi.py``, ``asgi.py``: app setup; anything else: other.

Contract code is validation + errors + API docs: what a framework can declare for you.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import asdict
from pathlib import Path

from bench.results import AppCost
from shared.config import PROJECT_ROOT

__all__ = ["count_app", "count_devcost", "format_devcost", "CATEGORIES", "RULES"]

CATEGORIES: dict[str, str] = {
    "schemas.py": "validation",
    "errors.py": "errors",
    "openapi.py": "docs",
    "routes.py": "routing",
    "__init__.py": "setup",
    "wsgi.py": "setup",
    "asgi.py": "setup",
}
RULES = (
    "code lines (no blanks, comments or docstrings) of each twin's modules, each module "
    "whole in one category by its file name: schemas.py validation, errors.py errors, "
    "openapi.py API docs, routes.py routing, __init__/wsgi/asgi setup; contract code = "
    "validation + errors + API docs"
)


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


def count_app(directory: Path) -> AppCost:
    cost = AppCost(directory.name)
    for path in sorted(directory.rglob("*.py")):
        try:
            lines = len(_code_lines(path.read_text(encoding="utf-8")))
        except (SyntaxError, tokenize.TokenError):
            continue
        category = CATEGORIES.get(path.name, "other")
        name = str(path.relative_to(directory))
        cost.files += 1
        cost.total += lines
        cost.by_file[name] = lines
        cost.by_category[category] = cost.by_category.get(category, 0) + lines
    return cost


def count_devcost(root: Path = PROJECT_ROOT) -> dict[str, AppCost]:
    return {app: count_app(root / f"{app}_app") for app in ("flask", "fastapi")}


def format_devcost(result: dict[str, AppCost], *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(
            {k: {**asdict(v), "contract_code": v.contract_code} for k, v in result.items()},
            indent=1,
        )
    columns = ["validation", "errors", "docs", "routing", "setup", "other"]
    rows = [
        f"{'app':<9} {'total':>6} " + " ".join(f"{c:>10}" for c in columns) + f" {'contract':>9}"
    ]
    for name, c in result.items():
        rows.append(
            f"{name:<9} {c.total:>6} "
            + " ".join(f"{c.by_category.get(col, 0):>10}" for col in columns)
            + f" {c.contract_code:>9}"
        )
    return "\n".join(rows + ["", "rules: " + RULES])
