"""Development cost, measured from the source: lines of validation, serialisation and API-docs
code in each twin (``flask_app/`` against ``fastapi_app/``).

Rules (the report quotes them): blank lines, comments and docstrings never count. A class
deriving from a marshmallow ``Schema`` or a pydantic ``BaseModel`` counts whole as
validation. Any other line counts in the first category whose pattern it matches (docs
before serialisation before validation), and a file named like ``openapi.py``/``docs.py``
counts whole as docs. Everything else is "other"; the total is every counted line.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import asdict
from pathlib import Path

from bench.results import AppCost
from shared.config import PROJECT_ROOT

__all__ = ["count_app", "count_devcost", "format_devcost"]

MODEL_BASES = {"Schema", "BaseModel", "SQLModel"}
PATTERNS = {
    "docs": re.compile(
        r"apispec|APISpec|openapi|swagger|redoc|docs_url|summary=|description=|"
        r"responses=|tags=\[|spec\.path|spec\.components|@doc\b"
    ),
    "serialisation": re.compile(
        r"jsonify|\.dump\(|\.dumps\(|to_json|response_model|JSONResponse|model_dump|"
        r"status_code=|make_response"
    ),
    "validation": re.compile(
        r"ValidationError|RequestValidationError|\.load\(|\.validate\(|@validates|"
        r"field_validator|model_validator|Field\(|fields\.|validate\.|Annotated\[|Query\(|"
        r"Body\(|Path\(|File\(|Form\(|UploadFile|conint|constr|\b422\b"
    ),
}
DOCS_FILES = re.compile(r"(openapi|docs|apidoc|swagger)\w*\.py$")


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


def _model_lines(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = {
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            }
            if names & MODEL_BASES or any(n.endswith("Schema") for n in names):
                out.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return out


def count_app(directory: Path) -> AppCost:
    cost = AppCost(directory.name)
    for path in sorted(directory.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        try:
            code = _code_lines(source)
            models = _model_lines(ast.parse(source))
        except (SyntaxError, tokenize.TokenError):
            continue
        text = source.splitlines()
        counts = {"total": 0, "validation": 0, "serialisation": 0, "docs": 0}
        whole_docs = bool(DOCS_FILES.search(path.name))
        for number in sorted(code):
            line = text[number - 1] if number <= len(text) else ""
            counts["total"] += 1
            if whole_docs:
                counts["docs"] += 1
            elif number in models:
                counts["validation"] += 1
            else:
                for category, pattern in PATTERNS.items():
                    if pattern.search(line):
                        counts[category] += 1
                        break
        cost.files += 1
        cost.by_file[str(path.relative_to(directory))] = counts
        cost.total += counts["total"]
        cost.validation += counts["validation"]
        cost.serialisation += counts["serialisation"]
        cost.docs += counts["docs"]
    return cost


def count_devcost(root: Path = PROJECT_ROOT) -> dict[str, AppCost]:
    return {app: count_app(root / f"{app}_app") for app in ("flask", "fastapi")}


def format_devcost(result: dict[str, AppCost], *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(
            {k: {**asdict(v), "contract_code": v.contract_code} for k, v in result.items()},
            indent=1,
        )
    rows = ["app       files  total  validation  serialisation  docs  contract code"]
    for name, c in result.items():
        rows.append(
            f"{name:<9} {c.files:>5}  {c.total:>5}  {c.validation:>10}  "
            f"{c.serialisation:>13}  {c.docs:>4}  {c.contract_code:>13}"
        )
    return "\n".join(rows)
