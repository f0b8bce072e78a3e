"""The Store contract for run filters and sort keys (``RunQuery.filter``, ``order_by``,
``include_metrics``): the same answers on every backend, and the same ``InvalidQueryError`` (a
server answers 400 with its message, and the HTTP store raises it again). Mixed into
``StoreContract``, so it runs on every backend."""

from __future__ import annotations

import math
from typing import Any

import pytest

from runyard.entities import MetricChunk, MetricKind, NewRun, RunQuery, RunStatus, ValueType
from runyard.errors import InvalidQueryError, UserError
from runyard.store.base import Store


def _series(run_id: str, name: str, values: list[Any], value_type: ValueType) -> MetricChunk:
    times = [1000.0 + i for i in range(len(values))]
    return MetricChunk(run_id, name, MetricKind.VECTOR, value_type, values, times)


def _ids(store: Store, **query: Any) -> list[str]:
    page = store.search_runs(RunQuery(**query))
    assert page.next_page_token is None
    return [run.run_id for run in page.runs]


class SearchContract:
    def _populate_search(self, store: Store) -> None:
        """a, b, c, d top-level (oldest first) in ``s``, k a child of a; e elsewhere.

        acc: a 0.9 (min 0.1, max 0.9), b 0.5 (last below its max 0.95), c NaN last (min 0.2,
        max 0.8), k 0.7; d and e have none. note: d's is text.
        """
        store.create_runs(
            [
                NewRun(
                    "a",
                    "s",
                    display_name="alpha",
                    tags={"team": "vision", "flag": None},
                    properties={"lr": "0.1"},
                ),
                NewRun(
                    "b", "s", display_name="Beta", tags={"team": "nlp"}, properties={"lr": "0.01"}
                ),
                NewRun("c", "s", tags={"team": "Vision"}),
                NewRun("d", "s", display_name="delta", run_type="sweep"),
                NewRun("k", "s", parent_run_id="a", tags={"team": "vision"}),
                NewRun("e", "other", tags={"team": "vision"}),
            ]
        )
        number = ValueType.NUMBER
        store.log_metrics(
            [
                _series("a", "acc", [0.1, 0.5, 0.9], number),
                _series("b", "acc", [0.2, 0.95, 0.5], number),
                _series("c", "acc", [0.2, 0.8, math.nan], number),
                _series("k", "acc", [0.7], number),
                _series("d", "note", ["done"], ValueType.STRING),
            ]
        )
        store.set_run_status("b", RunStatus.COMPLETED)
        store.set_run_status("c", RunStatus.FAILED)

    def test_search_filters_by_metric_last_min_and_max(self, store: Store) -> None:
        self._populate_search(store)
        assert _ids(store, filter="metrics.acc > 0.6") == ["a"]
        assert _ids(store, filter="metrics.acc > 0.6", include_children=True) == ["k", "a"]
        assert _ids(store, filter="metrics.acc.max >= 0.9") == ["b", "a"]
        assert _ids(store, filter="metrics.acc.min < 0.15") == ["a"]
        assert _ids(store, filter="metrics.acc.min = 0.2") == ["c", "b"]
        # c's last value is NaN and d's is text: no comparison matches them, != neither.
        assert _ids(store, filter="metrics.acc != 0.9") == ["b"]
        assert _ids(store, filter="metrics.note != 1") == []
        assert _ids(store, filter="metrics.acc IN (0.5, 0.9)") == ["b", "a"]

    def test_search_filters_by_tag_property_and_attribute(self, store: Store) -> None:
        self._populate_search(store)
        assert _ids(store, filter="tags.team = 'vision'") == ["e", "a"]
        assert _ids(store, filter="tags.team ILIKE 'VIS%'") == ["e", "c", "a"]
        assert _ids(store, filter="tags.team LIKE 'vis%'") == ["e", "a"]
        assert _ids(store, filter="tags.team NOT IN ('vision')") == ["c", "b"]
        assert _ids(store, filter="tags.flag IS NOT NULL") == ["a"]  # a value-less tag
        assert _ids(store, filter="tags.flag = 'x' OR tags.flag != 'x'") == []
        assert _ids(store, filter="params.lr = '0.01'") == ["b"]
        assert _ids(store, filter="properties.lr LIKE '0.%'") == ["b", "a"]
        assert _ids(store, filter="status = 'FINISHED'") == ["b"]
        assert _ids(store, filter="attributes.status IN ('Failed', 'Completed')") == ["c", "b"]
        assert _ids(store, filter="run_name ILIKE 'b%'") == ["b"]
        assert _ids(store, filter="attributes.display_name IS NULL") == ["e", "c"]
        assert _ids(store, filter="run_type = 'sweep'") == ["d"]
        assert _ids(store, filter="parent_run_id = 'a'", include_children=True) == ["k"]
        assert _ids(store, filter="experiment = 'other'") == ["e"]
        assert _ids(store, filter="number <= 2", experiment_name="s") == ["b", "a"]

    def test_search_combines_with_or_and_parentheses(self, store: Store) -> None:
        self._populate_search(store)
        text = "metrics.acc > 0.8 OR tags.team = 'nlp' AND status = 'Completed'"
        assert _ids(store, filter=text) == ["b", "a"]
        text = "(metrics.acc > 0.8 OR tags.team = 'nlp') AND status = 'Completed'"
        assert _ids(store, filter=text) == ["b"]
        text = "(tags.team = 'Vision' or run_type = 'sweep') and experiment_name = 's'"
        assert _ids(store, filter=text) == ["d", "c"]
        # The filter is ANDed with the query's other filters.
        assert _ids(store, filter="tags.team ILIKE 'vision'", experiment_name="other") == ["e"]

    def test_search_is_null_matches_runs_missing_the_key(self, store: Store) -> None:
        self._populate_search(store)
        assert _ids(store, filter="metrics.acc IS NULL") == ["e", "d"]
        assert _ids(store, filter="metrics.acc IS NOT NULL") == ["c", "b", "a"]  # c: NaN last
        assert _ids(store, filter="metrics.note IS NOT NULL") == ["d"]  # d: a text series
        assert _ids(store, filter="tags.team IS NULL") == ["d"]
        assert _ids(store, filter="params.lr IS NULL") == ["e", "d", "c"]
        assert _ids(store, filter="tags.absent IS NULL") == ["e", "d", "c", "b", "a"]

    def test_search_sorts_by_metric_with_missing_values_last(self, store: Store) -> None:
        self._populate_search(store)
        # c's NaN is no number: it sorts with the runs that have no acc, newest first.
        descending = ["metrics.acc DESC"]
        assert _ids(store, order_by=descending) == ["a", "b", "e", "d", "c"]
        assert _ids(store, order_by=["metrics.acc"]) == ["b", "a", "e", "d", "c"]
        assert _ids(store, order_by=["metrics.acc.max DESC"]) == ["b", "a", "c", "e", "d"]
        # Ties on the first key go by the next: b and c share acc.min, d and e miss it.
        assert _ids(store, order_by=["metrics.acc.min", "run_name DESC"]) == [
            "a",
            "b",
            "c",
            "d",
            "e",
        ]
        # Text by code point: 'Vision' < 'nlp' < 'vision'.
        assert _ids(store, order_by=["tags.team", "metrics.acc DESC"]) == [
            "c",
            "b",
            "a",
            "e",
            "d",
        ]
        everything = _ids(store, order_by=descending, include_children=True)
        assert everything == ["a", "k", "b", "e", "d", "c"]

    def test_search_pages_with_tokens_under_a_custom_order(self, store: Store) -> None:
        self._populate_search(store)
        order = ["metrics.acc.min DESC", "tags.team"]
        whole = _ids(store, order_by=order, include_children=True)
        assert whole == ["k", "c", "b", "a", "e", "d"]
        for page_size in (1, 2, 4):
            seen: list[str] = []
            token: str | None = None
            for _ in range(10):
                page = store.search_runs(
                    RunQuery(
                        order_by=order,
                        include_children=True,
                        page_size=page_size,
                        page_token=token,
                    )
                )
                seen.extend(run.run_id for run in page.runs)
                token = page.next_page_token
                if token is None:
                    break
            assert seen == whole, page_size

    def test_search_refuses_a_token_of_another_order(self, store: Store) -> None:
        self._populate_search(store)
        first = store.search_runs(RunQuery(order_by=["metrics.acc DESC"], page_size=2))
        assert first.next_page_token is not None
        for order in (["metrics.acc ASC"], ["metrics.acc.max DESC"], []):
            with pytest.raises(UserError):
                store.search_runs(
                    RunQuery(order_by=order, page_size=2, page_token=first.next_page_token)
                )
        plain = store.search_runs(RunQuery(page_size=2))
        with pytest.raises(UserError):
            store.search_runs(
                RunQuery(order_by=["metrics.acc DESC"], page_token=plain.next_page_token)
            )

    def test_search_include_metrics_fills_the_summaries(self, store: Store) -> None:
        self._populate_search(store)
        (without,) = store.search_runs(RunQuery(filter="run_id = 'a'")).runs
        assert without.metrics is None
        runs = store.search_runs(RunQuery(filter="experiment = 's'", include_metrics=True)).runs
        metrics = {run.run_id: run.metrics for run in runs}
        assert metrics["a"] is not None and list(metrics["a"]) == ["acc"]
        acc = metrics["a"]["acc"]
        assert (acc.run_id, acc.name, acc.count, acc.last_value) == ("a", "acc", 3, 0.9)
        assert (acc.min_value, acc.max_value) == (0.1, 0.9)
        assert metrics["d"] is not None and metrics["d"]["note"].last_value == "done"
        c_acc = metrics["c"]["acc"]  # type: ignore[index]
        assert math.isnan(c_acc.last_value) and (c_acc.min_value, c_acc.max_value) == (0.2, 0.8)
        assert metrics["b"] is not None and metrics["b"]["acc"].last_value == 0.5

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            (
                RunQuery(filter="metrics.val_auc > "),
                "filter: expected a value after '>' at column 18",
            ),
            (RunQuery(filter="tags.team = vision"), "filter: expected a value after '='"),
            (RunQuery(filter="metrics.acc LIKE '%'"), "filter: LIKE applies to text"),
            (RunQuery(filter="status = 'Done'"), "filter: unknown status 'Done'"),
            (RunQuery(filter="(tags.a = 'x'"), "filter: expected ')'"),
            (RunQuery(order_by=["metrics.acc DOWN"]), "order_by[0]: expected ASC, DESC"),
            (RunQuery(order_by=["status", "foo"]), "order_by[1]: unknown field 'foo'"),
        ],
    )
    def test_search_refuses_a_bad_query(self, store: Store, query: RunQuery, message: str) -> None:
        self._populate_search(store)
        with pytest.raises(InvalidQueryError) as caught:
            store.search_runs(query)
        assert str(caught.value).startswith(message)
        # The source and the column reach the caller, through a server too.
        assert caught.value.source == message.split(":")[0]
        assert caught.value.column is not None and f"at column {caught.value.column}" in str(
            caught.value
        )
        if query.filter is not None:
            with pytest.raises(InvalidQueryError) as counted:
                store.count_runs(query)
            assert str(counted.value) == str(caught.value)

    def test_count_runs_with_a_filter(self, store: Store) -> None:
        self._populate_search(store)
        assert store.count_runs(RunQuery(filter="metrics.acc > 0")) == 2
        assert store.count_runs(RunQuery(filter="metrics.acc > 0", include_children=True)) == 3
        assert store.count_runs(RunQuery(filter="tags.team ILIKE 'vision'")) == 3
        assert store.count_runs(RunQuery(filter="tags.team IS NULL OR metrics.acc < 0.6")) == 2
