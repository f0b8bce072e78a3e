"""The buffered metric pipeline: ``run.log`` appends to memory, a thread writes batches.

The write path of a metric:

1. ``Run.log`` checks the value (``values.py``), looks up the integer key of its series (one
   dict lookup; the first point of a series registers it with ``register``), and extends the
   pipeline's deque with four atoms: ``(key, value, step, time)``. That is the whole cost of a
   call: no lock, no I/O, and no object the garbage collector must track (a queue of a million
   tuples would make every collection walk them, which costs more than everything else).
2. The writer thread wakes every ``interval`` seconds (or at once on ``flush``), takes everything
   queued, slices it into keys, values, steps and times, groups the points of each series into
   one ``MetricChunk`` and hands all chunks to ``Store.log_metrics`` in one transaction.
3. ``flush`` puts a marker in a second deque and waits until the writer has written everything
   queued before it. ``complete``, ``fail``, ``cancel``, the end of a ``with`` block,
   ``get_metrics`` and interpreter exit all flush.

A failed write is retried with backoff; if it still fails, the points stay queued for the next
flush and the error is raised to the user on the next call. Memory is bounded: past
``max_pending`` points, ``log`` waits for the writer instead of growing without end.
"""

from __future__ import annotations

import atexit
import collections
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from itertools import repeat, starmap
from operator import itemgetter
from typing import Any

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.errors import MetricWriteError, RunyardError, StoreError, UserError
from runyard.store.base import Store

FIELDS = 4
"""Slots per point in the queue: series key, value, step, time."""

DEFAULT_INTERVAL_SECONDS = 0.2
DEFAULT_MAX_PENDING = 2_000_000
MAX_POINTS_PER_CHUNK = 100_000
MAX_POINTS_PER_WRITE = 50_000
_RETRY_DELAYS = (0.05, 0.25, 1.0)

_live: weakref.WeakSet[MetricPipeline] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class Series:
    """What a series key stands for."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    description: str


class _Marker:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


def chunk_points(series: list[Series], items: list[Any]) -> list[MetricChunk]:
    """Group a flat run of ``(key, value, step, time)`` slots into one chunk per series,
    keeping the points' order."""
    keys = items[0::FIELDS]
    values = items[1::FIELDS]
    steps = items[2::FIELDS]
    times = items[3::FIELDS]
    if not keys:
        return []
    # Several keys can stand for one series (a series of numbers that also got a None):
    # points are grouped by (run, name), in queue order.
    owner: dict[int, tuple[str, str]] = {}
    best: dict[tuple[str, str], Series] = {}
    for key in set(keys):
        info = series[key]
        target = owner[key] = (info.run_id, info.name)
        current = best.get(target)
        if current is None or current.value_type is ValueType.NONE:
            best[target] = info
    merged: list[tuple[Series, list[Any], list[Any], list[Any]]]
    if len(best) == 1:  # one series: no grouping to do
        merged = [(next(iter(best.values())), values, steps, times)]
    else:
        groups: dict[tuple[str, str], list[int]] = {}
        for index, key in enumerate(keys):
            target = owner[key]
            group = groups.get(target)
            if group is None:
                groups[target] = [index]
            else:
                group.append(index)
        merged = [
            (best[target], _take(values, idx), _take(steps, idx), _take(times, idx))
            for target, idx in groups.items()
        ]
    chunks = []
    for info, all_values, all_steps, all_times in merged:
        for start in range(0, len(all_values), MAX_POINTS_PER_CHUNK):
            end = start + MAX_POINTS_PER_CHUNK
            part_steps = all_steps[start:end]
            chunks.append(
                MetricChunk(
                    run_id=info.run_id,
                    name=info.name,
                    kind=info.kind,
                    value_type=info.value_type,
                    values=all_values[start:end],
                    times=all_times[start:end],
                    steps=None if part_steps.count(None) == len(part_steps) else part_steps,
                    description=info.description,
                )
            )
    return chunks


def _take(source: list[Any], indexes: list[int]) -> list[Any]:
    if len(indexes) == 1:
        return [source[indexes[0]]]
    return list(itemgetter(*indexes)(source))


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
        self._queue_limit = 0
        self.max_pending = max_pending
        self._queue: collections.deque[Any] = collections.deque()
        """Flat slots, ``FIELDS`` per point; ``extend`` it with one point at a time."""
        self.series: list[Series] = []
        self.error: BaseException | None = None
        self._register_lock = threading.Lock()
        self._markers: collections.deque[_Marker] = collections.deque()
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

    @property
    def max_pending(self) -> int:
        """Points that may wait before ``log`` blocks for the writer."""
        return self._queue_limit // FIELDS

    @max_pending.setter
    def max_pending(self, points: int) -> None:
        self._queue_limit = points * FIELDS

    def __len__(self) -> int:
        """Points waiting to be written."""
        return len(self._queue) // FIELDS

    # -- caller side ---------------------------------------------------------------------------

    def append(self, key: int, value: Any, step: int | None, time: float) -> None:
        """Queue one point of series ``key`` (from ``register``): the one way points get in.

        Raises the writer's pending failure first (``MetricWriteError``), and waits for the
        writer while ``max_pending`` points are queued. A few bytecodes: it is ``run.log``'s
        hot path.
        """
        if self.error is not None:
            self.raise_error()
        queue = self._queue
        if len(queue) > self._queue_limit:
            self.wait_for_room()
        queue.extend((key, value, step, time))

    def register(
        self, run_id: str, name: str, kind: MetricKind, value_type: ValueType, description: str
    ) -> int:
        """The key under which points of this series are queued."""
        with self._register_lock:
            self.series.append(Series(run_id, name, kind, value_type, description))
            return len(self.series) - 1

    def raise_error(self) -> None:
        """Raise the writer's last failure once (the points it concerned are kept and retried)."""
        error, self.error = self.error, None
        if error is not None:
            raise MetricWriteError(
                f"Writing metrics to {self.store.uri} failed: {error}. The points are kept in "
                "memory and retried on the next flush; check that the store is reachable."
            ) from error

    def wait_for_room(self) -> None:
        """Block while more than half of ``max_pending`` points wait (bounded memory)."""
        limit = self.max_pending // 2 * FIELDS
        while len(self._queue) > limit and not self._closed:
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
        self._markers.append(marker)
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
        # Markers first, then the queue's length: every point queued before a marker taken
        # here is in the queue already, so it is written before the marker is released.
        markers = [self._markers.popleft() for _ in range(len(self._markers))]
        queue = self._queue
        remaining = len(queue) // FIELDS * FIELDS
        failure: BaseException | None = None
        while True:
            # Batches of at most MAX_POINTS_PER_WRITE: freeing a huge batch at once would hold
            # the GIL, and the caller's log() with it, for tens of milliseconds.
            count = min(remaining, MAX_POINTS_PER_WRITE * FIELDS)
            items = list(starmap(queue.popleft, repeat((), count)))  # a C loop
            remaining -= count
            failure = self._write(items) or failure
            if remaining <= 0 or failure is not None:
                break
        for marker in markers:
            marker.error = failure
            marker.done.set()

    def _write(self, items: list[Any]) -> BaseException | None:
        chunks = self._retry + chunk_points(self.series, items) if items else self._retry
        self._retry = []
        if not chunks:
            return None
        failure: BaseException | None = None
        for delay in (*_RETRY_DELAYS, None):
            try:
                self.store.log_metrics(chunks)
                return None
            except RunyardError as exc:
                if not isinstance(exc, StoreError):
                    return self._isolate(chunks, exc)
                failure = exc
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
                print(f"runyard: {exc}", file=sys.stderr)


def _after_fork_in_child() -> None:
    # The child has a copy of the parent's queue but not its thread: the parent writes those
    # points, so the child starts empty rather than writing them twice.
    for pipeline in list(_live):
        pipeline._queue.clear()
        pipeline._markers.clear()
        pipeline._retry = []
        pipeline._thread = None
        pipeline._register_lock = threading.Lock()
        if not pipeline._closed:
            pipeline._start()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
