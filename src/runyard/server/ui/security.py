"""Headers on every UI answer: what the browser may load and run, and where pages may appear.

Scripts and styles come from the server itself only; no inline script runs, so text that slips
into a page can never execute. ``'unsafe-eval'`` is there for Plotly's WebGL traces (regl builds
its shader code with ``new Function``). Pages cannot be framed by other sites.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.server.ui.access import UI_PREFIX

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

UI_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
"""Set on every answer under /ui unless the route set the header itself."""


class UiHeaders:
    """A pure ASGI middleware (no task, no stream copy per request): answers under /ui get
    ``UI_HEADERS``; every other request passes straight through, so the API's calls pay
    nothing for the UI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(UI_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in UI_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    app.add_middleware(UiHeaders)
