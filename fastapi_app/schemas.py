"""Request and response models of the FastAPI twin: the validation *is* the declaration.

Compare with flask_app/schemas.py: the same rules, written as marshmallow schemas that the
Flask views call by hand. The limits are those of the settings an app was created with:
``request_models(settings)`` makes that app's request models.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from shared.config import Settings
from shared.documents import (
    FLOAT32_MAX,
    ID_PATTERN,
    NOT_ALL_ZERO,
    NOT_BLANK_PATTERN,
    OUT_OF_FLOAT32,
)

__all__ = [
    "RequestModels",
    "request_models",
    "Hit",
    "SearchResponse",
    "DocumentOut",
    "CreatedOut",
    "BatchCreatedOut",
    "HealthOut",
    "JobAcceptedOut",
    "JobStatusOut",
    "RowErrorOut",
    "ID_PATTERN",
]

# strict: "5" is not an int (but 5.0 is, see Integer); extra="forbid": a misspelt field is
# an error, not silently ignored; str_strip_whitespace: "   " is too short, not a query.
STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


def _within_float32(value: float) -> float:
    if abs(value) > FLOAT32_MAX:
        raise PydanticCustomError(*OUT_OF_FLOAT32)
    return value


# The document states the float32 range the validator enforces (in its own words).
FiniteFloat = Annotated[
    float,
    Field(allow_inf_nan=False, json_schema_extra={"minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX}),
    AfterValidator(_within_float32),
]


def _integral_float_to_int(value: Any) -> Any:
    # JSON Schema counts 14.0 as an integer, and the OpenAPI document says "integer": so
    # does this twin. Strict mode still refuses "14", True and 14.5.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Stripped first (STRICT), then counted: a string of white space is too short. The pattern
# never fails after that; it is how the document says "not blank".
NotBlank = Field(pattern=NOT_BLANK_PATTERN)


class RequestModels(NamedTuple):
    """The request models of one app, in flask_app/schemas.py's order."""

    SearchRequest: type[BaseModel]
    VectorSearchRequest: type[BaseModel]
    DocumentIn: type[BaseModel]
    DocumentBatchIn: type[BaseModel]
    IngestDocuments: TypeAdapter[list[Any]]  # /ingest reads its own body


@lru_cache(maxsize=8)
def request_models(limits: Settings) -> RequestModels:
    """The request models that enforce the limits of ``limits`` (an app's settings).

    pydantic fixes a Field's limits when its model class is made, so each set of limits gets
    classes of its own (cached: settings are frozen, hence hashable).
    """
    tag_chars = Field(min_length=1, max_length=limits.max_tag_chars)
    tag_count = Field(max_length=limits.max_tags)
    top_k_range = Field(ge=1, le=limits.max_top_k)
    TopK = Annotated[int, top_k_range, BeforeValidator(_integral_float_to_int)]
    Tags = Annotated[list[Annotated[str, tag_chars, NotBlank]], tag_count]

    class SearchRequest(BaseModel):
        model_config = STRICT

        query: Annotated[str, NotBlank] = Field(min_length=1, max_length=limits.max_query_chars)
        top_k: TopK = limits.default_top_k
        tags: Tags = []

    class VectorSearchRequest(BaseModel):
        model_config = STRICT

        vector: list[FiniteFloat] = Field(
            min_length=limits.embedding_dimension,
            max_length=limits.embedding_dimension,
            # Enforced by the core (a 422 naming the vector); stated here.
            json_schema_extra=NOT_ALL_ZERO,
        )
        top_k: TopK = limits.default_top_k
        tags: Tags = []

    class DocumentIn(BaseModel):
        model_config = STRICT

        id: str | None = Field(default=None, pattern=ID_PATTERN)
        title: str = Field(default="", max_length=limits.max_title_chars)
        text: Annotated[str, NotBlank] = Field(min_length=1, max_length=limits.max_text_chars)
        tags: Tags = []

    class DocumentBatchIn(BaseModel):
        model_config = STRICT

        documents: list[DocumentIn] = Field(min_length=1, max_length=limits.max_batch)

    # Any items: the job checks each one as a document (the document says so).
    IngestDocuments = TypeAdapter(
        Annotated[list[Any], Field(min_length=1, max_length=limits.max_ingest_documents)]
    )
    return RequestModels(
        SearchRequest, VectorSearchRequest, DocumentIn, DocumentBatchIn, IngestDocuments
    )


class Hit(BaseModel):
    id: str
    score: float
    title: str
    text: str


class SearchResponse(BaseModel):
    results: list[Hit]
    took_ms: float


class DocumentOut(BaseModel):
    id: str
    title: str
    text: str
    tags: list[str]
    created_at: int


class CreatedOut(BaseModel):
    id: str


class BatchCreatedOut(BaseModel):
    ids: list[str]


class HealthOut(BaseModel):
    status: str
    documents: int
    model: str
    runtime: str
    milvus: str


class JobAcceptedOut(BaseModel):
    job_id: str
    status_url: str


class RowErrorOut(BaseModel):
    line: int
    reason: str


class JobStatusOut(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    total: int
    processed: int
    failed: int
    errors: list[RowErrorOut]
    message: str | None = None
