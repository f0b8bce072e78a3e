"""The buffered metric pipeline: ``run.log`` appends to memory, a thread writes batches.

The write path of a metric:

1. ``Run.log`` checks the value (``values.py``) and appends one tuple to ``MetricPipeline``'s
   deque. That is the whole cost of a call: no lock, no I/O.
2. The writer thread wakes every ``interval`` seconds (or at once on ``flush``), takes everything
   queued, groups it into one ``MetricChunk`` per series and hands all chunks to
   ``Store.log_metrics`` in one transaction.
3. ``flush`` puts a marker in the queue and waits until the writer has written everything before
   it. ``complete``, ``fail``, ``cancel``, the end of a ``with`` block, ``get_metrics`` and
   interpreter exit all flush.

A failed write is retried with backoff; if it still fails, the points stay queued for the next
flush and the error is raised to the user on the next call. Memory is bounded: past
``max_pending`` points, ``log`` waits for the writer instead of growing without end.
"""

from __future__ import annotations

import atexit
import collections
import os
import threading
import time
import weakref
from typing import Any

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.errors import MetricWriteError, RunyardError, StoreError, UserError
from runyard.store.base import Store

Point = tuple[str, str, MetricKind, ValueType, Any, "int | None", float, str]
"""(run_id, name, kind, value type, value, step, time, description)"""

DEFAULT_INTERVAL_SECONDS = 0.2
DEFAULT_MAX_PENDING = 2_000_000
MAX_POINTS_PER_CHUNK = 50_000
_RETRY_DELAYS = (0.05, 0.25, 1.0)

_live: weakref.WeakSet[MetricPipeline] = weakref.WeakSet()


class _Marker:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


def chunk_points(points: list[Point]) -> list[MetricChunk]:
    """Group points into one chunk per (run, series), keeping their order."""
    groups: dict[tuple[str, str], list[Point]] = {}
    for point in points:
        key = (point[0], point[1])
        group = groups.get(key)
        if group is None:
            groups[key] = [point]
        else:
            group.append(point)
    chunks = []
    for (run_id, name), group in groups.items():
        for start in range(0, len(group), MAX_POINTS_PER_CHUNK):
            part = group[start : start + MAX_POINTS_PER_CHUNK]
            vtype = ValueType.NONE
            for point in part:
                if point[3] is not ValueType.NONE:
                    vtype = point[3]
                    break
            steps = [p[5] for p in part]
            chunks.append(
                MetricChunk(
                    run_id=run_id,
                    name=name,
                    kind=part[0][2],
                    value_type=vtype,
                    values=[p[4] for p in part],
                    times=[p[6] for p in part],
                    steps=None if all(s is None for s in steps) else steps,
                    description=part[0][7],
                )
            )
    return chunks


class MetricPipeline:
    """One per store per process; shared by every run that logs through that store."""

    def __init__(
        self,
        store: Store,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.store = store
        self.interval = interval
        self.max_pending = max_pending
        self._queue: collections.deque[Point | _Marker] = collections.deque()
        self.append = self._queue.append
        """Queue one point (the hot path: no checks here, ``Run.log`` did them)."""
        self.error: BaseException | None = None
        self._retry: list[MetricChunk] = []
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start()
        _live.add(self)

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="runyard-metric-writer", daemon=True
        )
        self._thread.start()

    def __len__(self) -> int:
        return len(self._queue)

    # -- caller side ---------------------------------------------------------------------------

    def raise_error(self) -> None:
        """Raise the writer's last failure once (the points it concerned are kept and retried)."""
        error, self.error = self.error, None
        if error is not None:
            raise MetricWriteError(
                f"Writing metrics to {self.store.uri} failed: {error}. The points are kept in "
                "memory and retried on the next flush; check that the store is reachable."
            ) from error

    def wait_for_room(self) -> None:
        """Block while more than ``max_pending`` points wait (bounded memory)."""
        while len(self._queue) > self.max_pending // 2 and not self._closed:
            self._wake.set()
            time.sleep(0.005)
            if self.error is not None:
                self.raise_error()

    def flush(self, timeout_seconds: float = 300.0) -> None:
        """Return once every point queued before the call is written.

        Raises:
            MetricWriteError: the writer failed, or did not finish within the timeout.
        """
        if self._thread is None or not self._thread.is_alive():
            self._start()
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        if not marker.done.wait(timeout_seconds):
            raise MetricWriteError(
                f"Metrics were not all written within {timeout_seconds} s; they are still queued "
                "and being written. Call flush() again to keep waiting."
            )
        if marker.error is not None:
            self.error = None
            if isinstance(marker.error, UserError):
                raise marker.error
            raise MetricWriteError(
                f"Writing metrics to {self.store.uri} failed: {marker.error}. The points are "
                "kept in memory and retried on the next flush."
            ) from marker.error

    def close(self) -> None:
        """Flush, then stop the writer thread."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()
            if self._thread is not None:
                self._thread.join(timeout=5)

    # -- writer side ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._drain()
            except BaseException as exc:  # never let the thread die silently
                self.error = exc

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            points: list[Point] = []
            marker: _Marker | None = None
            popleft = queue.popleft
            while queue:
                item = popleft()
                if type(item) is _Marker:
                    marker = item
                    break
                points.append(item)  # type: ignore[arg-type]
            failure = self._write(points)
            if marker is not None:
                marker.error = failure
                marker.done.set()

    def _write(self, points: list[Point]) -> BaseException | None:
        chunks = self._retry + chunk_points(points) if points else self._retry
        self._retry = []
        if not chunks:
            return None
        failure: BaseException | None = None
        for delay in (*_RETRY_DELAYS, None):
            try:
                self.store.log_metrics(chunks)
                return None
            except RunyardError as exc:
                if isinstance(exc, StoreError):
                    failure = exc
                    if delay is None:
                        break
                    time.sleep(delay)
                    continue
                return self._isolate(chunks, exc)
            except Exception as exc:
                failure = exc
                if delay is None:
                    break
                time.sleep(delay)
        self._retry = chunks
        self.error = failure
        return failure

    def _isolate(self, chunks: list[MetricChunk], first: RunyardError) -> UserError:
        """Write the chunks one by one so that one bad chunk cannot hold the others back."""
        rejected: list[str] = []
        for chunk in chunks:
            try:
                self.store.log_metrics([chunk])
            except RunyardError as exc:
                rejected.append(f"{len(chunk.values)} point(s) of {chunk.name!r}: {exc}")
        error = UserError(
            "The store refused some metrics, which were not written: " + "; ".join(rejected)
            if rejected
            else str(first)
        )
        self.error = error
        return error


def flush_all(timeout_seconds: float = 60.0) -> None:
    """Flush every live pipeline of this process (run at interpreter exit)."""
    for pipeline in list(_live):
        if not pipeline._closed:
            try:
                pipeline.flush(timeout_seconds)
            except RunyardError as exc:
                import sys

                print(f"runyard: {exc}", file=sys.stderr)


def _after_fork_in_child() -> None:
    # The child has a copy of the parent's queue but not its thread: the parent writes those
    # points, so the child starts empty rather than writing them twice.
    for pipeline in list(_live):
        pipeline._queue.clear()
        pipeline._retry = []
        pipeline._thread = None
        if not pipeline._closed:
            pipeline._start()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
