"""The core's data types and the rules every document obeys, wherever it comes from.

The apps validate HTTP bodies with their own schemas (pydantic, marshmallow); rows of an
uploaded file are validated here, with the same limits, because a file's rows are data the
core reads, not a request body the framework parses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.config import Settings

__all__ = [
    "ID_PATTERN",
    "FLOAT32_MAX",
    "OUT_OF_FLOAT32",
    "WHITE_SPACE",
    "NOT_BLANK_PATTERN",
    "NOT_ALL_ZERO",
    "NewDocument",
    "Document",
    "SearchHit",
    "SearchResult",
    "RowError",
    "new_document_id",
    "validate_row",
    "tag_filter",
]

# Ids end up in Milvus filter expressions (get, delete): this alphabet needs no quoting.
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_ID_RE = re.compile(ID_PATTERN)

# Milvus stores float32: a larger value becomes infinity and scores become NaN.
FLOAT32_MAX = 3.4028234663852886e38
OUT_OF_FLOAT32 = (
    "finite_number",
    "Input should be a finite number between -3.4e38 and 3.4e38 (a float32)",
)
# What pydantic's str_strip_whitespace strips (Unicode White_Space); Python's str.strip()
# also strips U+001C..U+001F, so the Flask twin strips exactly this set instead.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _class_of(chars: str) -> str:
    """A regex character class body for ``chars``, runs collapsed (``\\u2000-\\u200a``).

    Written as ``\\uXXXX`` escapes, which ECMA-262 (the dialect of OpenAPI's ``pattern``),
    Python's ``re`` and Rust's ``regex`` (pydantic) all read the same way.
    """
    points = sorted(map(ord, chars))
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    parts = []
    for first, last in runs:
        parts.append(f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}")
    return "".join(parts)


# "Not blank" as JSON Schema can say it: at least one character that stripping keeps. The
# twins strip first and then count, so a blank string fails as too short before this pattern
# is ever tried; the pattern is how the OpenAPI documents state that rule.
NOT_BLANK_PATTERN = f"[^{_class_of(WHITE_SPACE)}]"
# A vector with no non-zero component has no direction: cosine similarity is undefined for
# it. In JSON Schema: the array contains an item that is not 0 (0.0 and -0.0 equal 0).
NOT_ALL_ZERO: dict[str, Any] = {"contains": {"not": {"const": 0}}}


def _encodable(value: str) -> bool:
    """False for strings holding lone surrogates, which no UTF-8 consumer accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class NewDocument:
    """A document to store; ``id`` is always set (generated when the client gave none)."""

    id: str
    text: str
    title: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A stored document as returned to clients (never with its vector)."""

    id: str
    title: str
    text: str
    tags: list[str]
    created_at: int  # milliseconds since the epoch

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "tags": self.tags,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    title: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "title": self.title, "text": self.text}


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    took_ms: float

    def to_json(self) -> dict[str, Any]:
        return {"results": [hit.to_json() for hit in self.hits], "took_ms": self.took_ms}


@dataclass(frozen=True)
class RowError:
    """Why one row of an upload was refused; ``line`` counts from 1 (CSV: the header is 1)."""

    line: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class _RowCheck:
    problems: list[str] = field(default_factory=list)

    def require(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def new_document_id() -> str:
    return uuid.uuid4().hex


def validate_row(
    raw: Mapping[str, Any], settings: Settings, *, default_id: str | None = None
) -> NewDocument | str:
    """A valid document, or a sentence that says what is wrong with the row.

    A row without an id gets ``default_id``, or a random one.
    """
    check = _RowCheck()
    unknown = sorted(set(raw) - {"id", "title", "text", "tags"})
    check.require(not unknown, f"unknown fields {unknown}; allowed: id, title, text, tags")

    doc_id = raw.get("id")
    if doc_id in (None, ""):
        doc_id = default_id or new_document_id()
    elif not isinstance(doc_id, str) or not _ID_RE.fullmatch(doc_id):
        check.require(False, "id must be 1-64 characters of A-Z a-z 0-9 _ . -")

    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        check.require(False, "text is required and must not be blank")
    elif len(text) > settings.max_text_chars:
        check.require(False, f"text must be at most {settings.max_text_chars} characters")

    title = raw.get("title") or ""
    if not isinstance(title, str) or len(title) > settings.max_title_chars:
        check.require(
            False, f"title must be a string of at most {settings.max_title_chars} characters"
        )

    tags = raw.get("tags") or []
    if isinstance(tags, str):  # CSV cells: "a|b|c"
        tags = [tag for tag in tags.split("|") if tag]
    if (
        not isinstance(tags, list)
        or len(tags) > settings.max_tags
        or not all(isinstance(tag, str) and 1 <= len(tag) <= settings.max_tag_chars for tag in tags)
    ):
        check.require(
            False,
            f"tags must be a list of at most {settings.max_tags} strings of "
            f"1-{settings.max_tag_chars} characters",
        )
    strings = [value for value in (doc_id, text, title, *tags) if isinstance(value, str)]
    check.require(
        all(_encodable(value) for value in strings),
        "text fields must be valid Unicode (a lone surrogate is not)",
    )
    if check.problems:
        return "; ".join(check.problems)
    assert isinstance(doc_id, str) and isinstance(text, str) and isinstance(title, str)
    return NewDocument(id=doc_id, text=text, title=title, tags=tuple(tags))


_LITERAL_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def quote_string(value: str) -> str:
    """A Milvus string literal that matches exactly ``value``.

    Backslash, double quote, newline, CR and tab are escaped; everything else stays raw.
    Measured on both backends (docs/milvus-backends.md): ``json.dumps`` is not safe here
    (milvus-lite refuses ``\\u`` escapes, Milvus 2.3 mangles escaped emoji), and an
    unescaped quote lets ``zz"]) or not array_contains_any(tags, ["zz`` match every row.
    """
    return '"' + value.translate(_LITERAL_ESCAPES) + '"'


def tag_filter(tags: Sequence[str] | None) -> str:
    """A filter matching documents that carry any of ``tags``; "" for no filter."""
    if not tags:
        return ""
    return f"array_contains_any(tags, [{', '.join(quote_string(tag) for tag in tags)}])"
