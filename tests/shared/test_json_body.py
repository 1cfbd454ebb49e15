"""Reading a raw JSON body: the four ways it fails, in the words FastAPI uses for each."""

from __future__ import annotations

import pytest

from shared.errors import BodyUnreadable, ValidationFailed
from shared.json_body import decode_json_body, is_json

JSON = "application/json"


def failure(raw: bytes, content_type: str | None) -> list[dict[str, object]]:
    with pytest.raises(ValidationFailed) as raised:
        decode_json_body(raw, content_type)
    return raised.value.detail


def test_a_json_body_is_decoded() -> None:
    assert decode_json_body(b'[{"text": "caf\xc3\xa9"}]', JSON) == [{"text": "café"}]
    assert decode_json_body(b"{}", "application/merge-patch+json; charset=utf-8") == {}


def test_an_empty_body_is_missing() -> None:
    assert failure(b"", JSON) == [{"loc": ["body"], "msg": "Field required", "type": "missing"}]


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "multipart/form-data"])
def test_a_body_not_declared_as_json_is_not_an_object(content_type: str | None) -> None:
    assert failure(b"[]", content_type) == [
        {
            "loc": ["body"],
            "msg": "Input should be a valid dictionary or object to extract fields from",
            "type": "model_attributes_type",
        }
    ]


def test_malformed_json_names_the_position_of_the_error() -> None:
    assert failure(b'[{"text": }]', JSON) == [
        {"loc": ["body", 10], "msg": "JSON decode error", "type": "json_invalid"}
    ]


@pytest.mark.parametrize("raw", [b'["caf\xe9"]', b"[" * 100_000 + b"]" * 100_000])
def test_a_body_that_is_not_utf8_or_absurdly_nested_is_unreadable(raw: bytes) -> None:
    with pytest.raises(BodyUnreadable, match="There was an error parsing the body"):
        decode_json_body(raw, JSON)


def test_content_types_are_read_like_a_header() -> None:
    assert is_json("Application/JSON; charset=utf-8")
    assert is_json("application/vnd.api+json")
    assert not is_json("application/jsonl")
