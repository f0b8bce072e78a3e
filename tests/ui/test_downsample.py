"""The charts' downsampling (runyard.server.ui.downsample): every spike kept, windows, x axes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runyard.entities import MetricChunk, MetricKind, NewRun, ValueType
from runyard.errors import InvalidArgumentError
from runyard.server.ui.downsample import (
    FULL_PER_BUCKET,
    XAxis,
    to_numbers,
    window,
    x_values,
)
from runyard.server.ui.series_cache import SeriesCache
from runyard.store import open_store


def noise(n: int, seed: int = 7) -> np.ndarray:
    return 1.0 + 0.01 * np.random.default_rng(seed).standard_normal(n)


def reference_buckets(
    x: np.ndarray, y: np.ndarray, low: float, high: float, buckets: int
) -> dict[int, tuple[float, float, int, int]]:
    """min, max, first and last index of each bucket, one point at a time (the slow way)."""
    width = (high - low) / buckets
    found: dict[int, tuple[float, float, int, int]] = {}
    for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        b = min(int((xi - low) / width), buckets - 1)
        if b not in found:
            found[b] = (yi, yi, i, i)
        else:
            lo, hi, first, _ = found[b]
            found[b] = (min(lo, yi), max(hi, yi), first, i)
    return found


def test_a_small_window_is_returned_whole_and_sorted() -> None:
    x = np.array([3.0, 1.0, 2.0, 0.0])
    y = np.array([30.0, 10.0, 20.0, 0.0])
    got = window(x, y, buckets=1)
    assert not got.downsampled and got.band is None
    assert got.x.tolist() == [0.0, 1.0, 2.0, 3.0] and got.y.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert got.total == got.returned == 4


def test_a_spike_survives_downsampling_and_each_bucket_keeps_first_last_min_max() -> None:
    n, buckets = 200_000, 500
    y = noise(n)
    y[123_457] = 50.0
    y[7] = -3.0
    x = np.arange(n, dtype=np.float64)
    got = window(x, y, buckets=buckets)
    assert got.downsampled and got.total == n
    assert got.returned <= FULL_PER_BUCKET * buckets
    assert 50.0 in got.y.tolist() and got.x[got.y.tolist().index(50.0)] == 123_457
    assert -3.0 in got.y.tolist()
    assert got.x[0] == 0 and got.x[-1] == n - 1  # the window's ends are drawn
    assert got.band is not None
    assert got.band.max.max() == 50.0 and got.band.min.min() == -3.0
    expected = reference_buckets(x, y, 0.0, float(n - 1), buckets)
    assert len(got.band.x) == 2 * len(expected)
    kept = set(got.x.tolist())
    for (lo, hi, first, last), band_lo, band_hi, band_first, band_last in zip(
        expected.values(),
        got.band.min[::2],
        got.band.max[::2],
        got.band.x[::2],
        got.band.x[1::2],
        strict=True,
    ):
        assert (band_lo, band_hi) == (lo, hi)
        assert (band_first, band_last) == (first, last)
        assert {float(first), float(last)} <= kept
    # every bucket's minimum and maximum are points of the line
    line = dict(zip(got.x.tolist(), got.y.tolist(), strict=True))
    for lo, hi, first, last in expected.values():
        values = [line[k] for k in range(first, last + 1) if k in line]
        assert min(values) == lo and max(values) == hi


def test_a_window_keeps_only_its_points_at_full_resolution_when_small() -> None:
    n = 100_000
    y = noise(n)
    y[50_000] = 50.0
    x = np.arange(n, dtype=np.float64) * 10  # steps 0, 10, 20...
    around = window(x, y, 499_000.0, 501_000.0, buckets=100)
    assert not around.downsampled
    assert around.x[0] == 499_000 and around.x[-1] == 501_000 and around.total == 201
    assert 50.0 in around.y.tolist()
    elsewhere = window(x, y, 100_000.0, 102_000.0, buckets=100)
    assert not elsewhere.downsampled and max(elsewhere.y) < 2.0
    wide = window(x, y, 0.0, 600_000.0, buckets=10)
    assert wide.downsampled and 50.0 in wide.y.tolist() and wide.total == 60_001


def test_non_numeric_points_are_skipped() -> None:
    values = [1.0, None, math.nan, "text", 2, True, math.inf, 10**400]
    y = to_numbers(values)
    assert np.isnan(y[1]) and np.isnan(y[2]) and np.isnan(y[3]) and np.isnan(y[7])
    got = window(np.arange(len(values), dtype=np.float64), y)
    assert got.x.tolist() == [0.0, 4.0, 5.0] and got.y.tolist() == [1.0, 2.0, 1.0]
    assert to_numbers([1, None, 2.5]).tolist()[::2] == [1.0, 2.5]


def test_x_axes_step_relative_and_wall() -> None:
    steps = [None, 5, None, 9]
    times = [100.0, 101.5, 103.0, 110.0]
    assert x_values(XAxis.STEP, steps, times, None).tolist() == [0.0, 5.0, 2.0, 9.0]
    assert x_values(XAxis.STEP, None, times, None).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x_values(XAxis.RELATIVE, steps, times, 90.0).tolist() == [10.0, 11.5, 13.0, 20.0]
    assert x_values(XAxis.RELATIVE, steps, times, None).tolist() == [0.0, 1.5, 3.0, 10.0]
    assert x_values(XAxis.WALL, steps, times, 90.0).tolist() == times


def test_points_at_one_x_and_bad_windows() -> None:
    x = np.zeros(1000)
    y = np.arange(1000, dtype=np.float64)
    got = window(x, y, buckets=10)
    assert got.downsampled and sorted(got.y.tolist()) == [0.0, 999.0]
    with pytest.raises(InvalidArgumentError, match="after its end"):
        window(x, y, 5.0, 1.0)
    with pytest.raises(InvalidArgumentError, match="buckets"):
        window(x, y, buckets=0)
    empty = window(np.array([]), np.array([]))
    assert empty.total == 0 and not empty.downsampled


def test_the_series_cache_reuses_arrays_until_the_series_grows(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        store.create_runs([NewRun(run_id="r1", experiment_name="e")])

        def append(values: list[Any], first_step: int) -> None:
            steps = list(range(first_step, first_step + len(values)))
            store.log_metrics(
                [
                    MetricChunk(
                        "r1",
                        "loss",
                        MetricKind.VECTOR,
                        ValueType.NUMBER,
                        values,
                        [0.0] * len(values),
                        steps,
                    )
                ]
            )

        append([1.0, 2.0, None], 0)
        cache = SeriesCache(max_points=5)
        first = cache.series("w", store, ["r1"], "loss")["r1"]
        assert first.values.tolist()[:2] == [1.0, 2.0] and math.isnan(first.values[2])
        assert cache.series("w", store, ["r1"], "loss")["r1"] is first  # reused
        x = x_values(XAxis.STEP, first.steps, first.times, None)
        x[0] = 99.0
        assert first.steps[0] == 0.0  # the cached arrays are never changed by a chart
        append([3.0], 3)
        grown = cache.series("w", store, ["r1"], "loss")["r1"]
        assert grown is not first and grown.values.tolist()[3] == 3.0
        append([4.0, 5.0], 4)  # 6 points: more than the cache holds, served but not kept
        big = cache.series("w", store, ["r1"], "loss")["r1"]
        assert big.count == 6 and cache.series("w", store, ["r1"], "loss")["r1"] is not big
        assert cache.series("w", store, ["r1"], "nope") == {}
    finally:
        store.close()
