"""The routes of the Flask twin. Compare with fastapi_app/routes.py, line by line.

Every view validates by hand: it calls a marshmallow schema on the body itself and builds
its response itself. Flask serves each request on a worker thread (or process, or
greenlet: the gunicorn worker class decides), so calling the model here blocks only this
request. With search batching on, ``/search`` blocks its thread on the batch it joins.

``build_api(settings)`` makes the views of one app: their schemas enforce the limits of the
settings that app was created with.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from flask_app.body import load_body, read_form, read_json
from flask_app.errors import detail_from
from flask_app.schemas import ID_PATTERN, matches, request_schemas
from shared.config import Settings
from shared.errors import API_KEY_REQUIRED, BackendUnavailable, ValidationFailed
from shared.json_body import form_problems
from shared.messages import document_not_found, job_not_found
from shared.service import SearchService, build_document

__all__ = ["build_api", "get_service", "require_api_key"]

check_document_id = matches(ID_PATTERN)


def get_service() -> SearchService:
    service: SearchService = current_app.extensions["search_service"]
    return service


def require_api_key(view: Callable[..., Any]) -> Callable[..., Any]:
    # Checked before the view reads a byte of its body: a write without the key is a 401,
    # whatever its body (FastAPI needs a route class for that order: see its routes.py).
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not get_service().accepts_api_key(request.headers.get("X-API-Key")):
            return {"detail": API_KEY_REQUIRED}, 401, {"WWW-Authenticate": "ApiKey"}
        return view(*args, **kwargs)

    return guarded


def validate_document_id(doc_id: str) -> str:
    try:
        check_document_id(doc_id)
    except ValidationError as exc:  # carrying pydantic's words
        raise ValidationFailed(detail_from(exc.messages, ("path", "doc_id"))) from exc
    return doc_id


def build_api(settings: Settings) -> Blueprint:
    api = Blueprint("api", __name__)
    # This app's request schemas.
    schemas = request_schemas(settings)
    SearchRequestSchema = schemas.SearchRequestSchema
    VectorSearchRequestSchema = schemas.VectorSearchRequestSchema
    DocumentInSchema = schemas.DocumentInSchema
    DocumentBatchInSchema = schemas.DocumentBatchInSchema
    IngestDocumentsSchema = schemas.IngestDocumentsSchema

    @api.get("/health")
    def health() -> Any:
        service = get_service()
        try:
            # The same two steps as the FastAPI twin: the cached body, else the call that may
            # block (on Milvus, for the one caller that refreshes it). Blocking here holds only
            # this request's worker, so it is called directly.
            return service.cached_health() or service.health()
        except BackendUnavailable as exc:
            return service.unavailable_health(exc), 503

    @api.post("/echo")
    def echo() -> Any:
        return load_body(SearchRequestSchema())

    @api.post("/search")
    def search() -> Any:
        search_request = load_body(SearchRequestSchema())
        result = get_service().search_text(**search_request)
        return result.to_json()

    @api.post("/search/vector")
    def search_vector() -> Any:
        search_request = load_body(VectorSearchRequestSchema())
        result = get_service().search_vector(**search_request)
        return result.to_json()

    @api.post("/documents")
    @require_api_key
    def create_document() -> Any:
        document = load_body(DocumentInSchema())
        [doc_id] = get_service().add_documents([build_document(**document)])
        return {"id": doc_id}, 201

    @api.post("/documents/batch")
    @require_api_key
    def create_documents() -> Any:
        batch = load_body(DocumentBatchInSchema())
        ids = get_service().add_documents([build_document(**doc) for doc in batch["documents"]])
        return {"ids": ids}, 201

    @api.get("/documents/<doc_id>")
    def get_document(doc_id: str) -> Any:
        document = get_service().get_document(validate_document_id(doc_id))
        if document is None:
            return {"detail": document_not_found(doc_id)}, 404
        return document.to_json()

    @api.delete("/documents/<doc_id>")
    @require_api_key
    def delete_document(doc_id: str) -> Any:
        if not get_service().delete_document(validate_document_id(doc_id)):
            return {"detail": document_not_found(doc_id)}, 404
        return Response(status=204)

    @api.post("/ingest")
    @require_api_key
    def ingest() -> Any:
        # One route, two body types: a multipart file, or a JSON list of documents.
        service = get_service()
        if request.mimetype == "multipart/form-data":
            fields, files = read_form()
            upload = files.get("file")
            problems = form_problems([*fields, *files], has_file=upload is not None)
            if upload is None or problems:
                raise ValidationFailed(problems)
            job = service.submit_upload(upload.read(), upload.filename)
        else:
            documents = read_json()
            errors = IngestDocumentsSchema().validate({"documents": documents})
            if errors:
                # The schema wraps the list in a field; the contract's loc is the body itself.
                raise ValidationFailed(detail_from(errors["documents"], ("body",)))
            job = service.submit_documents(documents)
        return {"job_id": job.job_id, "status_url": f"/ingest/{job.job_id}"}, 202

    @api.get("/ingest/<job_id>")
    def ingest_status(job_id: str) -> Any:
        job = get_service().ingest_status(job_id)
        if job is None:
            return {"detail": job_not_found(job_id)}, 404
        return job.to_json()

    return api
