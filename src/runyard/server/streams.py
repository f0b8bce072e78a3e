"""Bytes in and out without holding them whole: request bodies as files, files as responses.

A store's ``put_artifact`` and ``put_blob`` read a binary file; an upload arrives as an async
stream of chunks. ``store_upload`` runs the store's call in a worker thread and hands it a
file whose ``read`` pulls the next chunk from the event loop, so a 10 GB upload flows through
in chunks, at the pace the store writes. Downloads go the other way, ``iter_file`` feeding a
``StreamingResponse``.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO, TypeVar

import anyio
import anyio.to_thread
from anyio import from_thread
from starlette.requests import ClientDisconnect, Request

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


async def store_upload(request: Request, call: Callable[[BinaryIO], T]) -> T:
    """``call(file)`` in a worker thread, ``file`` reading the request's body as it arrives.

    Raises:
        ClientDisconnect: the client went away before the end of the body; ``call`` saw the
            error and wrote nothing (the store's contract for a broken source).
    """
    raw = _BodyFile(request.stream())
    source = io.BufferedReader(raw, CHUNK_SIZE)

    def run() -> T:
        with source:
            return call(source)

    return await anyio.to_thread.run_sync(run)


def iter_file(stream: BinaryIO) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is closed at the end (or when the client leaves)."""
    with stream:
        while block := stream.read(CHUNK_SIZE):
            yield block


__all__ = ["ClientDisconnect", "iter_file", "store_upload"]
