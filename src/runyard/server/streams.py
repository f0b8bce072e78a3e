"""Bytes in and out without holding them whole: request bodies as files, files as responses.

A store's ``put_artifact`` and ``put_blob`` read a binary file; an upload arrives as an async
stream of chunks. ``UploadSlots.store_upload`` runs the store's call in a worker thread and
hands it a file whose ``read`` pulls the next chunk from the event loop, so a 10 GB upload flows
through in chunks, at the pace the store writes. Downloads go the other way, ``iter_file``
feeding a ``StreamingResponse``.

A client that stops sending must not hold the server (``ServerSettings``). Its body's reads
time out (``bodies.RequestBodies``: the upload's store call sees a broken source and stores
nothing, its reservation released), and ``UploadSlots`` bounds the uploads streamed at once:
each holds a worker thread while it waits for the client, and their threads come from a
limiter of their own, so stalled uploads never take the threads of the other routes (anyio's
default pool of 40). An upload waits for a slot for at most the read timeout, then gets a 503.
Streamed uploads have no size limit (``bodies.lift_body_limit``).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO, TypeVar

import anyio
import anyio.to_thread
from anyio import from_thread
from starlette.requests import ClientDisconnect, Request

from runyard.errors import StoreError
from runyard.server.bodies import lift_body_limit
from runyard.settings import SERVER_MAX_UPLOADS_ENV

T = TypeVar("T")
CHUNK_SIZE = 1024 * 1024


class _BodyFile(io.RawIOBase):
    """A read-only file over a request's body, read from a worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer and not self._done:
            chunk = from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class UploadSlots:
    """At most ``count`` uploads streamed at once, each in a worker thread of its own pool.

    Args:
        count: the uploads at once (``ServerSettings.max_uploads``).
        wait_seconds: how long an upload waits for a slot before it is refused (503).
    """

    def __init__(self, count: int, wait_seconds: float) -> None:
        self.count = count
        self.wait_seconds = wait_seconds
        self._slots = anyio.CapacityLimiter(count)
        # The threads' own limiter: a slot is taken first (with a timeout), so this one never
        # makes anyone wait; it only keeps the uploads' threads out of the default pool.
        self._threads = anyio.CapacityLimiter(count)

    async def store_upload(self, request: Request, call: Callable[[BinaryIO], T]) -> T:
        """``call(file)`` in a worker thread, ``file`` reading the request's body as it arrives.

        Raises:
            StoreError: no slot was free within ``wait_seconds`` (503); nothing was read.
            ClientDisconnect: the client went away before the end of the body; ``call`` saw
                the error and wrote nothing (the store's contract for a broken source).
            HTTPException: 408, the body stopped arriving (``bodies.RequestBodies``); the same.
        """
        acquired = False
        with anyio.move_on_after(self.wait_seconds):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            raise StoreError(
                f"The server is receiving {self.count} uploads already and none ended within "
                f"{self.wait_seconds:g} s ({SERVER_MAX_UPLOADS_ENV}); nothing was stored. "
                "Retry in a moment."
            )
        lift_body_limit(request)
        try:
            raw = _BodyFile(request.stream())
            source = io.BufferedReader(raw, CHUNK_SIZE)

            def run() -> T:
                with source:
                    return call(source)

            return await anyio.to_thread.run_sync(run, limiter=self._threads)
        finally:
            self._slots.release()


def upload_slots(request: Request) -> UploadSlots:
    """The upload slots of the app serving ``request`` (made by ``create_app``)."""
    slots: UploadSlots = request.app.state.uploads
    return slots


def iter_file(stream: BinaryIO) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is closed at the end (or when the client leaves)."""
    with stream:
        while block := stream.read(CHUNK_SIZE):
            yield block


__all__ = ["ClientDisconnect", "UploadSlots", "iter_file", "upload_slots"]
