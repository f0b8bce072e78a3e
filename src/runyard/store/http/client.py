"""The client end of the API: requests with retries, errors back as runyard errors, streams.

``ApiClient`` talks to one workspace's routes (``<server>/api/v1/workspaces/<name>``) over one
``httpx.Client``: connections kept alive and pooled, shared by threads, reopened in a forked
child. ``runyard.store.http.store.HttpStore`` maps the Store verbs onto it. Only httpx and ``wire``
are needed here, not the server's dependencies.

Retries, with exponential backoff: a request that never reached the server (connection refused,
connect timeout) is sent again whatever the verb; one that may have reached it (a dropped
connection, 502/503/504) only when the verb is idempotent or the request carries a
request id (``X-Runyard-Request-Id``: the server applies an id once, so sending it again is
harmless). Past the retries, ``ServerUnreachableError``: the HTTP store keeps the change in its
journal then.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, BinaryIO

import httpx

from runyard.errors import (
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RunyardError,
    ServerUnreachableError,
    StoreError,
    UserError,
    WorkspaceConfigError,
    error_class_for_code,
)
from runyard.store import wire

CHUNK_SIZE = 1024 * 1024
_RETRY_STATUSES = frozenset({502, 503, 504})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left: sending it again cannot do anything twice."""
_MAYBE_SENT = (httpx.NetworkError, httpx.RemoteProtocolError)


class Retry(Enum):
    """When a verb's request may be sent again."""

    IF_NOT_SENT = "if-not-sent"  # writes that must not happen twice and carry no request id
    IDEMPOTENT = "idempotent"  # reads, writes whose repetition changes nothing, request ids


class Upload:
    """A request body read from a binary file in chunks; it can start over if nothing was read
    yet or the file can seek back. A failure of the file itself is kept, to be raised as is."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.failure: BaseException | None = None
        self._read = False
        try:
            self._start: int | None = source.tell() if source.seekable() else None
        except OSError:
            self._start = None

    def chunks(self) -> Iterator[bytes]:
        while True:
            try:
                block = self.source.read(CHUNK_SIZE)
            except BaseException as exc:
                self.failure = exc
                raise
            self._read = True
            if not block:
                return
            yield block

    def rewind(self) -> bool:
        """Get ready to send the body again; False if that cannot be done."""
        if not self._read:
            return True
        if self._start is None:
            return False
        self.source.seek(self._start)
        return True


class ApiClient:
    """Requests to the routes under ``base`` (a workspace's API URL), as ``uri`` (for messages).

    ``transport`` replaces httpx's network transport (as ``httpx.Client(transport=...)``): an
    in-process app's transport (starlette's ``TestClient``), say. None: real connections.
    """

    def __init__(
        self,
        base: str,
        uri: str,
        token: str | None,
        timeout: float,
        retries: int,
        backoff: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = base
        self._transport = transport
        self.uri = uri
        self._token = token
        self._timeout = httpx.Timeout(timeout, connect=10.0)
        self._retries = retries
        self._backoff = backoff
        self._pid = os.getpid()
        self._http = self._new_client()

    def _new_client(self) -> httpx.Client:
        headers = {"User-Agent": "runyard-http-store"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        # Idle connections close well before the server's keep-alive timeout (30 s with
        # `runyard server`), so a request is not sent on a connection the server is closing.
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=8, keepalive_expiry=4)
        return httpx.Client(
            headers=headers, timeout=self._timeout, limits=limits, transport=self._transport
        )

    @property
    def _client(self) -> httpx.Client:
        if os.getpid() != self._pid:  # a forked child must not share the parent's sockets
            self._pid, self._http = os.getpid(), self._new_client()
        return self._http

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        retry: Retry,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | Upload | None = None,
        stream: bool = False,
        request_id: str | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send a request and return its response; an error response raises its runyard error.

        Args:
            request_id: sent as ``X-Runyard-Request-Id``; the request is then retried as an
                idempotent one, whatever ``retry`` says.
            retries: how many times to send it again at most (default: the client's).

        Raises:
            ServerUnreachableError: the server could not be reached, or answered 502, 503 or 504,
                after the retries allowed.
            RunyardError: the class named by the error response's code.
        """
        headers = {}
        if request_id is not None:
            headers[wire.REQUEST_ID_HEADER] = request_id
            retry = Retry.IDEMPOTENT
        limit = self._retries if retries is None else retries
        if json is not None:
            content = wire.dumps(json)
            headers["Content-Type"] = wire.JSON_TYPE
        elif content is not None:
            headers["Content-Type"] = wire.BINARY_TYPE
        for attempt in range(limit + 1):
            last = attempt == limit
            body = content.chunks() if isinstance(content, Upload) else content
            try:
                request = self._client.build_request(
                    method, self.base + path, params=params, content=body, headers=headers
                )
            except UnicodeEncodeError as exc:  # a lone surrogate in a parameter: no URL has it
                raise InvalidArgumentError(
                    f"A parameter of this call is not valid Unicode ({exc.reason}: "
                    f"{exc.object[exc.start : exc.end]!r}); it cannot be sent. Nothing was done."
                ) from None
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if isinstance(content, Upload) and content.failure is not None:
                    raise content.failure from None  # the source broke, not the connection
                sent = not isinstance(exc, _NOT_SENT)
                again = not sent or (retry is Retry.IDEMPOTENT and isinstance(exc, _MAYBE_SENT))
                if last or not again or not _rewound(content):
                    raise ServerUnreachableError(
                        f"Cannot reach the runyard server of {self.uri} ({type(exc).__name__}: "
                        f"{exc}). Check that it is running and the tracking URI is right."
                    ) from None
            else:
                if response.status_code < 400:
                    return response
                transient = response.status_code in _RETRY_STATUSES
                if last or not transient or retry is not Retry.IDEMPOTENT or not _rewound(content):
                    error = self._error(response)
                    if transient and retry is Retry.IDEMPOTENT:
                        raise ServerUnreachableError(
                            f"The runyard server of {self.uri} is unavailable (HTTP "
                            f"{response.status_code}): {error.message}"
                        ) from None
                    raise error
                response.close()
            time.sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, *, retry: Retry = Retry.IDEMPOTENT, **kw: Any) -> Any:
        """The JSON body of the response to a request (see ``call``)."""
        return wire.loads(self.call(method, path, retry=retry, **kw).content)

    def download(self, path: str, params: Mapping[str, Any] | None = None) -> BinaryIO:
        """The streamed body of a GET as a binary file; the caller closes it."""
        response = self.call("GET", path, params=params, retry=Retry.IDEMPOTENT, stream=True)
        return io.BufferedReader(_ResponseFile(response), CHUNK_SIZE)

    def _error(self, response: httpx.Response) -> RunyardError:
        """The runyard error an error response stands for (the response is closed)."""
        status = response.status_code
        try:
            raw = response.read()
        except httpx.HTTPError:
            raw = b""
        finally:
            response.close()
        details = None
        try:
            error = wire.loads(raw)["error"]
            code, message = str(error["code"]), str(error["message"])
            details = error.get("details")
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message = "", f"HTTP {status} from {self.uri}: {raw[:300]!r}"
        cls = error_class_for_code(code) if code else RunyardError
        if status in (401, 403):  # AuthenticationError, PermissionDeniedError
            if not issubclass(cls, WorkspaceConfigError):
                cls = AuthenticationError if status == 401 else PermissionDeniedError
            return cls(f"{message} (tracking URI {self.uri})")
        if cls is RunyardError:  # a code this runyard does not know: classify by status
            cls = StoreError if status >= 500 else NotFoundError if status == 404 else UserError
        return cls.from_wire(message, details)


def _rewound(content: bytes | Upload | None) -> bool:
    """Whether the body can be sent again (and is ready to be)."""
    return content.rewind() if isinstance(content, Upload) else True


class _ResponseFile(io.RawIOBase):
    """A streamed response body as a read-only file; closing it closes the response."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.iter_bytes(CHUNK_SIZE)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.TransportError as exc:
                raise StoreError(f"The download broke off: {exc}. Try again.") from None
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()
