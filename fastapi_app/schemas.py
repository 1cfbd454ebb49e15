"""Request and response models of the FastAPI twin: the validation *is* the declaration.

Compare with flask_app/schemas.py: the same rules, written as marshmallow schemas that the
Flask views call by hand. Limits come from the one settings object.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.config import get_settings
from shared.documents import FLOAT32_MAX, ID_PATTERN, OUT_OF_FLOAT32

__all__ = [
    "SearchRequest",
    "VectorSearchRequest",
    "DocumentIn",
    "DocumentBatchIn",
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

LIMITS = get_settings()

# strict: "5" is not an int and 5.0 is not a valid top_k; extra="forbid": a misspelt field
# is an error, not silently ignored; str_strip_whitespace: "   " is too short, not a query.
STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)

Tag = Annotated[str, Field(min_length=1, max_length=LIMITS.max_tag_chars)]
Tags = Annotated[list[Tag], Field(max_length=LIMITS.max_tags)]
TopK = Annotated[int, Field(ge=1, le=LIMITS.max_top_k)]


def _within_float32(value: float) -> float:
    if abs(value) > FLOAT32_MAX:
        raise PydanticCustomError(*OUT_OF_FLOAT32)
    return value


FiniteFloat = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_within_float32)]


class SearchRequest(BaseModel):
    model_config = STRICT

    query: str = Field(min_length=1, max_length=LIMITS.max_query_chars)
    top_k: TopK = LIMITS.default_top_k
    tags: Tags = []


class VectorSearchRequest(BaseModel):
    model_config = STRICT

    vector: list[FiniteFloat] = Field(
        min_length=LIMITS.embedding_dimension, max_length=LIMITS.embedding_dimension
    )
    top_k: TopK = LIMITS.default_top_k
    tags: Tags = []


class DocumentIn(BaseModel):
    model_config = STRICT

    id: str | None = Field(default=None, pattern=ID_PATTERN)
    title: str = Field(default="", max_length=LIMITS.max_title_chars)
    text: str = Field(min_length=1, max_length=LIMITS.max_text_chars)
    tags: Tags = []


class DocumentBatchIn(BaseModel):
    model_config = STRICT

    documents: list[DocumentIn] = Field(min_length=1, max_length=LIMITS.max_batch)


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
