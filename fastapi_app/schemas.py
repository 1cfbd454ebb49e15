"""Request and response models of the FastAPI twin: the validation *is* the declaration.

Compare with flask_app/schemas.py: the same rules, written as marshmallow schemas that the
Flask views call by hand. The limits are those of the settings an app was created with:
``request_models(settings)`` makes that app's request models.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from shared.config import Settings
from shared.documents import FLOAT32_MAX, ID_PATTERN, OUT_OF_FLOAT32

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

# strict: "5" is not an int and 5.0 is not a valid top_k; extra="forbid": a misspelt field
# is an error, not silently ignored; str_strip_whitespace: "   " is too short, not a query.
STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


def _within_float32(value: float) -> float:
    if abs(value) > FLOAT32_MAX:
        raise PydanticCustomError(*OUT_OF_FLOAT32)
    return value


FiniteFloat = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_within_float32)]


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

    class SearchRequest(BaseModel):
        model_config = STRICT

        query: str = Field(min_length=1, max_length=limits.max_query_chars)
        top_k: Annotated[int, top_k_range] = limits.default_top_k
        tags: Annotated[list[Annotated[str, tag_chars]], tag_count] = []

    class VectorSearchRequest(BaseModel):
        model_config = STRICT

        vector: list[FiniteFloat] = Field(
            min_length=limits.embedding_dimension, max_length=limits.embedding_dimension
        )
        top_k: Annotated[int, top_k_range] = limits.default_top_k
        tags: Annotated[list[Annotated[str, tag_chars]], tag_count] = []

    class DocumentIn(BaseModel):
        model_config = STRICT

        id: str | None = Field(default=None, pattern=ID_PATTERN)
        title: str = Field(default="", max_length=limits.max_title_chars)
        text: str = Field(min_length=1, max_length=limits.max_text_chars)
        tags: Annotated[list[Annotated[str, tag_chars]], tag_count] = []

    class DocumentBatchIn(BaseModel):
        model_config = STRICT

        documents: list[DocumentIn] = Field(min_length=1, max_length=limits.max_batch)

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
