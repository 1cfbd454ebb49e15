"""The rules every document obeys: validate_row, with the contract's limits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.config import Settings, get_settings
from shared.documents import ID_PATTERN, NewDocument, validate_row

ID_RULE = "id must be 1-64 characters of A-Z a-z 0-9 _ . -"
TEXT_RULE = "text is required and must not be blank"
TITLE_RULE = "title must be a string of at most 200 characters"
TAGS_RULE = "tags must be a list of at most 10 strings of 1-32 characters"


@pytest.fixture(scope="module")
def limits() -> Settings:
    return get_settings()


def test_a_full_row_becomes_a_document(limits: Settings) -> None:
    raw = {"id": "doc-1.a_B", "title": "Title", "text": "Some text", "tags": ["x", "y"]}
    assert validate_row(raw, limits) == NewDocument(
        id="doc-1.a_B", title="Title", text="Some text", tags=("x", "y")
    )


@pytest.mark.parametrize("raw_id", [None, ""])
def test_a_missing_id_is_generated(limits: Settings, raw_id: str | None) -> None:
    document = validate_row({"id": raw_id, "text": "t"}, limits)
    assert isinstance(document, NewDocument)
    assert re.fullmatch(ID_PATTERN, document.id)
    assert (document.title, document.tags) == ("", ())
    other = validate_row({"text": "t"}, limits)
    assert isinstance(other, NewDocument) and other.id != document.id


def test_csv_tags_are_split_on_pipes(limits: Settings) -> None:
    document = validate_row({"text": "t", "tags": "a|b||c"}, limits)
    assert isinstance(document, NewDocument)
    assert document.tags == ("a", "b", "c")


def test_limits_themselves_are_allowed(limits: Settings) -> None:
    raw = {
        "id": "i" * 64,
        "title": "t" * 200,
        "text": "x" * 10_000,
        "tags": ["g" * 32] * 10,
    }
    assert isinstance(validate_row(raw, limits), NewDocument)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            {"text": "t", "colour": "red", "age": 3},
            "unknown fields ['age', 'colour']; allowed: id, title, text, tags",
        ),
        ({"id": "has space", "text": "t"}, ID_RULE),
        ({"id": "i" * 65, "text": "t"}, ID_RULE),
        ({"id": 5, "text": "t"}, ID_RULE),
        ({"title": "no text"}, TEXT_RULE),
        ({"text": " \n\t "}, TEXT_RULE),
        ({"text": 42}, TEXT_RULE),
        ({"text": "x" * 10_001}, "text must be at most 10000 characters"),
        ({"text": "t", "title": "t" * 201}, TITLE_RULE),
        ({"text": "t", "title": ["a"]}, TITLE_RULE),
        ({"text": "t", "tags": ["t"] * 11}, TAGS_RULE),
        ({"text": "t", "tags": ["t" * 33]}, TAGS_RULE),
        ({"text": "t", "tags": ["ok", 3]}, TAGS_RULE),
        ({"text": "t", "tags": {"a": 1}}, TAGS_RULE),
        ({"text": "t", "tags": "|".join(["t"] * 11)}, TAGS_RULE),
    ],
)
def test_invalid_rows_say_what_is_wrong(limits: Settings, raw: dict[str, Any], reason: str) -> None:
    assert validate_row(raw, limits) == reason


def test_every_problem_of_a_row_is_reported_at_once(limits: Settings) -> None:
    raw = {"id": "bad id", "text": "", "extra": 1}
    assert validate_row(raw, limits) == "; ".join(
        ["unknown fields ['extra']; allowed: id, title, text, tags", ID_RULE, TEXT_RULE]
    )


def test_limits_come_from_the_settings() -> None:
    tight = get_settings(max_text_chars=5, max_tags=1, max_tag_chars=2)
    assert validate_row({"text": "123456"}, tight) == "text must be at most 5 characters"
    assert validate_row({"text": "t", "tags": ["a", "b"]}, tight) == (
        "tags must be a list of at most 1 strings of 1-2 characters"
    )
