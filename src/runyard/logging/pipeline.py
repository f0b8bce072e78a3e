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
3. ``flush`` puts a marker in a second deque and waits until everything queued before it is
   written: by the flushing thread itself when the writer thread is idle (no thread switch for
   the few points of a short run), else by the writer thread on its next turn. ``complete``,
   ``fail``, ``cancel``, the end of a ``with`` block, ``get_metrics`` and interpreter exit all
   flush.

A failed write is retried with backoff; if it still fails, the points stay queued for the next
flush and the error is raised to the user on the next call (``MetricWriteError``). Only points
the store refuses for good (``errors.is_refusal``: an unknown run, a limit) are dropped, each
chunk judged on its own, and the refusal is raised once, as ``MetricRejectedError``, by the next
``log`` or ``flush`` alike. Whatever a write raises, the flushes waiting for it are released
with the error: ``flush`` never waits on a write that has given up. Memory is bounded: past
``max_pending`` points, ``log`` waits for the writer instead of growing without end.

The writer thread also heartbeats the interactive runs this process keeps alive
(``keep_alive``), every ``heartbeat_seconds``, after the points of that turn: the heartbeat
costs ``log`` nothing. A heartbeat the store cannot take (away, locked) is dropped, as the next
one comes a period later.
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
from runyard.errors import (
    MetricRejectedError,
    MetricWriteError,
    RunNotFoundError,
    RunyardError,
    is_refusal,
)
from runyard.settings import RunnerSettings
from runyard.store.base import Store

FIELDS = 4
"""Slots per point in the queue: series key, value, step, time."""

DEFAULT_INTERVAL_SECONDS = 0.2
DEFAULT_MAX_PENDING = 2_000_000
MAX_POINTS_PER_CHUNK = 100_000
MAX_POINTS_PER_WRITE = 50_000
_RETRY_DELAYS = (0.05, 0.25, 1.0)
FLUSH_CHECK_SECONDS = 0.5
"""How often a waiting ``flush`` makes sure the writer thread is still there."""

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
        heartbeat_seconds: float | None = None,
    ) -> None:
        """
        Args:
            heartbeat_seconds: how often the runs of ``keep_alive`` heartbeat (default:
                ``RunnerSettings.heartbeat_seconds`` of the environment).

        Raises:
            WorkspaceConfigError: the heartbeat setting of the environment is not a number.
        """
        self.store = store
        self.interval = interval
        if heartbeat_seconds is None:
            heartbeat_seconds = RunnerSettings.from_env().heartbeat_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._beating: dict[str, None] = {}
        """The runs to heartbeat, in the order they were kept alive (a dict as ordered set)."""
        self._next_beat = 0.0
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
        self._drain_lock = threading.Lock()
        """Held by whoever writes the queue: the writer thread, or a flush that found it idle."""
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start()
        _live.add(self)

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="runyard-metric-writer", daemon=True
        )
        self._thread.start()

    def _ensure_writer(self) -> None:
        """Start the writer thread again if it is gone (it ends only when the pipeline closes,
        and after a fork, where the child gets a new one)."""
        if not self._closed and (self._thread is None or not self._thread.is_alive()):
            self._start()

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

        Raises the writer's pending failure first (``raise_error``), and waits for the writer
        while ``max_pending`` points are queued. A few bytecodes: it is ``run.log``'s
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
        """Raise the writer's last failure once, as ``flush`` would: ``MetricRejectedError`` for
        points the store refused (dropped), ``MetricWriteError`` otherwise (the points are kept
        and retried)."""
        error, self.error = self.error, None
        self._ensure_writer()
        if error is not None:
            raise self._as_raised(error)

    def _as_raised(self, error: BaseException) -> RunyardError:
        if isinstance(error, MetricRejectedError):
            return error
        raised = MetricWriteError(
            f"Writing metrics to {self.store.uri} failed: {error}. The points are kept in "
            "memory and retried on the next flush; check that the store is reachable."
        )
        raised.__cause__ = error
        return raised

    def keep_alive(self, run_id: str) -> None:
        """Heartbeat ``run_id`` every ``heartbeat_seconds`` from the writer thread, until
        ``release``."""
        self._beating[run_id] = None

    def release(self, run_id: str) -> None:
        """Stop heartbeating ``run_id`` (no-op if it is not kept alive)."""
        self._beating.pop(run_id, None)

    @property
    def kept_alive(self) -> list[str]:
        """The runs this pipeline heartbeats."""
        return list(self._beating)

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
            MetricWriteError: the writer failed (the points are kept and retried), or did not
                finish within the timeout.
            MetricRejectedError: the store refused some points for good; they were dropped.
        """
        self._ensure_writer()
        marker = _Marker()
        self._markers.append(marker)
        if not self._drain_if_idle():
            self._wake.set()  # the writer is busy: it takes the marker on its next turn
        deadline = time.monotonic() + timeout_seconds
        while not marker.done.wait(max(0.0, min(FLUSH_CHECK_SECONDS, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise MetricWriteError(
                    f"Metrics were not all written within {timeout_seconds} s; they are still "
                    "queued and being written. Call flush() again to keep waiting."
                )
            self._ensure_writer()  # a marker not taken yet waits for the new writer
            self._drain_if_idle()  # or is taken here, if no writer has taken it meanwhile
        if marker.error is not None:
            self.error = None
            raise self._as_raised(marker.error)

    def _drain_if_idle(self) -> bool:
        """Write what is queued in the calling thread if no writer is writing now (the writer
        thread is idle, or gone once closed), without waking it and waiting for it: a flush of
        a few points costs no thread switch. Return whether it did; a failure is recorded in
        the markers taken, as the writer thread records it."""
        if not self._drain_lock.acquire(blocking=False):
            return False
        try:
            self._drain()
        except Exception as exc:
            self.error = exc
        finally:
            self._drain_lock.release()
        return True

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
            with self._drain_lock:
                try:
                    self._drain()
                except BaseException as exc:  # never let the thread die silently
                    self.error = exc
            try:
                self._beat()  # without the lock: a flush meanwhile need not wait for it
            except BaseException as exc:
                self.error = exc

    def _drain(self) -> None:
        # Markers first, then the queue's length: every point queued before a marker taken
        # here is in the queue already, so it is written before the marker is released.
        markers = [self._markers.popleft() for _ in range(len(self._markers))]
        failure: BaseException | None = None
        try:
            queue = self._queue
            remaining = len(queue) // FIELDS * FIELDS
            while True:
                # Batches of at most MAX_POINTS_PER_WRITE: freeing a huge batch at once would
                # hold the GIL, and the caller's log() with it, for tens of milliseconds.
                count = min(remaining, MAX_POINTS_PER_WRITE * FIELDS)
                items = list(starmap(queue.popleft, repeat((), count)))  # a C loop
                remaining -= count
                failure = self._write(items) or failure
                if remaining <= 0 or self._retry:  # the store is away: later points wait too
                    break
        except BaseException as exc:
            failure = exc
            raise
        finally:
            # Whatever happened, the flushes waiting are released: with the failure, if any.
            for marker in markers:
                marker.error = failure
                marker.done.set()

    def _write(self, items: list[Any]) -> BaseException | None:
        """Write the chunks kept from a failed turn, then ``items``; return the failure, if any.

        Chunks that could not be written are kept in ``_retry``, whatever the error, except
        those the store refuses for good."""
        if items:
            try:
                self._retry = self._retry + chunk_points(self.series, items)
            except BaseException:
                self._queue.extendleft(reversed(items))  # kept, in order, for the next turn
                raise
        chunks = self._retry
        if not chunks:
            return None
        failure: BaseException | None = None
        for delay in (*_RETRY_DELAYS, None):
            try:
                self.store.log_metrics(chunks)
                self._retry = []
                return None
            except Exception as exc:
                if is_refusal(exc):
                    return self._isolate(chunks)
                failure = exc
            if delay is None:
                break
            time.sleep(delay)
        self.error = failure
        return failure

    def _isolate(self, chunks: list[MetricChunk]) -> BaseException | None:
        """Write the chunks one by one so that one bad chunk cannot hold the others back: drop
        those the store refuses for good, keep the others that fail for the next turn."""
        rejected: list[str] = []
        kept: list[MetricChunk] = []
        failure: BaseException | None = None
        for chunk in chunks:
            try:
                self.store.log_metrics([chunk])
            except Exception as exc:
                if is_refusal(exc):
                    rejected.append(f"{len(chunk.values)} point(s) of {chunk.name!r}: {exc}")
                else:
                    kept.append(chunk)
                    failure = exc
        self._retry = kept
        if rejected:
            failure = MetricRejectedError(
                "The store refused some metrics, which were not written: " + "; ".join(rejected)
            )
        if failure is not None:
            self.error = failure
        return failure

    def _beat(self) -> None:
        """Heartbeat the runs kept alive, if it is time."""
        now = time.monotonic()
        if not self._beating or now < self._next_beat:
            return
        self._next_beat = now + self.heartbeat_seconds
        for run_id in list(self._beating):
            try:
                self.store.heartbeat(run_id)
            except RunNotFoundError:
                self.release(run_id)  # nothing left to keep alive
            except RunyardError:
                pass  # away or locked: dropped; a heartbeat is worth something only on time


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
        pipeline._beating.clear()  # the parent's runs: the parent keeps them alive
        pipeline._thread = None
        pipeline._register_lock = threading.Lock()
        pipeline._drain_lock = threading.Lock()
        if not pipeline._closed:
            pipeline._start()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
