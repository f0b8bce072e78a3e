"""Request bodies read in time and within their size: ``RequestBodies``, a pure ASGI middleware.

Every read of a request's body waits at most the read timeout for the next bytes: a client
that stops sending gets a 408 and its connection is closed (an upload that stalls stores
nothing). Bodies are at most ``max_bytes`` (413): a ``Content-Length`` over the limit is refused
at the first read, before any byte is taken, and a chunked body as soon as the bytes counted
go past it, so no route ever holds more. Streamed uploads, which never hold their body whole,
lift the limit (``lift_body_limit``) before they read.

Both refusals are raised from the read as ``HTTPException``: FastAPI passes them on from its
body parsing, and an upload's store call sees them as a broken source; the app's error
handlers answer them in the API's error shape (``server/errors.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.settings import SERVER_MAX_BODY_ENV, SERVER_READ_TIMEOUT_ENV

SCOPE_KEY = "runyard.body"
"""Where the state of a request's body is kept in its ASGI scope."""


@dataclass(slots=True)
class _Body:
    limit: int | None
    """The most bytes the body may have (None: no limit)."""
    declared: int | None
    """Its ``Content-Length`` (None: chunked, or none)."""
    done: bool
    """All of it has arrived (or there is none): later reads only wait for a disconnect."""
    received: int = 0


class RequestBodies:
    """ASGI middleware: request bodies at most ``max_bytes`` long (413) whose bytes never stop
    arriving for ``read_timeout`` seconds (408)."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        body = _Body(self.max_bytes, declared, done=not chunked and not declared)
        scope[SCOPE_KEY] = body

        async def checked_receive() -> Message:
            if body.done:  # a streamed download waits here for the disconnect, untimed
                return await receive()
            self._check_size(body, body.declared or 0)
            try:
                with anyio.fail_after(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    408,
                    f"The request body sent nothing for {self.read_timeout:g} s; the server "
                    f"gave up on it and stored nothing ({SERVER_READ_TIMEOUT_ENV}). Send it "
                    "again.",
                ) from None
            if message["type"] == "http.request":
                body.received += len(message.get("body", b""))
                body.done = not message.get("more_body", False)
                self._check_size(body, body.received)
            else:
                body.done = True
            return message

        await self.app(scope, checked_receive, send)

    def _check_size(self, body: _Body, size: int) -> None:
        if body.limit is not None and size > body.limit:
            raise HTTPException(
                413,
                f"The request body is larger than {body.limit} bytes, the most this server "
                f"takes ({SERVER_MAX_BODY_ENV}); nothing was done. Send less in one request.",
            )


def lift_body_limit(request: Request) -> None:
    """No size limit for the body of ``request`` (a streamed upload), if not read yet."""
    body = request.scope.get(SCOPE_KEY)
    if isinstance(body, _Body):
        body.limit = None


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length, chunked) of the request; the server checked they make sense."""
    headers = Headers(scope=scope)
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    try:
        declared = int(headers["content-length"]) if "content-length" in headers else None
    except ValueError:
        declared = None
    return declared, chunked
