"""HEAD answered as GET without its body, as HTTP asks of every GET resource.

Werkzeug gives the Flask twin this for free (every GET rule also takes HEAD); FastAPI routes
take only the methods they declare, so a HEAD /health would be a 405 here and a 200 there.
The request runs as a GET, so the headers (Content-Length included) are the GET's; only the
body is dropped on its way out.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
