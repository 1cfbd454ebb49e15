"""Reading uploads: JSONL, CSV or a JSON list of documents, into rows the core validates.

Parsing is all-or-nothing only for what makes a file unreadable (not UTF-8, no ``text``
column); a bad row is reported with its line number and the good rows still load.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import IngestError

__all__ = ["ParsedRow", "parse_upload", "parse_json_list"]


@dataclass(frozen=True)
class ParsedRow:
    """One row of an upload: its line number, and its fields or why it could not be read."""

    line: int
    fields: dict[str, Any] | None
    problem: str = ""


def _detect_format(filename: str | None, text: str) -> str:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def parse_upload(data: bytes, filename: str | None) -> list[ParsedRow]:
    """Rows of a JSONL or CSV file; raises IngestError when the file cannot be read at all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"the file is not valid UTF-8 (byte {exc.start}); upload UTF-8 JSONL or CSV"
        ) from exc
    if not text.strip():
        raise IngestError("the file is empty; upload JSONL (one JSON object per line) or CSV")
    if _detect_format(filename, text) == "jsonl":
        return _parse_jsonl(text)
    return _parse_csv(text)


def _parse_jsonl(text: str) -> list[ParsedRow]:
    rows: list[ParsedRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(ParsedRow(number, None, f"not valid JSON ({exc.msg})"))
            continue
        except (ValueError, RecursionError):
            rows.append(ParsedRow(number, None, "not valid JSON"))
            continue
        if isinstance(value, dict):
            rows.append(ParsedRow(number, value))
        else:
            rows.append(ParsedRow(number, None, "each line must be a JSON object"))
    return rows


def _parse_csv(text: str) -> list[ParsedRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    if "text" not in columns:
        raise IngestError(
            f"the CSV header must name a 'text' column (found {columns[:10]}); optional "
            "columns: id, title, tags (separated by '|')"
        )
    rows: list[ParsedRow] = []
    for record in reader:
        # DictReader puts surplus cells under the None key.
        if None in record:
            rows.append(ParsedRow(reader.line_num, None, "more cells than header columns"))
            continue
        fields = {key: value for key, value in record.items() if value not in (None, "")}
        rows.append(ParsedRow(reader.line_num, fields))
    return rows


def parse_json_list(documents: Sequence[Any]) -> list[ParsedRow]:
    """Rows of a JSON list body; ``line`` is the position in the list, from 1."""
    return [
        ParsedRow(index, item)
        if isinstance(item, dict)
        else ParsedRow(index, None, "each document must be a JSON object")
        for index, item in enumerate(documents, start=1)
    ]
