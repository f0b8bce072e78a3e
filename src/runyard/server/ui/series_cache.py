"""Numeric series kept as numpy arrays between chart requests, so that zooming into a
1,000,000-point series does not read and convert it again.

A series is append-only, so its point count identifies what is cached: each request asks the
store for the series' summaries (one cheap query) and reuses the arrays while the count is the
same; a series that grew is read again. The cache holds at most ``MAX_POINTS`` points per
server process (least recently used go first); loads are single-flight, so a page opening two
charts of one long series reads it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from runyard.entities import MetricKind, ValueType
from runyard.server.ui import downsample
from runyard.store import Store

NUMERIC_TYPES = frozenset({ValueType.NUMBER, ValueType.BOOL, ValueType.NONE})
MAX_POINTS = 4_000_000
"""About 100 MB of arrays (values, steps and times: 24 bytes a point)."""


def is_numeric(kind: MetricKind, value_type: ValueType) -> bool:
    """Whether a series draws as a line chart."""
    return kind is MetricKind.VECTOR and value_type in NUMERIC_TYPES


@dataclass(frozen=True, slots=True)
class SeriesArrays:
    """One series of one run as arrays (NaN where a value or step is not a number)."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    values: downsample.Floats
    steps: downsample.Floats
    times: downsample.Floats

    @property
    def count(self) -> int:
        return int(self.values.size)


class SeriesCache:
    """Least-recently-used arrays of numeric series, keyed by workspace, run, name and count."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self._max = max_points
        self._held: OrderedDict[tuple[str, str, str, int], SeriesArrays] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()
        self._load = threading.Lock()

    def series(
        self, workspace: str, store: Store, run_ids: Sequence[str], name: str
    ) -> dict[str, SeriesArrays]:
        """The series ``name`` of each run that has it (by run id), from the cache or the store."""
        counts = {s.run_id: s.count for s in store.list_metric_series(run_ids) if s.name == name}
        found = self._lookup(workspace, name, counts)
        if len(found) == len(counts):
            return found
        with self._load:  # single-flight: another request may have loaded them meanwhile
            found = self._lookup(workspace, name, counts)
            missing = [r for r in counts if r not in found]
            if missing:
                for chunk in store.read_metrics(missing, [name]):
                    numeric = is_numeric(chunk.kind, chunk.value_type)
                    arrays = SeriesArrays(
                        run_id=chunk.run_id,
                        name=chunk.name,
                        kind=chunk.kind,
                        value_type=chunk.value_type,
                        values=downsample.to_numbers(chunk.values) if numeric else _EMPTY,
                        steps=_steps(chunk.steps, len(chunk.values)) if numeric else _EMPTY,
                        times=np.asarray(chunk.times, dtype=np.float64) if numeric else _EMPTY,
                    )
                    found[chunk.run_id] = arrays
                    if numeric:
                        self._keep(workspace, arrays)
        return found

    def _lookup(self, workspace: str, name: str, counts: dict[str, int]) -> dict[str, SeriesArrays]:
        found: dict[str, SeriesArrays] = {}
        with self._lock:
            for run_id, count in counts.items():
                key = (workspace, run_id, name, count)
                held = self._held.get(key)
                if held is not None:
                    self._held.move_to_end(key)
                    found[run_id] = held
        return found

    def _keep(self, workspace: str, arrays: SeriesArrays) -> None:
        if arrays.count > self._max:
            return
        with self._lock:
            for key in [k for k in self._held if k[:3] == (workspace, arrays.run_id, arrays.name)]:
                self._points -= self._held.pop(key).count  # an older count of this series
            self._held[(workspace, arrays.run_id, arrays.name, arrays.count)] = arrays
            self._points += arrays.count
            while self._points > self._max:
                _, dropped = self._held.popitem(last=False)
                self._points -= dropped.count


_EMPTY: downsample.Floats = np.empty(0)


def _steps(steps: Sequence[int | None] | None, count: int) -> downsample.Floats:
    if steps is None:
        return np.full(count, np.nan)
    return np.asarray(steps, dtype=np.float64)  # None becomes NaN


CACHE = SeriesCache()
"""The server process's cache."""
