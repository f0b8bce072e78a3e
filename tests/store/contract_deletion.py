"""The Store contract for deleting and restoring runs (``Store.set_run_deleted``) and for the
lifecycle of searches and counts (``RunQuery.lifecycle``). Mixed into ``StoreContract``, so it
runs on every backend (SQLite, PostgreSQL, S3 artifacts, HTTP)."""

from __future__ import annotations

import dataclasses
import io
import time
from typing import Any

import pytest

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewRun,
    RunLifecycle,
    RunQuery,
    RunStatus,
    ValueType,
)
from runyard.errors import InvalidArgumentError, RunNotFoundError
from runyard.store.base import Store

CLOCK_SLACK = 1.0


def _ids(store: Store, **query: Any) -> list[str]:
    page = store.search_runs(RunQuery(**query))
    assert page.next_page_token is None
    return [run.run_id for run in page.runs]


class DeletionContract:
    def _populate_deletion(self, store: Store) -> None:
        """a, b, c top-level in ``s`` (oldest first), k a child of a, g a child of k; e in
        ``other``. a has a metric, tags, properties, a log and an artifact."""
        store.create_runs(
            [
                NewRun("a", "s", tags={"team": "vision"}, properties={"lr": "0.1"}),
                NewRun("b", "s"),
                NewRun("c", "s"),
                NewRun("k", "s", parent_run_id="a"),
                NewRun("g", "s", parent_run_id="k"),
                NewRun("e", "other"),
            ]
        )
        chunk = MetricChunk("a", "acc", MetricKind.VECTOR, ValueType.NUMBER, [0.5, 0.9], [1.0, 2.0])
        store.log_metrics([chunk])
        store.append_log("a", "user_logs/std_log.txt", b"epoch 1\n")
        store.put_artifact("a", "outputs/model.bin", io.BytesIO(b"weights"))

    def test_set_run_deleted_hides_the_run_and_keeps_everything(self, store: Store) -> None:
        self._populate_deletion(store)
        before = store.get_run("a")
        assert before.deleted_time is None
        start = time.time()
        deleted = store.set_run_deleted("a", True)
        assert deleted.deleted_time is not None
        assert start - CLOCK_SLACK <= deleted.deleted_time <= time.time() + CLOCK_SLACK
        assert dataclasses.replace(deleted, deleted_time=None) == before
        # get_run still finds it, with everything it had.
        assert store.get_run("a") == deleted
        assert [s.name for s in store.list_metric_series(["a"])] == ["acc"]
        assert store.read_metrics(["a"])[0].values == [0.5, 0.9]
        assert store.read_log("a", "user_logs/std_log.txt") == b"epoch 1\n"
        with store.open_artifact("a", "outputs/model.bin") as stream:
            assert stream.read() == b"weights"
        # Searches and counts leave it out by default.
        assert _ids(store, experiment_name="s") == ["c", "b"]
        assert store.count_runs(RunQuery(experiment_name="s")) == 2
        assert _ids(store, filter="tags.team = 'vision'") == []

    def test_set_run_deleted_restores_the_run_as_it_was(self, store: Store) -> None:
        self._populate_deletion(store)
        before = store.get_run("a")
        store.set_run_deleted("a", True)
        restored = store.set_run_deleted("a", False)
        assert restored == before
        assert store.get_run("a") == before
        assert _ids(store, experiment_name="s") == ["c", "b", "a"]

    def test_set_run_deleted_is_idempotent(self, store: Store) -> None:
        self._populate_deletion(store)
        first = store.set_run_deleted("b", True)
        again = store.set_run_deleted("b", True)
        assert again.deleted_time == first.deleted_time  # the first deletion's time stays
        assert store.set_run_deleted("c", False).deleted_time is None  # never deleted
        store.set_run_deleted("b", False)
        assert store.set_run_deleted("b", False).deleted_time is None

    def test_set_run_deleted_keeps_the_status_and_works_in_any(self, store: Store) -> None:
        self._populate_deletion(store)
        store.set_run_status("b", RunStatus.COMPLETED)
        store.set_run_status("c", RunStatus.CANCEL_REQUESTED)
        for run_id, status in (
            ("a", RunStatus.RUNNING),
            ("b", RunStatus.COMPLETED),
            ("c", RunStatus.CANCEL_REQUESTED),
        ):
            assert store.set_run_deleted(run_id, True).status is status
            assert store.set_run_deleted(run_id, False).status is status
        # A deleted running run goes on: it logs and ends as any other.
        store.set_run_deleted("a", True)
        store.log_metrics(
            [MetricChunk("a", "acc", MetricKind.VECTOR, ValueType.NUMBER, [1.0], [3.0])]
        )
        store.set_tags("a", {"late": "yes"})
        ended = store.set_run_status("a", RunStatus.COMPLETED)
        assert ended.status is RunStatus.COMPLETED
        assert ended.deleted_time is not None
        assert ended.tags["late"] == "yes"

    def test_set_run_deleted_leaves_children_alone(self, store: Store) -> None:
        self._populate_deletion(store)
        store.set_run_deleted("a", True)
        assert store.get_run("k").deleted_time is None
        assert _ids(store, parent_run_id="a") == ["k"]
        assert _ids(store, root_run_id="a") == ["g", "k"]
        assert store.get_run("k").parent_run_id == "a"
        # A deleted child is left out of its parent's children.
        store.set_run_deleted("a", False)
        store.set_run_deleted("k", True)
        assert _ids(store, parent_run_id="a") == []
        assert _ids(store, root_run_id="a") == ["g"]
        assert _ids(store, parent_run_id="a", lifecycle=RunLifecycle.ALL) == ["k"]

    def test_search_and_count_by_lifecycle(self, store: Store) -> None:
        self._populate_deletion(store)
        store.set_run_deleted("b", True)
        store.set_run_deleted("k", True)
        store.set_run_deleted("e", True)
        cases = {
            RunLifecycle.ACTIVE: (["c", "a"], ["g", "c", "a"]),
            RunLifecycle.DELETED: (["b"], ["k", "b"]),
            RunLifecycle.ALL: (["c", "b", "a"], ["g", "k", "c", "b", "a"]),
        }
        for lifecycle, (top, every) in cases.items():
            query = RunQuery(experiment_name="s", lifecycle=lifecycle)
            assert _ids(store, experiment_name="s", lifecycle=lifecycle) == top, lifecycle
            assert store.count_runs(query) == len(top), lifecycle
            with_children = dataclasses.replace(query, include_children=True)
            assert [r.run_id for r in store.search_runs(with_children).runs] == every
            assert store.count_runs(with_children) == len(every)
        # The default is ACTIVE; the values also work as plain strings.
        assert RunQuery().lifecycle is RunLifecycle.ACTIVE
        assert _ids(store, lifecycle="deleted") == ["e", "b"]
        # Sorted and paged searches, and filters, honour it too.
        query = RunQuery(
            experiment_name="s",
            include_children=True,
            lifecycle=RunLifecycle.ALL,
            order_by=["number ASC"],
            page_size=2,
        )
        seen: list[str] = []
        token: str | None = None
        while True:
            page = store.search_runs(dataclasses.replace(query, page_token=token))
            seen += [r.run_id for r in page.runs]
            token = page.next_page_token
            if token is None:
                break
        assert seen == ["a", "b", "c", "k", "g"]
        sorted_deleted = _ids(
            store, include_children=True, lifecycle="deleted", order_by=["metrics.acc DESC"]
        )
        assert sorted_deleted == ["e", "k", "b"]

    def test_deleted_time_can_be_filtered_and_sorted(self, store: Store) -> None:
        self._populate_deletion(store)
        store.set_run_deleted("b", True)
        deleted_c = store.set_run_deleted("c", True).deleted_time
        assert deleted_c is not None
        assert _ids(store, filter="deleted_time IS NOT NULL") == []  # deleted runs: left out
        assert _ids(store, filter="deleted_time IS NOT NULL", lifecycle="all") == ["c", "b"]
        assert _ids(store, filter="deleted_time IS NULL", lifecycle="all") == ["e", "a"]
        assert _ids(store, filter=f"deleted_time >= {deleted_c}", lifecycle="deleted") == ["c"]
        since_2000 = "deleted_time >= '2000-01-01'"  # a date, as for the other times
        assert _ids(store, filter=since_2000, lifecycle="all") == ["c", "b"]
        by_time = _ids(store, order_by=["deleted_time ASC"], lifecycle="all")
        assert by_time == ["b", "c", "e", "a"]  # missing last, ties newest first

    @pytest.mark.parametrize("lifecycle", ["", "Removed", None, 1])
    def test_search_refuses_an_unknown_lifecycle(self, store: Store, lifecycle: Any) -> None:
        self._populate_deletion(store)
        query = RunQuery(lifecycle=lifecycle)
        for verb in (store.search_runs, store.count_runs):
            with pytest.raises(InvalidArgumentError):
                verb(query)

    def test_set_run_deleted_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.set_run_deleted("absent", True)
        with pytest.raises(RunNotFoundError):
            store.set_run_deleted("absent", False)

    @pytest.mark.parametrize("deleted", [1, 0, "yes", None])
    def test_set_run_deleted_refuses_what_is_not_a_bool(self, store: Store, deleted: Any) -> None:
        self._populate_deletion(store)
        with pytest.raises(InvalidArgumentError):
            store.set_run_deleted("a", deleted)
        assert store.get_run("a").deleted_time is None
