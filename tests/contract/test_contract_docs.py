"""/docs, /redoc and /openapi.json (the contract, issue 3): they work with no internet."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import AppClient


# --- docs: they must work with no internet ----------------------------------------------------
URL_ATTRIBUTE = re.compile(r'(?:src|href|spec-url)="([^"]*)"|url:\s*"([^"]*)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_only_assets_served_by_the_app(client: AppClient, page: str) -> None:
    reply = client.get(page)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    html = reply.text
    assert "://" not in html, "the page must not reference any external URL"
    urls = [a or b for a, b in URL_ATTRIBUTE.findall(html)]
    assert "/openapi.json" in urls
    assets = [url for url in urls if url != "/openapi.json"]
    assert assets, "the page loads its JavaScript from the app"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    for url in assets:
        media = client.get(url).headers["content-type"]
        assert media.startswith(("text/javascript", "text/css")), (url, media)


def test_unknown_docs_asset_answers_404(client: AppClient) -> None:
    reply = client.get("/docs-static/evil.js")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "Not Found"}


def test_openapi_json_is_served(client: AppClient) -> None:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["openapi"].startswith("3.")
