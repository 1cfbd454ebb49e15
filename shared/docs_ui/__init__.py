"""Interactive API docs that work with no internet: Swagger UI and ReDoc served by the app.

FastAPI's built-in /docs and /redoc pages load their JavaScript from a CDN, and Flask has
none at all; in a workshop room with no network both would be blank. The assets here
(Swagger UI 5 and ReDoc 2, from the drf-spectacular-sidecar distribution, with their
licences) are served by each app under ``STATIC_PREFIX``; the two pages are the same for both.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

__all__ = [
    "STATIC_DIR",
    "STATIC_PREFIX",
    "ASSETS",
    "asset_bytes",
    "SEARCH_UNAVAILABLE",
    "ingest_request_body",
    "swagger_ui_html",
    "redoc_html",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/docs-static"
# file name -> media type; only these files are served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}


@lru_cache(maxsize=len(ASSETS))
def asset_bytes(name: str) -> bytes:
    """One of :data:`ASSETS`, read from disk once per process, not on every request."""
    if name not in ASSETS:
        raise KeyError(name)
    return (STATIC_DIR / name).read_bytes()


def swagger_ui_html(*, title: str, openapi_url: str = "/openapi.json") -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{STATIC_PREFIX}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{STATIC_PREFIX}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{escape(openapi_url)}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


def redoc_html(*, title: str, openapi_url: str = "/openapi.json") -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - ReDoc</title>
</head>
<body>
<redoc spec-url="{escape(openapi_url)}" disable-search-index></redoc>
<script src="{STATIC_PREFIX}/redoc.standalone.js"></script>
</body>
</html>
"""


# POST /ingest takes two body types, which neither framework can infer from the handler:
# both twins describe it with this same OpenAPI fragment. It says what is checked when:
# the request is refused (422) only for what these schemas state; everything else about the
# rows (and about the file's bytes) is checked by the job, which reports it.
def ingest_request_body(max_documents: int) -> dict[str, Any]:
    """The request body of POST /ingest, for an app that takes at most ``max_documents``."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_documents,
                    "items": {
                        "description": (
                            "Any JSON value, accepted as it is: the job checks each item as a "
                            "document (the rules of DocumentIn) and reports an item that is not "
                            "one, by its position from 1, in the job's errors."
                        )
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": (
                                "Any bytes, accepted as they are: the job reads them as UTF-8 "
                                "JSONL (one document object per line) or CSV (a header naming a "
                                "'text' column; optional id, title, tags separated by '|'). A "
                                "file it cannot read makes the job 'failed', saying why; a bad "
                                "line is reported in the job's errors."
                            ),
                        }
                    },
                    "required": ["file"],
                    "additionalProperties": False,
                }
            },
        },
    }


# POST /search answers 503 for a Milvus outage as every endpoint does, and also, with search
# batching on, when too many searches wait for the model: then with Retry-After. Neither
# framework can infer a header from the handler: both twins describe it with this fragment.
SEARCH_UNAVAILABLE: dict[str, Any] = {
    "description": "Milvus is unreachable or did not answer in time; or, with search "
    "batching on, too many searches are waiting for the model (then with Retry-After)",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again; sent when the server is busy",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
