"""Min/max downsampling of a metric series for the UI's charts, vectorised with numpy.

A window of a series is split into ``buckets`` equal-width x buckets; each bucket keeps its
first, last, minimum and maximum points (with their x), so the line still passes through every
spike and the min/max band covers every value. A window with at most ``FULL_PER_BUCKET`` points
per bucket is returned whole: there the four kept points would be nearly all of them, so full
resolution is both exact and no bigger.

No Python loop runs per point: a million points cost a few numpy passes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.errors import InvalidArgumentError

Floats = npt.NDArray[np.float64]

FULL_PER_BUCKET = 4
"""A window holding at most this many points per bucket is served at full resolution."""
MAX_BUCKETS = 10_000
DEFAULT_BUCKETS = 1_000
_PLAIN_NUMBERS = frozenset({float, int, bool, type(None)})


class XAxis(StrEnum):
    """What a chart's x axis shows."""

    STEP = "step"  # the point's step, or its index in the series when it has none
    RELATIVE = "relative"  # seconds since the run started (or since its first point)
    WALL = "wall"  # POSIX time of the point


@dataclass(frozen=True, slots=True)
class Band:
    """The min/max envelope of a downsampled window: per bucket, its first and last x, each
    with the bucket's minimum and maximum."""

    x: Floats
    min: Floats
    max: Floats


@dataclass(frozen=True, slots=True)
class Window:
    """The points of a window ready to draw."""

    x: Floats
    y: Floats
    band: Band | None
    total: int  # numeric points in the window
    downsampled: bool

    @property
    def returned(self) -> int:
        return int(self.x.size)


def to_numbers(values: Sequence[Any]) -> Floats:
    """The values as float64, NaN where a value is not a finite number (None, a string...).

    Numbers, bools and None convert in one numpy call; a series holding anything else (it
    never should: a series keeps one value type) falls back to a per-value conversion.
    """
    if set(map(type, values)) <= _PLAIN_NUMBERS:
        try:
            return np.asarray(values, dtype=np.float64)
        except OverflowError:  # an int beyond a double's range
            pass
    return np.fromiter((_number(v) for v in values), dtype=np.float64, count=len(values))


def _number(value: Any) -> float:
    if isinstance(value, int | float):  # bools too (0 and 1)
        try:
            return float(value)
        except OverflowError:
            return math.nan
    return math.nan


def x_values(
    axis: XAxis,
    steps: Sequence[int | None] | Floats | None,
    times: Sequence[float] | Floats,
    origin: float | None,
) -> Floats:
    """The x of every point on ``axis``.

    Args:
        steps: the points' steps (None or NaN where a point has none: its index is used).
        times: the points' POSIX times.
        origin: the time ``RELATIVE`` counts from (the run's start); the first point's time
            when None.
    """
    if axis is XAxis.STEP:
        index = np.arange(len(times), dtype=np.float64)
        if steps is None:
            return index
        x = np.array(steps, dtype=np.float64)  # a copy; None becomes NaN
        missing = np.isnan(x)
        if missing.any():
            x[missing] = index[missing]
        return x
    wall = np.asarray(times, dtype=np.float64)
    if axis is XAxis.WALL:
        return wall
    if origin is None:
        origin = float(wall[0]) if wall.size else 0.0
    return wall - origin


def window(
    x: Floats,
    y: Floats,
    start: float | None = None,
    end: float | None = None,
    buckets: int = DEFAULT_BUCKETS,
) -> Window:
    """The points of ``[start, end]`` (the whole series when None), downsampled to ``buckets``
    equal-width x buckets when there are more than ``FULL_PER_BUCKET * buckets`` of them.

    Points whose x or y is not a finite number are skipped. The result is sorted by x.

    Raises:
        InvalidArgumentError: ``start`` is after ``end``, or ``buckets`` is not 1 to
            ``MAX_BUCKETS``.
    """
    if not 1 <= buckets <= MAX_BUCKETS:
        raise InvalidArgumentError(f"buckets must be 1 to {MAX_BUCKETS}, got {buckets}.")
    if start is not None and end is not None and start > end:
        raise InvalidArgumentError(
            f"The window's start ({start}) is after its end ({end}): swap them."
        )
    keep = np.isfinite(x) & np.isfinite(y)
    if start is not None:
        keep &= x >= start
    if end is not None:
        keep &= x <= end
    x, y = x[keep], y[keep]
    if x.size > 1 and not bool(np.all(x[1:] >= x[:-1])):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    total = int(x.size)
    if total <= FULL_PER_BUCKET * buckets:
        return Window(x, y, None, total, downsampled=False)
    low = float(x[0]) if start is None else start
    high = float(x[-1]) if end is None else end
    return _downsample(x, y, low, high, buckets, total)


def _downsample(x: Floats, y: Floats, low: float, high: float, buckets: int, total: int) -> Window:
    width = (high - low) / buckets
    if width > 0:
        bucket = np.minimum(((x - low) / width).astype(np.int64), buckets - 1)
    else:
        bucket = np.zeros(x.size, dtype=np.int64)
    # x is sorted, so each bucket's points are contiguous: segments of equal bucket numbers.
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [x.size])) - 1
    lows = np.minimum.reduceat(y, starts)
    highs = np.maximum.reduceat(y, starts)
    segment = np.repeat(np.arange(starts.size), ends - starts + 1)
    kept = np.unique(
        np.concatenate(
            (
                starts,
                ends,
                _first_where(y == lows[segment], segment),
                _first_where(y == highs[segment], segment),
            )
        )
    )
    band = Band(
        x=np.column_stack((x[starts], x[ends])).ravel(),
        min=np.repeat(lows, 2),
        max=np.repeat(highs, 2),
    )
    return Window(x[kept], y[kept], band, total, downsampled=True)


def _first_where(hit: npt.NDArray[np.bool_], segment: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """The index of the first hit of each segment (every segment has one)."""
    index = np.flatnonzero(hit)
    of = segment[index]
    return index[np.concatenate(([True], of[1:] != of[:-1]))]
