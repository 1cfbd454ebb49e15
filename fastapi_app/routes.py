"""The routes of the FastAPI twin. Compare with flask_app/routes.py, line by line.

Handlers that block (the model, Milvus) are plain ``def``: FastAPI runs them in its
threadpool, so the event loop keeps serving. ``/echo`` touches neither and is ``async def``;
``/health`` is ``async def`` and sends to the pool only the call that may block (its Milvus
refresh, at most one at a time and about once a second). ``/search`` is ``async def`` and
awaits the core: with search batching on, it waits for its batch on the event loop and holds
no thread meanwhile; with it off, the core runs the search in the same threadpool. The
handlers that need the service take it as ``ServiceDep``, an ``async def`` dependency, so
solving it costs no trip to the pool; ``/health``, the framework floor, reads it off the
request (:func:`service_of`), as the Flask view reads it off the app. The write routes check
the API key before their body is read (:func:`require_api_key`, :class:`KeyFirstRoute`), as
the Flask views do.
An ``async def`` handler that called the model directly would stall every other request:
the Milvus Bootcamp text-search server, run on the project's machine (2026-12-04, one
server core), served no more searches a second at 64 connections than at one, because its
``async def`` handlers called the model and Milvus directly.

``add_routes(router, settings)`` makes the handlers of one app, on the app's own router:
their request models enforce the limits of the settings that app was created with. pydantic
fixes a model's limits when the class is made, and FastAPI reads a body's model from its
handler's signature, so each app gets its own models and handlers.
"""

# No `from __future__ import annotations` in this module: FastAPI would look a string
# annotation up in this module's globals, where the models made in add_routes are not.

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar
from weakref import WeakSet

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_app.schemas import (
    BatchCreatedOut,
    CreatedOut,
    DocumentOut,
    HealthOut,
    JobAcceptedOut,
    JobStatusOut,
    SearchResponse,
    request_models,
)
from shared.config import Settings
from shared.docs_ui import SEARCH_UNAVAILABLE, ingest_request_body
from shared.documents import ID_PATTERN
from shared.errors import API_KEY_REQUIRED, BackendUnavailable, BodyUnreadable, ValidationFailed
from shared.json_body import decode_json_body, form_problems
from shared.messages import document_not_found, job_not_found
from shared.service import SearchService, build_document

__all__ = [
    "add_routes",
    "get_service",
    "service_of",
    "ServiceDep",
    "require_api_key",
    "KeyFirstRoute",
]

Handler = TypeVar("Handler", bound=Callable[..., Any])


def service_of(request: Request) -> SearchService:
    service: SearchService = request.app.state.service
    return service


# An ``async def`` dependency: FastAPI runs a plain ``def`` one in its threadpool even for an
# ``async def`` handler, and this one does no I/O.
async def get_service(request: Request) -> SearchService:
    return service_of(request)


ServiceDep = Annotated[SearchService, Depends(get_service)]

# The handlers that take writes, marked by require_api_key. Weak: each app makes its own.
_WRITE_HANDLERS: WeakSet[Callable[..., Any]] = WeakSet()
API_KEY_PARAMETER = {
    "name": "x-api-key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong API key"}
}


def require_api_key(handler: Handler) -> Handler:
    """Marks a write handler: its route checks the X-API-Key header before the body is read.

    The check is made by :class:`KeyFirstRoute`, which also states the header and the 401 in
    the OpenAPI document; the handler itself is left as it is.
    """
    _WRITE_HANDLERS.add(handler)
    return handler


class KeyFirstRoute(APIRoute):
    """A route whose handler is marked by :func:`require_api_key` checks the key first.

    FastAPI reads and parses a route's body before it solves the route's dependencies, so a
    key check made as a dependency would answer a malformed body without the key 422 (and an
    oversized one 413), where the Flask twin, whose views check the key first, answers 401.
    So the check wraps the route's handler, ahead of FastAPI's own steps, and is the only
    one: the route has no dependency for the key.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.checks_api_key = endpoint in _WRITE_HANDLERS
        if self.checks_api_key:
            responses = kwargs.get("responses") or {}
            extra = kwargs.get("openapi_extra") or {}
            kwargs["responses"] = {**responses, **WRITE_RESPONSES}
            kwargs["openapi_extra"] = {
                **extra,
                "parameters": [*extra.get("parameters", []), API_KEY_PARAMETER],
            }
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if not self.checks_api_key:
            return handle

        async def key_first(request: Request) -> Response:
            if not service_of(request).accepts_api_key(request.headers.get("X-API-Key")):
                raise HTTPException(401, API_KEY_REQUIRED, headers={"WWW-Authenticate": "ApiKey"})
            return await handle(request)

        return key_first


DocumentId = Annotated[str, Path(pattern=ID_PATTERN)]

ERROR_503: dict[int | str, dict[str, Any]] = {
    503: {"description": "Milvus is unreachable or did not answer in time"}
}
SEARCH_503: dict[int | str, dict[str, Any]] = {503: SEARCH_UNAVAILABLE}
# FastAPI states a 422 for a route with parameters it validates; /ingest has none (it reads
# its body itself) and states its 422 here, in FastAPI's own words.
INGEST_422: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
}


def add_routes(router: APIRouter, settings: Settings) -> None:
    """The twin's handlers, on ``router``: the app's own (``app.router``), not one included.

    FastAPI 0.165 keeps an included router as a branch that every request walks before it
    reaches a route: measured in process with ``python -m studies.route_cost``, the included
    router cost /health several microseconds more (docs/method.md keeps the figures). Flask
    copies a blueprint's rules into the app's map once, at registration, so the Flask twin
    keeps its blueprint for free.
    """
    # Every route made below is a KeyFirstRoute: those whose handler is marked by
    # require_api_key check the key before their body is read; the others are FastAPI's own.
    router.route_class = KeyFirstRoute
    # This app's request models. Typed Any: mypy takes no class made at run time for a type.
    models = request_models(settings)
    SearchRequest: Any = models.SearchRequest
    VectorSearchRequest: Any = models.VectorSearchRequest
    DocumentIn: Any = models.DocumentIn
    DocumentBatchIn: Any = models.DocumentBatchIn
    IngestDocuments = models.IngestDocuments

    @router.get("/health", response_model=HealthOut, responses=ERROR_503)
    async def health(request: Request) -> Any:
        # The service is read off the request, as the Flask view reads it off the app: no
        # dependency to solve on the framework floor (``python -m studies.route_cost``).
        service = service_of(request)
        try:
            # The same two steps as the Flask twin: the cached body, else the call that may
            # block (on Milvus, for the one caller that refreshes it). The cached body is
            # served on the event loop; only the refresher goes to the pool, one request per
            # expiry (shared/health.py says why that matters to the tail).
            return service.cached_health() or await run_in_threadpool(service.health)
        except BackendUnavailable as exc:
            return JSONResponse(service.unavailable_health(exc), status_code=503)

    @router.post("/echo", response_model=SearchRequest)
    async def echo(search_request: SearchRequest) -> Any:
        return search_request

    @router.post("/search", response_model=SearchResponse, responses=SEARCH_503)
    async def search(search_request: SearchRequest, service: ServiceDep) -> Any:
        result = await service.search_text_async(**search_request.model_dump())
        return result.to_json()

    @router.post("/search/vector", response_model=SearchResponse, responses=ERROR_503)
    def search_vector(search_request: VectorSearchRequest, service: ServiceDep) -> Any:
        result = service.search_vector(**search_request.model_dump())
        return result.to_json()

    @router.post(
        "/documents",
        status_code=201,
        response_model=CreatedOut,
        responses=ERROR_503,
    )
    @require_api_key
    def create_document(document: DocumentIn, service: ServiceDep) -> Any:
        [doc_id] = service.add_documents([build_document(**document.model_dump())])
        return {"id": doc_id}

    @router.post(
        "/documents/batch",
        status_code=201,
        response_model=BatchCreatedOut,
        responses=ERROR_503,
    )
    @require_api_key
    def create_documents(batch: DocumentBatchIn, service: ServiceDep) -> Any:
        ids = service.add_documents([build_document(**doc.model_dump()) for doc in batch.documents])
        return {"ids": ids}

    @router.get(
        "/documents/{doc_id}",
        response_model=DocumentOut,
        responses={404: {"description": "No such document"}, **ERROR_503},
    )
    def get_document(doc_id: DocumentId, service: ServiceDep) -> Any:
        document = service.get_document(doc_id)
        if document is None:
            return JSONResponse({"detail": document_not_found(doc_id)}, status_code=404)
        return document.to_json()

    @router.delete(
        "/documents/{doc_id}",
        status_code=204,
        responses={404: {"description": "No such document"}, **ERROR_503},
    )
    @require_api_key
    def delete_document(doc_id: DocumentId, service: ServiceDep) -> Response:
        if not service.delete_document(doc_id):
            return JSONResponse({"detail": document_not_found(doc_id)}, status_code=404)
        return Response(status_code=204)

    @router.post(
        "/ingest",
        status_code=202,
        response_model=JobAcceptedOut,
        openapi_extra={"requestBody": ingest_request_body(settings.max_ingest_documents)},
        responses={**ERROR_503, **INGEST_422},
    )
    @require_api_key
    async def ingest(request: Request, service: ServiceDep) -> Any:
        # One route, two body types: a multipart file, or a JSON list of documents. So this
        # handler reads the body itself; reading the rows and the job run off the event loop.
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            try:
                # As many fields as Werkzeug parses for the Flask twin; each is then refused.
                form = await request.form(max_files=1, max_fields=1000)
            except StarletteHTTPException as exc:  # Starlette's 400 for a form it cannot parse
                if exc.status_code != 400:
                    raise
                raise BodyUnreadable() from exc
            upload = form.get("file")
            problems = form_problems(form.keys(), has_file=isinstance(upload, UploadFile))
            if not isinstance(upload, UploadFile) or problems:
                raise ValidationFailed(problems)
            data = await upload.read()
            job = await run_in_threadpool(service.submit_upload, data, upload.filename)
        else:
            documents = decode_json_body(await request.body(), request.headers.get("content-type"))
            try:
                IngestDocuments.validate_python(documents)
            except ValidationError as exc:
                # The adapter checks the list itself; the contract's loc is the body.
                errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
                raise RequestValidationError(errors) from exc
            job = await run_in_threadpool(service.submit_documents, documents)
        return {"job_id": job.job_id, "status_url": f"/ingest/{job.job_id}"}

    @router.get(
        "/ingest/{job_id}",
        response_model=JobStatusOut,
        response_model_exclude_none=True,
        responses={404: {"description": "No such ingest job"}},
    )
    def ingest_status(job_id: str, service: ServiceDep) -> Any:
        job = service.ingest_status(job_id)
        if job is None:
            return JSONResponse({"detail": job_not_found(job_id)}, status_code=404)
        return job.to_json()
