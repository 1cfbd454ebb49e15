"""The routes of the FastAPI twin. Compare with flask_app/routes.py, line by line.

Handlers that block (the model, Milvus) are plain ``def``: FastAPI runs them in its
threadpool, so the event loop keeps serving. ``/echo`` touches neither and is ``async def``;
``/health`` is ``async def`` and sends to the pool only the call that may block (its Milvus
refresh, at most one at a time and about once a second). ``/search`` is ``async def`` and
awaits the core: with search batching on, it waits for its batch on the event loop and holds
no thread meanwhile; with it off, the core runs the search in the same threadpool. Every
handler that needs the service takes it as ``ServiceDep``, an ``async def`` dependency, so
solving it costs no trip to the pool.
An ``async def`` handler that called the model directly would stall every other request:
the Milvus Bootcamp text-search server, run on the project's machine, served the same
few dozen searches a second on one core whatever the concurrency, because its
``async def`` handlers called the model and Milvus directly.

``add_routes(router, settings)`` makes the handlers of one app, on the app's own router:
their request models enforce the limits of the settings that app was created with. pydantic
fixes a model's limits when the class is made, and FastAPI reads a body's model from its
handler's signature, so each app gets its own models and handlers.
"""

# No `from __future__ import annotations` in this module: FastAPI would look a string
# annotation up in this module's globals, where the models made in add_routes are not.

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, Response
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

__all__ = ["add_routes", "get_service", "ServiceDep", "WriteAccess", "KeyFirstRoute"]


# The dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in its
# threadpool even for an ``async def`` handler, and these do no I/O.
async def get_service(request: Request) -> SearchService:
    service: SearchService = request.app.state.service
    return service


ServiceDep = Annotated[SearchService, Depends(get_service)]


async def api_key_header(x_api_key: Annotated[str | None, Header()] = None) -> None:
    """The write routes' optional X-API-Key header, declared here for the OpenAPI document.

    The key itself is checked before this runs, by :class:`KeyFirstRoute`.
    """


WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong API key"}
}


WriteAccess = Depends(api_key_header)


class KeyFirstRoute(APIRoute):
    """A route that declares ``WriteAccess`` checks the API key before its body is read.

    FastAPI reads and parses a route's body before it solves the route's dependencies, so a
    key check made as a dependency would answer a malformed body without the key 422 (and an
    oversized one 413), where the Flask twin, whose views check the key first, answers 401.
    So the check wraps the route's handler, ahead of FastAPI's own steps.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if WriteAccess not in self.dependencies:
            return handle

        async def key_first(request: Request) -> Response:
            service = await get_service(request)
            if not service.accepts_api_key(request.headers.get("X-API-Key")):
                raise HTTPException(401, API_KEY_REQUIRED, headers={"WWW-Authenticate": "ApiKey"})
            return await handle(request)

        return key_first


DocumentId = Annotated[str, Path(pattern=ID_PATTERN)]

ERROR_503: dict[int | str, dict[str, Any]] = {
    503: {"description": "Milvus is unreachable or did not answer in time"}
}
SEARCH_503: dict[int | str, dict[str, Any]] = {503: SEARCH_UNAVAILABLE}


def add_routes(router: APIRouter, settings: Settings) -> None:
    """The twin's handlers, on ``router``: the app's own (``app.router``), not one included.

    FastAPI 0.165 keeps an included router as a branch that every request walks before it
    reaches a route: measured in process with ``python -m studies.route_cost``, the included
    router cost /health several microseconds more (docs/method.md keeps the figures). Flask
    copies a blueprint's rules into the app's map once, at registration, so the Flask twin
    keeps its blueprint for free.
    """
    # Every route made below is a KeyFirstRoute: those that declare WriteAccess check the key
    # before their body is read; the others are FastAPI's own, as they were.
    router.route_class = KeyFirstRoute
    # This app's request models. Typed Any: mypy takes no class made at run time for a type.
    models = request_models(settings)
    SearchRequest: Any = models.SearchRequest
    VectorSearchRequest: Any = models.VectorSearchRequest
    DocumentIn: Any = models.DocumentIn
    DocumentBatchIn: Any = models.DocumentBatchIn
    IngestDocuments = models.IngestDocuments

    @router.get("/health", response_model=HealthOut, responses=ERROR_503)
    async def health(service: ServiceDep) -> Any:
        # ServiceDep, as every route that needs the service: solving it costs /health some
        # microseconds on the event loop (``python -m studies.route_cost`` times the twin's
        # /health), never a trip to the threadpool, since get_service is ``async def``.
        try:
            # The same two steps as the Flask twin: the cached body, else the call that may
            # block (on Milvus, for the one caller that refreshes it). The cached body needs
            # no I/O and is served on the event loop, where a trip to the threadpool would
            # cost more than the answer; only the call that may block goes to the pool.
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
        responses={**ERROR_503, **WRITE_RESPONSES},
        dependencies=[WriteAccess],
    )
    def create_document(document: DocumentIn, service: ServiceDep) -> Any:
        [doc_id] = service.add_documents([build_document(**document.model_dump())])
        return {"id": doc_id}

    @router.post(
        "/documents/batch",
        status_code=201,
        response_model=BatchCreatedOut,
        responses={**ERROR_503, **WRITE_RESPONSES},
        dependencies=[WriteAccess],
    )
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
        responses={404: {"description": "No such document"}, **ERROR_503, **WRITE_RESPONSES},
        dependencies=[WriteAccess],
    )
    def delete_document(doc_id: DocumentId, service: ServiceDep) -> Response:
        if not service.delete_document(doc_id):
            return JSONResponse({"detail": document_not_found(doc_id)}, status_code=404)
        return Response(status_code=204)

    @router.post(
        "/ingest",
        status_code=202,
        response_model=JobAcceptedOut,
        openapi_extra={"requestBody": ingest_request_body(settings.max_ingest_documents)},
        responses={**ERROR_503, **WRITE_RESPONSES},
        dependencies=[WriteAccess],
    )
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
