"""The Flask twin's own wiring: the app factory, the extensions, and the hand-made 422s."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from marshmallow import ValidationError

import flask_app
from flask_app.errors import detail_from
from flask_app.schemas import request_schemas
from shared.config import Settings, get_settings
from shared.service import SearchService

SearchRequestSchema, _, DocumentInSchema, _, _ = request_schemas(get_settings())


class FakeService:
    """Stands in for SearchService where a test only looks at the wiring."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_create_app_keeps_the_given_settings_and_service(
    settings: Settings, service: SearchService
) -> None:
    app = flask_app.create_app(settings, service)
    assert app.extensions["search_service"] is service
    assert app.extensions["settings"] is settings
    assert app.config["MAX_CONTENT_LENGTH"] == settings.max_body_bytes


def test_create_app_builds_its_own_service_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Settings] = []
    fake = FakeService()

    def from_settings(settings: Settings) -> FakeService:
        built.append(settings)
        return fake

    monkeypatch.setattr(flask_app.SearchService, "from_settings", from_settings)
    settings = get_settings(max_body_bytes=4096)
    frozen = gc.get_freeze_count()
    try:
        app = flask_app.create_app(settings)
        # What was loaded is left out of the collector's full sweeps from then on.
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()  # the test session's own objects go back to the collector
    assert built == [settings]
    assert app.extensions["search_service"] is fake
    assert app.config["MAX_CONTENT_LENGTH"] == 4096


def test_two_apps_do_not_share_state(settings: Settings, service: SearchService) -> None:
    first = flask_app.create_app(settings, service)
    second = flask_app.create_app(get_settings(max_body_bytes=2048), service)
    assert first.config["MAX_CONTENT_LENGTH"] != second.config["MAX_CONTENT_LENGTH"]


def test_the_body_limit_follows_the_settings(service: SearchService) -> None:
    app = flask_app.create_app(get_settings(max_body_bytes=2048), service)
    reply = app.test_client().post("/echo", data=b"x" * 2049, content_type="application/json")
    assert reply.status_code == 413
    assert reply.get_json() == {"detail": "request body is larger than the limit of 2048 bytes"}


def test_validation_limits_follow_the_settings(settings: Settings, service: SearchService) -> None:
    small = flask_app.create_app(get_settings(**{**settings.model_dump(), "max_top_k": 5}), service)
    client = small.test_client()
    assert client.post("/search", json={"query": "limits", "top_k": 5}).status_code == 200
    reply = client.post("/search", json={"query": "limits", "top_k": 6})
    assert reply.status_code == 422
    assert reply.get_json() == {
        "detail": [
            {
                "loc": ["body", "top_k"],
                "msg": "Input should be less than or equal to 5",
                "type": "less_than_equal",
            }
        ]
    }
    document = client.get("/openapi.json").get_json()
    assert document["components"]["schemas"]["SearchRequest"]["properties"]["top_k"]["maximum"] == 5
    # An app of the default settings in the same process keeps its own limits.
    default = flask_app.create_app(settings, service).test_client()
    assert default.post("/echo", json={"query": "limits", "top_k": 6}).status_code == 200


def load_errors(schema: Any, body: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        schema.load(body)
    return detail_from(raised.value.messages, ("body",))


def test_marshmallow_errors_come_out_in_pydantic_words() -> None:
    assert load_errors(SearchRequestSchema(), {"query": "", "tags": ["ok", 3], "x": 1}) == [
        {
            "loc": ["body", "query"],
            "msg": "String should have at least 1 character",
            "type": "string_too_short",
        },
        {
            "loc": ["body", "tags", 1],
            "msg": "Input should be a valid string",
            "type": "string_type",
        },
        {"loc": ["body", "x"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"},
    ]


def test_schemas_strip_and_fill_defaults_like_pydantic() -> None:
    assert SearchRequestSchema().load({"query": "  hi  "}) == {
        "query": "hi",
        "top_k": 10,
        "tags": [],
    }
    assert DocumentInSchema().load({"text": " t "}) == {
        "id": None,
        "title": "",
        "text": "t",
        "tags": [],
    }


def test_detail_from_flattens_nested_messages() -> None:
    messages = {
        "documents": {
            0: {"text": {"type": "missing", "msg": "Field required"}},
            "_schema": [{"type": "too_long", "msg": "too long"}],
        }
    }
    assert detail_from(messages, ("body",)) == [
        {"loc": ["body", "documents", 0, "text"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "documents"], "msg": "too long", "type": "too_long"},
    ]
    assert detail_from("plain words", ("body",)) == [
        {"loc": ["body"], "msg": "plain words", "type": "value_error"}
    ]
