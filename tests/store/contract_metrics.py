"""The Store contract for a series' last point in its summary (``MetricSeries.last_step`` and
``last_time``): the step and time of the point ``last_value`` is, the last one logged, whatever
the chunks and calls that brought it. Mixed into ``StoreContract``, so it runs on every
backend."""

from __future__ import annotations

from typing import Any

from runyard.entities import MetricChunk, MetricKind, MetricSeries, NewRun, RunQuery, ValueType
from runyard.store.base import Store


def _chunk(
    run_id: str, name: str, values: list[Any], times: list[float], steps: list[int | None] | None
) -> MetricChunk:
    return MetricChunk(run_id, name, MetricKind.VECTOR, ValueType.NUMBER, values, times, steps)


def _last_points(store: Store, run_ids: list[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(run id, name): (count, last value, last step, last time) of every series."""
    return {
        (s.run_id, s.name): (s.count, s.last_value, s.last_step, s.last_time)
        for s in store.list_metric_series(run_ids)
    }


class MetricSummaryContract:
    def test_list_metric_series_gives_the_last_points_step_and_time(self, store: Store) -> None:
        store.create_runs([NewRun("r", "exp"), NewRun("q", "exp")])
        store.log_metrics([_chunk("r", "loss", [1.0, 2.0], [10.0, 11.0], None)])
        assert _last_points(store, ["r"]) == {("r", "loss"): (2, 2.0, None, 11.0)}
        # Several chunks of one series in one call: the last chunk's last point counts, a
        # point without a step too (None, not the step of an earlier point).
        store.log_metrics(
            [
                _chunk("r", "loss", [3.0, 4.0], [20.0, 21.5], [5, 6]),
                _chunk("q", "loss", [7], [30.0], [2**62]),
                _chunk("r", "loss", [5.0], [22.0], [None]),
            ]
        )
        assert _last_points(store, ["r", "q"]) == {
            ("r", "loss"): (5, 5.0, None, 22.0),
            ("q", "loss"): (1, 7, 2**62, 30.0),
        }
        # Steps in logging order, not the highest: a step smaller than an earlier one is last.
        store.log_metrics([_chunk("r", "loss", [6.0, 0.5], [23.0, 24.0], [None, 1])])
        store.log_metrics([_chunk("q", "loss", [8], [29.0], [0])])  # an earlier time, too
        assert _last_points(store, ["r", "q"]) == {
            ("r", "loss"): (7, 0.5, 1, 24.0),
            ("q", "loss"): (2, 8, 0, 29.0),
        }
        # Any value type: the summary of the last point is the same for text.
        store.log_metrics(
            [
                MetricChunk(
                    "r", "phase", MetricKind.VECTOR, ValueType.STRING, ["a", "b"], [5, 6], [0, 3]
                )
            ]
        )
        phase = _last_points(store, ["r"])[("r", "phase")]
        assert phase == (2, "b", 3, 6.0) and type(phase[3]) is float
        # A step given as a bool is the int it is (the checks take it as one).
        store.log_metrics([_chunk("q", "loss", [9], [31.0], [True])])
        q_loss = _last_points(store, ["q"])[("q", "loss")]
        assert q_loss == (3, 9, 1, 31.0) and type(q_loss[2]) is int

    def test_search_runs_metrics_carry_the_last_point(self, store: Store) -> None:
        store.create_runs([NewRun("r", "exp")])
        store.log_metrics([_chunk("r", "acc", [0.1, 0.2], [100.0, 101.25], [1, 2])])
        store.log_metrics([_chunk("r", "acc", [0.3], [102.5], [4])])
        (run,) = store.search_runs(RunQuery(include_metrics=True)).runs
        assert run.metrics is not None
        acc = run.metrics["acc"]
        assert (acc.count, acc.last_value, acc.last_step, acc.last_time) == (3, 0.3, 4, 102.5)
        assert list(run.metrics.values()) == store.list_metric_series(["r"])

    def test_series_without_points_has_no_last_point(self, store: Store) -> None:
        store.create_runs([NewRun("r", "exp")])
        store.log_metrics([_chunk("r", "empty", [], [], None)])
        (empty,) = store.list_metric_series(["r"])
        assert empty == MetricSeries("r", "empty", MetricKind.VECTOR, ValueType.NUMBER, count=0)
        assert (empty.last_value, empty.last_step, empty.last_time) == (None, None, None)
        store.log_metrics([_chunk("r", "empty", [1.5], [7.0], [3])])
        assert _last_points(store, ["r"]) == {("r", "empty"): (1, 1.5, 3, 7.0)}
