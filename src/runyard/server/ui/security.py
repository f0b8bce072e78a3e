"""Headers on every UI answer: what the browser may load and run, and where pages may appear.

Scripts and styles come from the server itself only; no inline script runs, so text that slips
into a page can never execute. ``'unsafe-eval'`` is there for Plotly's WebGL traces (regl builds
its shader code with ``new Function``). Pages cannot be framed by other sites.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from runyard.server.ui.access import UI_PREFIX

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def ui_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(UI_PREFIX):
            headers = response.headers
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Referrer-Policy", "same-origin")
            headers.setdefault("X-Frame-Options", "DENY")
        return response
