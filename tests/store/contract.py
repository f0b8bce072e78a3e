"""The Store contract: every verb of ``runyard.store.base.Store`` against its docstring.

A backend's test module subclasses ``StoreContract`` and provides the ``store`` fixture; the class
itself is not collected (no ``Test`` prefix). Nothing here knows how a backend keeps its data: it
only calls the verbs, so the same tests run on SQLite, PostgreSQL and the HTTP client.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewRun,
    RunInfo,
    RunQuery,
    RunStatus,
    SnapshotFile,
    TagFilter,
    ValueType,
    ViewType,
)
from runyard.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    ExperimentNotFoundError,
    InvalidNameError,
    LimitExceededError,
    NotFoundError,
    PropertyConflictError,
    RunNotFoundError,
    RunyardError,
    SnapshotNotFoundError,
    UserError,
)
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_KEY_LENGTH,
    MAX_PROPERTIES_PER_RUN,
    MAX_TAGS_PER_RUN,
    MAX_VALUE_LENGTH,
)
from runyard.settings import UPLOAD_STALE_SECONDS_ENV
from runyard.store.base import Store
from tests.store import status_changes
from tests.store.contract_compute import ComputeContract
from tests.store.contract_deletion import DeletionContract
from tests.store.contract_environments import EnvironmentContract
from tests.store.contract_experiments import ExperimentContract
from tests.store.contract_input import InputContract
from tests.store.contract_metrics import MetricSummaryContract
from tests.store.contract_models import ModelContract
from tests.store.contract_registry import RegistryContract
from tests.store.contract_search import SearchContract
from tests.store.sql_workers import SqlTarget
from tests.store.uploads import MiB, leftovers, sql_spec, upload_worker

AZURE_EXPERIMENT_NAME_RULE = (
    "Experiment name must be between 1 and 255 characters long. Its first character has to be "
    "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed."
)
CLOCK_SLACK = 1.0
"""Seconds of tolerance when a recorded time is compared with the test's clock."""
STALE_UPLOAD_SECONDS = 2.0
"""How long an upload may stall before another may take it over, in the tests (a server process
running the contract is started with it)."""


def new_run(run_id: str, experiment: str = "exp", **fields: Any) -> NewRun:
    return NewRun(run_id=run_id, experiment_name=experiment, **fields)


def chunk(
    run_id: str,
    name: str,
    values: list[Any],
    *,
    kind: MetricKind = MetricKind.VECTOR,
    value_type: ValueType = ValueType.NUMBER,
    steps: list[int | None] | None = None,
    description: str = "",
    first_time: float = 1000.0,
) -> MetricChunk:
    times = [first_time + i for i in range(len(values))]
    return MetricChunk(run_id, name, kind, value_type, values, times, steps, description)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_artifact(store: Store, run_id: str, path: str) -> bytes:
    with store.open_artifact(run_id, path) as stream:
        return stream.read()


def read_blob(store: Store, digest: str) -> bytes:
    with store.open_blob(digest) as stream:
        return stream.read()


class BrokenStream(io.BytesIO):
    """Gives its bytes, then fails instead of ending, as a dropped upload would."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise OSError("The source broke off.")
        return data


class StallingStream(io.BytesIO):
    """Gives its bytes, then waits for ``release`` and fails: an upload that is under way while
    the test does something else, and then breaks off."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.started = threading.Event()
        self.release = threading.Event()

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            self.started.set()
            self.release.wait(30)
            raise OSError("The source broke off.")
        return data


def run_ids(runs: Any) -> list[str]:
    return [run.run_id for run in runs]


def search_ids(store: Store, **query: Any) -> list[str]:
    page = store.search_runs(RunQuery(**query))
    assert page.next_page_token is None
    return run_ids(page.runs)


def all_runs(store: Store) -> list[RunInfo]:
    page = store.search_runs(RunQuery(include_children=True))
    assert page.next_page_token is None
    return list(page.runs)


def assert_recent(value: float | None, before: float, after: float) -> None:
    assert value is not None
    assert before - CLOCK_SLACK <= value <= after + CLOCK_SLACK


class StoreContract(
    InputContract,
    SearchContract,
    DeletionContract,
    ExperimentContract,
    ModelContract,
    MetricSummaryContract,
    RegistryContract,
    EnvironmentContract,
    ComputeContract,
):
    """Tests every backend passes; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("A backend's test class provides the `store` fixture.")

    # -- experiments ---------------------------------------------------------------------------

    def test_get_or_create_experiment_is_idempotent(self, store: Store) -> None:
        first = store.get_or_create_experiment("exp-1")
        second = store.get_or_create_experiment("exp-1")
        assert second.experiment_id == first.experiment_id
        assert (first.name, first.archived_time, dict(first.tags)) == ("exp-1", None, {})
        assert store.get_experiment("exp-1").experiment_id == first.experiment_id
        assert [e.name for e in store.list_experiments(ViewType.ALL)] == ["exp-1"]

    @pytest.mark.parametrize(
        "name",
        [
            "",
            "-leading-hyphen",
            "_leading-underscore",
            "has space",
            "tab\tinside",
            "new\nline",
            "dotted.name",
            "slash/name",
            "x" * 256,
            "trailing-newline\n",
        ],
    )
    def test_get_or_create_experiment_rejects_invalid_names(self, store: Store, name: str) -> None:
        with pytest.raises(InvalidNameError, match=re.escape(AZURE_EXPERIMENT_NAME_RULE)):
            store.get_or_create_experiment(name)
        assert store.list_experiments(ViewType.ALL) == []

    @pytest.mark.parametrize("name", ["a", "9", "A-b_c-9", "x" * 255])
    def test_get_or_create_experiment_accepts_valid_names(self, store: Store, name: str) -> None:
        assert store.get_or_create_experiment(name).name == name

    def test_get_experiment_missing_raises(self, store: Store) -> None:
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment("absent")

    def test_list_experiments_filters_by_view_type(self, store: Store) -> None:
        for name in ("bravo", "alpha", "charlie"):
            store.get_or_create_experiment(name)
        store.set_experiment_archived("charlie", True)

        def names(view_type: ViewType, name: str | None = None) -> list[str]:
            return [e.name for e in store.list_experiments(view_type, name)]

        assert names(ViewType.ACTIVE_ONLY) == ["alpha", "bravo"]
        assert [e.name for e in store.list_experiments()] == ["alpha", "bravo"]
        assert names(ViewType.ARCHIVED_ONLY) == ["charlie"]
        assert names(ViewType.ALL) == ["alpha", "bravo", "charlie"]
        assert names(ViewType.ALL, "bravo") == ["bravo"]
        assert names(ViewType.ACTIVE_ONLY, "charlie") == []

    def test_list_experiments_sorted_by_code_point(self, store: Store) -> None:
        # As Python sorts: not by a language's collation (which puts 'a_b' after 'aB').
        names = ["b", "B", "a_b", "a-b", "a9", "aB", "ab", "A"]
        for name in names:
            store.get_or_create_experiment(name)
        assert [e.name for e in store.list_experiments()] == sorted(names)

    def test_set_experiment_archived_archives_and_reactivates(self, store: Store) -> None:
        store.get_or_create_experiment("exp")
        before = time.time()
        archived = store.set_experiment_archived("exp", True)
        assert_recent(archived.archived_time, before, time.time())
        assert store.get_experiment("exp").archived_time == archived.archived_time
        reactivated = store.set_experiment_archived("exp", False)
        assert reactivated.archived_time is None
        assert [e.name for e in store.list_experiments(ViewType.ACTIVE_ONLY)] == ["exp"]

    def test_set_experiment_archived_missing_raises(self, store: Store) -> None:
        with pytest.raises(ExperimentNotFoundError):
            store.set_experiment_archived("absent", True)

    def test_set_experiment_tags_merges_and_removes(self, store: Store) -> None:
        store.get_or_create_experiment("exp")
        store.set_experiment_tags("exp", {"a": "1", "b": None, "c": "3"})
        info = store.set_experiment_tags("exp", {"a": "2", "d": "4"}, remove=["c", "missing"])
        assert dict(info.tags) == {"a": "2", "b": None, "d": "4"}
        assert dict(store.get_experiment("exp").tags) == {"a": "2", "b": None, "d": "4"}

    # -- create_runs ---------------------------------------------------------------------------

    def test_create_runs_returns_runs_in_order(self, store: Store) -> None:
        before = time.time()
        created = store.create_runs(
            [
                new_run(
                    "run-b",
                    "exp",
                    run_type="azureml.scriptrun",
                    display_name="Bee",
                    description="the b run",
                    target="local",
                    tags={"t": "1", "flag": None},
                    properties={"p": "x"},
                    run_definition={"script": "train.py", "arguments": ["--lr", 0.1]},
                    submitted_by="ann",
                ),
                new_run("run-a", "other"),
                new_run("run-c", "exp"),
            ]
        )
        after = time.time()
        assert run_ids(created) == ["run-b", "run-a", "run-c"]
        b = created[0]
        assert b.experiment_name == "exp"
        assert b.experiment_id == store.get_experiment("exp").experiment_id
        assert (b.run_type, b.display_name, b.description) == (
            "azureml.scriptrun",
            "Bee",
            "the b run",
        )
        assert (b.target, b.submitted_by, b.status) == ("local", "ann", RunStatus.RUNNING)
        assert dict(b.tags) == {"t": "1", "flag": None}
        assert dict(b.properties) == {"p": "x"}
        assert b.run_definition == {"script": "train.py", "arguments": ["--lr", 0.1]}
        assert (b.parent_run_id, b.root_run_id, b.end_time, b.error) == (None, None, None, None)
        assert_recent(b.created_time, before, after)
        assert store.get_run("run-b") == b

    def test_create_runs_empty_batch_creates_nothing(self, store: Store) -> None:
        assert store.create_runs([]) == []
        assert all_runs(store) == []

    def test_create_runs_numbers_each_experiment_consecutively(self, store: Store) -> None:
        first = store.create_runs(
            [new_run("a1", "a"), new_run("b1", "b"), new_run("a2", "a"), new_run("a3", "a")]
        )
        assert [r.number for r in first] == [1, 1, 2, 3]
        second = store.create_runs([new_run("b2", "b"), new_run("a4", "a")])
        assert [r.number for r in second] == [2, 4]
        assert store.create_runs([new_run("a5", "a")])[0].number == 5

    @pytest.mark.parametrize(
        ("status", "started"),
        [
            (RunStatus.RUNNING, True),
            (RunStatus.PREPARING, True),
            (RunStatus.NOT_STARTED, False),
            (RunStatus.QUEUED, False),
        ],
    )
    def test_create_runs_sets_start_time_when_started(
        self, store: Store, status: RunStatus, started: bool
    ) -> None:
        before = time.time()
        run = store.create_runs([new_run("r", status=status)])[0]
        assert run.status is status
        if started:
            assert_recent(run.start_time, before, time.time())
        else:
            assert run.start_time is None
        assert store.get_run("r").start_time == run.start_time

    def test_create_runs_links_children_to_parent_and_root(self, store: Store) -> None:
        top, child, grandchild = store.create_runs(
            [
                new_run("top"),
                new_run("child", parent_run_id="top"),
                new_run("grandchild", parent_run_id="child"),
            ]
        )
        assert (top.parent_run_id, top.root_run_id) == (None, None)
        assert (child.parent_run_id, child.root_run_id) == ("top", "top")
        assert (grandchild.parent_run_id, grandchild.root_run_id) == ("child", "top")
        # The same links when the parents were created by earlier calls.
        (great,) = store.create_runs([new_run("great", parent_run_id="grandchild")])
        assert (great.parent_run_id, great.root_run_id) == ("grandchild", "top")
        assert store.get_run("great").root_run_id == "top"

    def test_create_runs_duplicate_run_id_creates_nothing(self, store: Store) -> None:
        store.create_runs([new_run("taken")])
        with pytest.raises(UserError):
            store.create_runs([new_run("fresh"), new_run("taken"), new_run("fresh-2", "new-exp")])
        with pytest.raises(RunNotFoundError):
            store.get_run("fresh")
        assert run_ids(all_runs(store)) == ["taken"]
        assert [e.name for e in store.list_experiments(ViewType.ALL)] == ["exp"]
        assert store.create_runs([new_run("next")])[0].number == 2

    def test_create_runs_duplicate_within_batch_creates_nothing(self, store: Store) -> None:
        with pytest.raises(UserError):
            store.create_runs([new_run("twice"), new_run("twice")])
        assert all_runs(store) == []

    def test_create_runs_missing_parent_creates_nothing(self, store: Store) -> None:
        store.create_runs([new_run("existing")])
        with pytest.raises(UserError):
            store.create_runs(
                [new_run("ok"), new_run("orphan", "new-exp", parent_run_id="no-such-run")]
            )
        assert run_ids(all_runs(store)) == ["existing"]
        assert [e.name for e in store.list_experiments(ViewType.ALL)] == ["exp"]

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"tags": {f"t{i}": "v" for i in range(MAX_TAGS_PER_RUN + 1)}}, LimitExceededError),
            (
                {"properties": {f"p{i}": "v" for i in range(MAX_PROPERTIES_PER_RUN + 1)}},
                LimitExceededError,
            ),
            ({"tags": {"k" * (MAX_KEY_LENGTH + 1): "v"}}, LimitExceededError),
            ({"properties": {"k": "v" * (MAX_VALUE_LENGTH + 1)}}, LimitExceededError),
            ({"display_name": "d" * (MAX_DISPLAY_NAME_LENGTH + 1)}, LimitExceededError),
            ({"description": "d" * (MAX_DESCRIPTION_LENGTH + 1)}, LimitExceededError),
            ({"run_type": "t" * 65}, LimitExceededError),
            ({"target": "t" * 65}, LimitExceededError),
            ({"submitted_by": "s" * 257}, LimitExceededError),
            ({"tags": {"": "v"}}, InvalidNameError),
        ],
    )
    def test_create_runs_over_limit_creates_nothing(
        self, store: Store, fields: dict[str, Any], error: type[UserError]
    ) -> None:
        with pytest.raises(error):
            store.create_runs([new_run("fine"), new_run("too-much", **fields)])
        assert all_runs(store) == []

    @pytest.mark.parametrize(
        "run_id", ["", ".", "..", "has space", "slash/id", "newline\n", "x" * 257]
    )
    def test_create_runs_invalid_run_id_creates_nothing(self, store: Store, run_id: str) -> None:
        with pytest.raises(InvalidNameError):
            store.create_runs([new_run("fine"), new_run(run_id)])
        assert all_runs(store) == []

    def test_create_runs_at_limits_succeeds(self, store: Store) -> None:
        tags: dict[str, str | None] = {f"t{i}": "v" for i in range(MAX_TAGS_PER_RUN - 1)}
        tags["k" * MAX_KEY_LENGTH] = "v" * MAX_VALUE_LENGTH
        run = store.create_runs([new_run("full", tags=tags)])[0]
        assert len(run.tags) == MAX_TAGS_PER_RUN
        assert store.get_run("full").tags == tags

    # -- get_run / update_run ------------------------------------------------------------------

    def test_get_run_tags_and_properties_in_key_order(self, store: Store) -> None:
        keys = ["b", "B", "a_b", "a-b", "é", "a", "10", "9"]
        store.create_runs(
            [new_run("r", tags={k: k for k in keys}, properties={k: k for k in reversed(keys)})]
        )
        store.set_tags("r", {"0": None})
        run = store.get_run("r")
        assert list(run.tags) == sorted([*keys, "0"])
        assert list(run.properties) == sorted(keys)

    def test_get_run_missing_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.get_run("absent")

    def test_update_run_changes_only_given_fields(self, store: Store) -> None:
        store.create_runs([new_run("r", display_name="old", description="desc")])
        run = store.update_run("r", display_name="new")
        assert (run.display_name, run.description, run.run_definition) == ("new", "desc", None)
        run = store.update_run("r", run_definition={"script": "a.py"})
        assert (run.display_name, run.run_definition) == ("new", {"script": "a.py"})
        run = store.update_run("r", description=None)
        assert (run.display_name, run.description) == ("new", None)
        assert store.get_run("r") == run
        assert store.update_run("r") == run

    def test_update_run_over_limit_changes_nothing(self, store: Store) -> None:
        store.create_runs([new_run("r", display_name="old")])
        with pytest.raises(LimitExceededError):
            store.update_run(
                "r", description="fine", display_name="d" * (MAX_DISPLAY_NAME_LENGTH + 1)
            )
        assert (store.get_run("r").display_name, store.get_run("r").description) == ("old", None)

    def test_update_run_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.update_run("absent", display_name="x")

    # -- set_run_status / heartbeat ------------------------------------------------------------

    def test_set_run_status_records_start_time_once(self, store: Store) -> None:
        store.create_runs([new_run("r", status=RunStatus.NOT_STARTED)])
        assert store.set_run_status("r", RunStatus.QUEUED).start_time is None
        before = time.time()
        running = store.set_run_status("r", RunStatus.RUNNING)
        assert running.status is RunStatus.RUNNING
        assert_recent(running.start_time, before, time.time())
        time.sleep(0.01)
        store.set_run_status("r", RunStatus.PAUSED)
        again = store.set_run_status("r", RunStatus.RUNNING)
        assert again.start_time == running.start_time
        assert again.end_time is None
        assert store.get_run("r") == again

    @pytest.mark.parametrize(
        "terminal", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED]
    )
    def test_set_run_status_terminal_is_final(self, store: Store, terminal: RunStatus) -> None:
        store.create_runs([new_run("r")])
        before = time.time()
        ended = store.set_run_status("r", terminal)
        assert ended.status is terminal
        assert_recent(ended.end_time, before, time.time())
        for later in (RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED):
            assert store.set_run_status("r", later, error={"code": "late"}) == ended
        assert store.get_run("r") == ended

    def test_set_run_status_first_error_stands(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        first = {"code": "UserError", "message": "first", "details": [{"k": 1}]}
        noted = store.set_run_status("r", RunStatus.FINALIZING, error=first)
        assert noted.error == first
        failed = store.set_run_status("r", RunStatus.FAILED, error={"message": "second"})
        assert (failed.status, failed.error) == (RunStatus.FAILED, first)
        assert store.set_run_status("r", RunStatus.FAILED, error={"message": "third"}) == failed

    def test_set_run_status_stores_error_of_failure(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        failed = store.set_run_status("r", RunStatus.FAILED, error={"message": "boom"})
        assert failed.error == {"message": "boom"}
        assert store.get_run("r").error == {"message": "boom"}

    def test_set_run_status_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.set_run_status("absent", RunStatus.RUNNING)

    def test_heartbeat_records_time(self, store: Store) -> None:
        assert store.create_runs([new_run("r")])[0].heartbeat_time is None
        before = time.time()
        store.heartbeat("r")
        first = store.get_run("r").heartbeat_time
        assert_recent(first, before, time.time())
        time.sleep(0.01)
        store.heartbeat("r")
        second = store.get_run("r").heartbeat_time
        assert first is not None and second is not None and second > first

    def test_heartbeat_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.heartbeat("absent")

    def test_create_runs_with_heartbeat_heartbeats_them(self, store: Store) -> None:
        before = time.time()
        created = store.create_runs([new_run("a"), new_run("b", parent_run_id="a")], heartbeat=True)
        after = time.time()
        for run in created:
            assert_recent(store.get_run(run.run_id).heartbeat_time, before, after)
        assert store.create_runs([new_run("c")])[0].heartbeat_time is None
        assert store.get_run("c").heartbeat_time is None

    def test_changed_runs_are_returned_as_read(self, store: Store) -> None:
        """What create_runs and set_run_status return is what get_run reads: a grandchild with
        tags and properties (keys out of order), a definition and an error."""
        created = store.create_runs(
            [
                new_run("root", tags={"z": "1", "a": None, "é": "x"}, properties={"q": "2"}),
                new_run("child", parent_run_id="root", properties={"b": "1", "A": "2"}),
                new_run(
                    "grandchild",
                    "other",
                    parent_run_id="child",
                    tags={"k": "v", "B": None},
                    run_definition={"args": ("--lr", 0.1), "n": 1},
                    display_name="gc",
                    description="d",
                    submitted_by="ann",
                ),
            ]
        )
        assert created == [store.get_run(r) for r in ("root", "child", "grandchild")]
        assert list(created[0].tags) == ["a", "z", "é"]  # in key order, as a read gives them
        assert list(created[1].properties) == ["A", "b"]
        assert (created[2].parent_run_id, created[2].root_run_id) == ("child", "root")
        later = store.create_runs([new_run("late", parent_run_id="grandchild")])[0]
        assert (later.parent_run_id, later.root_run_id) == ("grandchild", "root")
        assert later == store.get_run("late")
        failed = store.set_run_status(
            "grandchild", RunStatus.FAILED, error={"message": "boom", "details": [("a", 1)]}
        )
        assert failed == store.get_run("grandchild")
        assert list(failed.tags) == ["B", "k"]
        assert failed.error == {"message": "boom", "details": [["a", 1]]}
        assert store.set_run_status("late", RunStatus.COMPLETED) == store.get_run("late")

    # -- tags and properties -------------------------------------------------------------------

    def test_set_tags_merges_and_overwrites(self, store: Store) -> None:
        store.create_runs([new_run("r", tags={"keep": "1", "change": "old"})])
        store.set_tags("r", {"change": "new", "bare": None, "added": "2"})
        assert store.get_run("r").tags == {"keep": "1", "change": "new", "bare": None, "added": "2"}
        store.set_tags("r", {"bare": "now-valued", "added": None})
        assert store.get_run("r").tags == {
            "keep": "1",
            "change": "new",
            "bare": "now-valued",
            "added": None,
        }

    def test_remove_tags_ignores_missing_keys(self, store: Store) -> None:
        store.create_runs([new_run("r", tags={"a": "1", "b": None, "c": "3"})])
        store.remove_tags("r", ["a", "b", "never-set"])
        assert store.get_run("r").tags == {"c": "3"}
        store.remove_tags("r", [])
        assert store.get_run("r").tags == {"c": "3"}

    def test_set_tags_over_count_limit_writes_nothing(self, store: Store) -> None:
        full = {f"t{i}": "v" for i in range(MAX_TAGS_PER_RUN - 1)}
        store.create_runs([new_run("r", tags=full)])
        with pytest.raises(LimitExceededError):
            store.set_tags("r", {"t0": "changed", "x1": "1", "x2": "2"})
        tags = store.get_run("r").tags
        assert (len(tags), tags["t0"], "x1" in tags) == (MAX_TAGS_PER_RUN - 1, "v", False)
        store.set_tags("r", {"x1": "1"})
        store.set_tags("r", {"t0": "changed", "x1": None})
        tags = store.get_run("r").tags
        assert (len(tags), tags["t0"], tags["x1"]) == (MAX_TAGS_PER_RUN, "changed", None)

    @pytest.mark.parametrize(
        "bad", [{"k" * (MAX_KEY_LENGTH + 1): "v"}, {"k": "v" * (MAX_VALUE_LENGTH + 1)}]
    )
    def test_set_tags_too_long_writes_nothing(self, store: Store, bad: dict[str, str]) -> None:
        store.create_runs([new_run("r", tags={"a": "1"})])
        with pytest.raises(LimitExceededError):
            store.set_tags("r", {"a": "2", "fine": "x", **bad})
        assert store.get_run("r").tags == {"a": "1"}

    def test_set_tags_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.set_tags("absent", {"a": "1"})

    def test_remove_tags_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.remove_tags("absent", ["a"])

    def test_add_properties_accepts_same_value(self, store: Store) -> None:
        store.create_runs([new_run("r", properties={"author": "ann"})])
        store.add_properties("r", {"author": "ann", "team": "vision"})
        store.add_properties("r", {"team": "vision"})
        assert store.get_run("r").properties == {"author": "ann", "team": "vision"}

    def test_add_properties_conflict_writes_nothing(self, store: Store) -> None:
        store.create_runs([new_run("r", properties={"author": "stored-ann"})])
        with pytest.raises(PropertyConflictError) as raised:
            store.add_properties(
                "r", {"new-before": "1", "author": "refused-bob", "new-after": "2"}
            )
        message = str(raised.value)
        assert "author" in message
        assert "stored-ann" in message
        assert "refused-bob" in message
        assert store.get_run("r").properties == {"author": "stored-ann"}

    def test_add_properties_over_limit_writes_nothing(self, store: Store) -> None:
        full = {f"p{i}": "v" for i in range(MAX_PROPERTIES_PER_RUN)}
        store.create_runs([new_run("r", properties=full)])
        store.add_properties("r", {"p0": "v"})
        with pytest.raises(LimitExceededError):
            store.add_properties("r", {"p0": "v", "one-more": "x"})
        assert store.get_run("r").properties == full

    @pytest.mark.parametrize(
        "bad", [{"k" * (MAX_KEY_LENGTH + 1): "v"}, {"k": "v" * (MAX_VALUE_LENGTH + 1)}]
    )
    def test_add_properties_too_long_writes_nothing(
        self, store: Store, bad: dict[str, str]
    ) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(LimitExceededError):
            store.add_properties("r", {"fine": "x", **bad})
        assert store.get_run("r").properties == {}

    def test_add_properties_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.add_properties("absent", {"a": "1"})

    # -- search_runs ---------------------------------------------------------------------------

    def _populate(self, store: Store) -> None:
        """Top-level r1, r2, r3 (oldest first) in ``s``, c1 under r1, g1 under c1; o1 elsewhere."""
        store.create_runs(
            [
                new_run(
                    "r1",
                    "s",
                    run_type="script",
                    tags={"team": "a", "flag": None},
                    properties={"owner": "ann"},
                ),
                new_run(
                    "r2", "s", run_type="sweep", tags={"team": "b"}, properties={"owner": "bob"}
                ),
                new_run("r3", "s", run_type="script", tags={"flag": "x"}),
                new_run("c1", "s", parent_run_id="r1", tags={"team": "a"}),
                new_run("g1", "s", parent_run_id="c1"),
                new_run("o1", "other", tags={"team": "a", "flag": None}),
            ]
        )

    def test_search_runs_returns_top_level_newest_first(self, store: Store) -> None:
        self._populate(store)
        page = store.search_runs(RunQuery(experiment_name="s"))
        assert run_ids(page.runs) == ["r3", "r2", "r1"]
        assert page.next_page_token is None
        r1 = page.runs[2]
        assert (dict(r1.tags), dict(r1.properties)) == (
            {"team": "a", "flag": None},
            {"owner": "ann"},
        )
        assert search_ids(store) == ["o1", "r3", "r2", "r1"]

    def test_count_runs_counts_what_search_runs_returns(self, store: Store) -> None:
        self._populate(store)
        queries = [
            RunQuery(),
            RunQuery(experiment_name="s"),
            RunQuery(experiment_name="s", include_children=True),
            RunQuery(tags=[TagFilter("team", "a", match_value=True)]),
            RunQuery(root_run_id="r1"),
            RunQuery(experiment_name="s", run_type="script", page_size=1),
        ]
        for query in queries:
            everything = store.search_runs(dataclasses.replace(query, page_size=500))
            assert store.count_runs(query) == len(everything.runs), query
        assert store.count_runs(RunQuery(experiment_name="s")) == 3

    def test_search_runs_filters_by_tag_key(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, experiment_name="s", tags=[TagFilter("team")]) == ["r2", "r1"]
        assert search_ids(store, experiment_name="s", tags=[TagFilter("flag")]) == ["r3", "r1"]
        assert search_ids(store, experiment_name="s", tags=[TagFilter("absent")]) == []

    def test_search_runs_filters_by_tag_value(self, store: Store) -> None:
        self._populate(store)
        team_a = [TagFilter("team", "a", match_value=True)]
        assert search_ids(store, experiment_name="s", tags=team_a) == ["r1"]
        assert search_ids(store, tags=team_a) == ["o1", "r1"]
        flag_x = [TagFilter("flag", "x", match_value=True)]
        assert search_ids(store, experiment_name="s", tags=flag_x) == ["r3"]

    def test_search_runs_none_value_matches_valueless_tags_only(self, store: Store) -> None:
        self._populate(store)
        valueless = [TagFilter("flag", None, match_value=True)]
        assert search_ids(store, experiment_name="s", tags=valueless) == ["r1"]
        assert search_ids(store, tags=[TagFilter("team", None, match_value=True)]) == []

    def test_search_runs_filters_by_property(self, store: Store) -> None:
        self._populate(store)
        bob = [TagFilter("owner", "bob", match_value=True)]
        assert search_ids(store, experiment_name="s", properties=bob) == ["r2"]
        owned = [TagFilter("owner")]
        assert search_ids(store, experiment_name="s", properties=owned) == ["r2", "r1"]
        # A tag filter does not match properties, nor the other way round.
        assert search_ids(store, experiment_name="s", tags=owned) == []
        assert search_ids(store, experiment_name="s", properties=[TagFilter("team")]) == []

    def test_search_runs_ands_every_filter(self, store: Store) -> None:
        self._populate(store)
        team_a = TagFilter("team", "a", match_value=True)
        ann = TagFilter("owner", "ann", match_value=True)
        bob = TagFilter("owner", "bob", match_value=True)
        assert search_ids(store, tags=[team_a], properties=[ann]) == ["r1"]
        assert search_ids(store, tags=[team_a], properties=[bob]) == []
        assert search_ids(store, tags=[team_a, TagFilter("flag")]) == ["o1", "r1"]
        assert search_ids(store, experiment_name="s", tags=[team_a, TagFilter("flag")]) == ["r1"]
        assert search_ids(store, tags=[team_a], run_type="sweep") == []

    def test_search_runs_filters_by_status(self, store: Store) -> None:
        self._populate(store)
        store.set_run_status("r2", RunStatus.COMPLETED)
        assert search_ids(store, experiment_name="s", status=RunStatus.COMPLETED) == ["r2"]
        assert search_ids(store, experiment_name="s", status=RunStatus.RUNNING) == ["r3", "r1"]
        assert search_ids(store, status=RunStatus.QUEUED) == []

    def test_search_runs_filters_by_run_type(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, run_type="script") == ["r3", "r1"]
        assert search_ids(store, run_type="sweep") == ["r2"]

    def test_search_runs_includes_children_on_request(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, experiment_name="s") == ["r3", "r2", "r1"]
        everything = search_ids(store, experiment_name="s", include_children=True)
        assert everything == ["g1", "c1", "r3", "r2", "r1"]
        team_a = [TagFilter("team", "a", match_value=True)]
        assert search_ids(store, include_children=True, tags=team_a) == ["o1", "c1", "r1"]

    def test_search_runs_filters_by_parent(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, parent_run_id="r1") == ["c1"]
        assert search_ids(store, parent_run_id="c1") == ["g1"]
        assert search_ids(store, parent_run_id="r2") == []

    def test_search_runs_filters_by_root(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, root_run_id="r1") == ["g1", "c1"]
        assert search_ids(store, root_run_id="r1", exclude_run_id="c1") == ["g1"]
        assert search_ids(store, root_run_id="r3") == []

    def test_search_runs_excludes_run(self, store: Store) -> None:
        self._populate(store)
        assert search_ids(store, experiment_name="s", exclude_run_id="r2") == ["r3", "r1"]
        assert search_ids(store, parent_run_id="r1", exclude_run_id="c1") == []

    def test_search_runs_pages_visit_every_run_once(self, store: Store) -> None:
        store.create_runs(
            [new_run(f"run-{i:02d}", tags={"even": str(i % 2 == 0)}) for i in range(25)]
        )
        newest_first = [f"run-{i:02d}" for i in reversed(range(25))]
        for page_size, tags in [(7, ()), (1, ()), (25, ()), (4, [TagFilter("even", "True", True)])]:
            seen: list[str] = []
            token: str | None = None
            pages = 0
            while True:
                page = store.search_runs(
                    RunQuery(
                        experiment_name="exp", tags=tags, page_size=page_size, page_token=token
                    )
                )
                pages += 1
                assert len(page.runs) <= page_size
                if len(page.runs) < page_size:
                    assert page.next_page_token is None
                seen.extend(run_ids(page.runs))
                token = page.next_page_token
                if token is None:
                    break
                assert pages <= 30
            expected = newest_first if not tags else newest_first[::2]
            assert seen == expected

    def test_search_runs_pages_ignore_runs_created_meanwhile(self, store: Store) -> None:
        store.create_runs([new_run(f"old-{i}") for i in range(6)])
        first = store.search_runs(RunQuery(page_size=4))
        assert run_ids(first.runs) == ["old-5", "old-4", "old-3", "old-2"]
        store.create_runs([new_run(f"new-{i}") for i in range(3)])
        rest = store.search_runs(RunQuery(page_size=4, page_token=first.next_page_token))
        assert (run_ids(rest.runs), rest.next_page_token) == (["old-1", "old-0"], None)

    def test_search_runs_invalid_page_token_raises(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(UserError):
            store.search_runs(RunQuery(page_token="not a token"))

    # -- metrics -------------------------------------------------------------------------------

    def test_log_metrics_creates_series_from_first_chunk(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics(
            [
                chunk("r", "rows", [{"a": 1}], kind=MetricKind.TABLE, value_type=ValueType.ROW),
                chunk(
                    "r",
                    "rows",
                    [{"a": 2}],
                    kind=MetricKind.TABLE,
                    value_type=ValueType.ROW,
                    description="ignored later description",
                ),
            ]
        )
        store.log_metrics([chunk("r", "acc", [0.5], description="accuracy")])
        store.log_metrics([chunk("r", "acc", [0.6], description="another")])
        series = {s.name: s for s in store.list_metric_series(["r"])}
        assert set(series) == {"rows", "acc"}
        rows = series["rows"]
        assert (rows.kind, rows.value_type, rows.description, rows.count) == (
            MetricKind.TABLE,
            ValueType.ROW,
            "",
            2,
        )
        acc = series["acc"]
        assert (acc.kind, acc.value_type, acc.description, acc.count) == (
            MetricKind.VECTOR,
            ValueType.NUMBER,
            "accuracy",
            2,
        )
        data = {d.name: d for d in store.read_metrics(["r"])}
        assert (data["acc"].kind, data["acc"].description) == (MetricKind.VECTOR, "accuracy")

    def test_log_metrics_appends_in_order_across_chunks_and_calls(self, store: Store) -> None:
        store.create_runs([new_run("r"), new_run("q")])
        store.log_metrics(
            [
                chunk("r", "loss", [5, 4], first_time=1.0),
                chunk("q", "loss", [50], first_time=1.0),
                chunk("r", "loss", [3], first_time=3.0),
            ]
        )
        store.log_metrics([chunk("r", "loss", [2, 1], first_time=4.0)])
        store.log_metrics([chunk("r", "loss", [0], first_time=6.0), chunk("q", "loss", [40])])
        by_run = {d.run_id: d for d in store.read_metrics(["r", "q"])}
        assert list(by_run["r"].values) == [5, 4, 3, 2, 1, 0]
        assert list(by_run["r"].times) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        assert list(by_run["q"].values) == [50, 40]

    def test_log_metrics_keeps_steps(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics(
            [chunk("r", "m", [1.0, 2.0]), chunk("r", "m", [3.0, 4.0, 5.0], steps=[10, None, 30])]
        )
        store.log_metrics([chunk("r", "m", [6.0], steps=[0])])
        (data,) = store.read_metrics(["r"])
        assert list(data.steps) == [None, None, 10, None, 30, 0]
        assert list(data.values) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    def test_list_metric_series_summarises_each_series(self, store: Store) -> None:
        store.create_runs([new_run("r"), new_run("q")])
        nan = float("nan")
        store.log_metrics([chunk("r", "loss", [3.0, nan, -1.5]), chunk("q", "loss", [7])])
        store.log_metrics(
            [
                chunk("r", "loss", [10, nan, 2.0]),
                chunk("r", "word", ["hi", "yo"], value_type=ValueType.STRING),
            ]
        )
        store.log_metrics([chunk("r", "gone", [nan])])
        series = {(s.run_id, s.name): s for s in store.list_metric_series(["r", "q"])}
        assert set(series) == {("r", "loss"), ("q", "loss"), ("r", "word"), ("r", "gone")}
        loss = series[("r", "loss")]
        assert (loss.count, loss.last_value, loss.min_value, loss.max_value) == (6, 2.0, -1.5, 10)
        q_loss = series[("q", "loss")]
        assert (q_loss.count, q_loss.last_value, q_loss.min_value, q_loss.max_value) == (1, 7, 7, 7)
        word = series[("r", "word")]
        assert (word.count, word.last_value, word.value_type) == (2, "yo", ValueType.STRING)
        assert (word.min_value, word.max_value) == (None, None)
        gone = series[("r", "gone")]
        assert gone.count == 1 and math.isnan(gone.last_value)
        assert (gone.min_value, gone.max_value) == (None, None)
        assert store.list_metric_series(["q"]) == [series[("q", "loss")]]

    def test_read_metrics_filters_by_names(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics([chunk("r", name, [1]) for name in ("a", "b", "c")])
        assert sorted(d.name for d in store.read_metrics(["r"])) == ["a", "b", "c"]
        assert sorted(d.name for d in store.read_metrics(["r"], ["c", "a", "absent"])) == ["a", "c"]
        assert store.read_metrics(["r"], []) == []

    def test_log_metrics_name_over_limit_writes_nothing(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(LimitExceededError):
            store.log_metrics([chunk("r", "loss", [1.0]), chunk("r", "n" * 256, [2.0])])
        assert store.list_metric_series(["r"]) == []

    def test_log_metrics_unknown_run_writes_nothing(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(RunNotFoundError):
            store.log_metrics([chunk("r", "loss", [1.0]), chunk("no-such-run", "loss", [2.0])])
        assert store.list_metric_series(["r"]) == []
        assert store.read_metrics(["r"]) == []

    @pytest.mark.parametrize(
        ("value_type", "kind", "values"),
        [
            (ValueType.NUMBER, MetricKind.VECTOR, [1, -2, 0, 2**53 + 1]),
            (ValueType.NUMBER, MetricKind.VECTOR, [1.0, -0.5, 1e-300, 2.0**60, float("inf")]),
            (ValueType.NUMBER, MetricKind.VECTOR, [1, 1.0, 2, 2.5]),
            (ValueType.STRING, MetricKind.VECTOR, ["", "text", "ünïcødé ✓", '"quoted"\n']),
            (ValueType.BOOL, MetricKind.VECTOR, [True, False, True]),
            (ValueType.NONE, MetricKind.VECTOR, [None, None]),
            (
                ValueType.ROW,
                MetricKind.TABLE,
                [{"epoch": 1, "acc": 0.5, "tag": "a", "ok": True}, {"epoch": 2, "acc": None}],
            ),
            (ValueType.ARTIFACT, MetricKind.IMAGE, ["aml://artifactId/ExperimentRun/dcid.r/x.png"]),
        ],
    )
    def test_log_metrics_round_trips_values(
        self, store: Store, value_type: ValueType, kind: MetricKind, values: list[Any]
    ) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics([chunk("r", "m", values, kind=kind, value_type=value_type)])
        (data,) = store.read_metrics(["r"])
        assert (data.kind, data.value_type) == (kind, value_type)
        assert list(data.values) == values
        assert [type(v) for v in data.values] == [type(v) for v in values]
        if value_type is ValueType.ROW:
            for got, sent in zip(data.values, values, strict=True):
                assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in sent.items()}
        (summary,) = store.list_metric_series(["r"])
        assert summary.last_value == values[-1]
        assert type(summary.last_value) is type(values[-1])

    def test_log_metrics_nan_round_trips(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics([chunk("r", "m", [float("nan"), 1.5, float("-inf")])])
        values = list(store.read_metrics(["r"])[0].values)
        assert math.isnan(values[0]) and values[1:] == [1.5, float("-inf")]

    def test_log_metrics_none_series_takes_later_value_type(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics([chunk("r", "m", [None], value_type=ValueType.NONE)])
        assert store.list_metric_series(["r"])[0].value_type is ValueType.NONE
        store.log_metrics([chunk("r", "m", [2.5], value_type=ValueType.NUMBER)])
        (series,) = store.list_metric_series(["r"])
        assert (series.value_type, series.count, series.min_value) == (ValueType.NUMBER, 2, 2.5)
        assert list(store.read_metrics(["r"])[0].values) == [None, 2.5]

    # -- artifacts -----------------------------------------------------------------------------

    def test_put_artifact_round_trips_bytes(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        before = time.time()
        info = store.put_artifact("r", "outputs/model.bin", io.BytesIO(b"\x00weights\xff"))
        assert (info.run_id, info.path, info.size) == ("r", "outputs/model.bin", 9)
        assert_recent(info.created_time, before, time.time())
        assert read_artifact(store, "r", "outputs/model.bin") == b"\x00weights\xff"
        store.put_artifact("r", "empty.txt", io.BytesIO(b""))
        assert read_artifact(store, "r", "empty.txt") == b""
        listed = store.list_artifacts("r")
        assert [a.path for a in listed] == ["empty.txt", "outputs/model.bin"]
        assert (listed[0].size, listed[1]) == (0, info)

    def test_list_artifacts_sorted_by_path(self, store: Store) -> None:
        store.create_runs([new_run("r"), new_run("other")])
        for path in ("outputs/b.txt", "logs/std.txt", "outputs/a.txt", "z.txt", "a.txt"):
            store.put_artifact("r", path, io.BytesIO(path.encode()))
        store.put_artifact("other", "outputs/x.txt", io.BytesIO(b"x"))
        listed = store.list_artifacts("r")
        assert [a.path for a in listed] == [
            "a.txt",
            "logs/std.txt",
            "outputs/a.txt",
            "outputs/b.txt",
            "z.txt",
        ]
        assert [a.size for a in listed] == [5, 12, 13, 13, 5]
        assert {a.run_id for a in listed} == {"r"}
        assert store.list_artifacts("r", "outputs/") == listed[2:4]
        assert [a.path for a in store.list_artifacts("r", "outputs")] == [
            "outputs/a.txt",
            "outputs/b.txt",
        ]
        assert store.list_artifacts("r", "absent/") == []
        assert store.list_artifacts("r", "") == listed

    def test_list_artifacts_prefix_is_literal(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        paths = ["a_b/1", "aXb/2", "a%c/3", "abc/4", "A_B/6", "a_b_c/7"]
        for path in paths:
            store.put_artifact("r", path, io.BytesIO(b"."))

        def listed(prefix: str) -> list[str]:
            return [a.path for a in store.list_artifacts("r", prefix)]

        assert listed("a_b/") == ["a_b/1"]
        assert listed("a_") == ["a_b/1", "a_b_c/7"]
        assert listed("a%") == ["a%c/3"]
        assert listed("%") == []
        assert listed("_") == []
        assert listed("A_") == ["A_B/6"]
        assert listed("a/") == []

    def test_put_artifact_existing_path_keeps_first_content(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        first = store.put_artifact("r", "outputs/x.txt", io.BytesIO(b"first"))
        with pytest.raises(ArtifactExistsError):
            store.put_artifact("r", "outputs/x.txt", io.BytesIO(b"second, longer"))
        with pytest.raises(ArtifactExistsError):
            store.put_artifact("r", "outputs//./x.txt", io.BytesIO(b"same path, spelled else"))
        assert read_artifact(store, "r", "outputs/x.txt") == b"first"
        assert store.list_artifacts("r") == [first]

    def test_put_artifact_same_path_in_two_runs(self, store: Store) -> None:
        store.create_runs([new_run("r"), new_run("q")])
        store.put_artifact("r", "x.txt", io.BytesIO(b"of r"))
        store.put_artifact("q", "x.txt", io.BytesIO(b"of q"))
        assert read_artifact(store, "r", "x.txt") == b"of r"
        assert read_artifact(store, "q", "x.txt") == b"of q"

    @pytest.mark.parametrize(
        "path",
        [
            "../escape.txt",
            "a/../../escape.txt",
            "a/../b.txt",
            "..",
            "/etc/passwd",
            "\\windows\\abs",
            "C:/abs.txt",
            "c:relative",
            "",
            "   ",
            ".",
            "./",
        ],
    )
    def test_put_artifact_rejects_paths_outside_run(self, store: Store, path: str) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(InvalidNameError):
            store.put_artifact("r", path, io.BytesIO(b"x"))
        assert store.list_artifacts("r") == []

    def test_put_artifact_file_beside_folder_of_same_name(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.put_artifact("r", "d/inner.txt", io.BytesIO(b"inner"))
        store.put_artifact("r", "f", io.BytesIO(b"file"))
        for path in ("d", "f/under.txt"):
            try:
                store.put_artifact("r", path, io.BytesIO(b"clash"))
            except UserError:
                assert path not in [a.path for a in store.list_artifacts("r")]
            else:
                assert read_artifact(store, "r", path) == b"clash"
        assert read_artifact(store, "r", "d/inner.txt") == b"inner"
        assert read_artifact(store, "r", "f") == b"file"

    def test_put_artifact_broken_source_writes_nothing(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises((OSError, RunyardError)):
            store.put_artifact("r", "outputs/x.bin", BrokenStream(b"half of it"))
        assert store.list_artifacts("r") == []
        with pytest.raises(ArtifactNotFoundError):
            store.open_artifact("r", "outputs/x.bin")
        store.put_artifact("r", "outputs/x.bin", io.BytesIO(b"all of it"))
        assert read_artifact(store, "r", "outputs/x.bin") == b"all of it"

    def test_put_artifact_waits_for_an_upload_under_way_that_breaks_off(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        stalling = StallingStream(b"half of it")
        failures: list[BaseException] = []

        def first_upload() -> None:
            try:
                store.put_artifact("r", "outputs/x.bin", stalling)
            except BaseException as exc:
                failures.append(exc)

        first = threading.Thread(target=first_upload)
        first.start()
        assert stalling.started.wait(30)
        threading.Timer(0.3, stalling.release.set).start()  # breaks off while the next waits
        store.put_artifact("r", "outputs/x.bin", io.BytesIO(b"all of it"))
        first.join(30)
        assert len(failures) == 1 and isinstance(failures[0], (OSError, RunyardError))
        assert read_artifact(store, "r", "outputs/x.bin") == b"all of it"
        assert [a.path for a in store.list_artifacts("r")] == ["outputs/x.bin"]

    def test_put_new_artifacts_writes_each_path_once(self, store: Store, tmp_path: Path) -> None:
        store.create_runs([new_run("r")])
        folder = tmp_path / "outputs"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.txt").write_bytes(b"a, first")
        (folder / "sub" / "b.bin").write_bytes(b"\x00b")
        store.put_artifact("r", "outputs/taken.txt", io.BytesIO(b"there before"))
        (folder / "taken.txt").write_bytes(b"not written: the path is taken")
        files = {f"outputs/{p.relative_to(folder).as_posix()}": p for p in folder.rglob("*.*")}

        store.put_new_artifacts("r", files)
        (folder / "a.txt").write_bytes(b"a, changed")
        (folder / "c.txt").write_bytes(b"c, new")
        store.put_new_artifacts("r", {**files, "outputs/c.txt": str(folder / "c.txt")})
        store.put_new_artifacts("r", {})

        assert [a.path for a in store.list_artifacts("r")] == [
            "outputs/a.txt",
            "outputs/c.txt",
            "outputs/sub/b.bin",
            "outputs/taken.txt",
        ]
        assert read_artifact(store, "r", "outputs/a.txt") == b"a, first"
        assert read_artifact(store, "r", "outputs/c.txt") == b"c, new"
        assert read_artifact(store, "r", "outputs/sub/b.bin") == b"\x00b"
        assert read_artifact(store, "r", "outputs/taken.txt") == b"there before"

    def test_put_new_artifacts_refuses_bad_paths_and_missing_runs(
        self, store: Store, tmp_path: Path
    ) -> None:
        store.create_runs([new_run("r")])
        source = tmp_path / "x.txt"
        source.write_bytes(b"x")
        with pytest.raises(InvalidNameError):
            store.put_new_artifacts("r", {"ok.txt": source, "../escape.txt": source})
        assert store.list_artifacts("r") == []
        with pytest.raises(RunNotFoundError):
            store.put_new_artifacts("absent", {"x.txt": source})

    def test_open_artifact_missing_raises(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.put_artifact("r", "present.txt", io.BytesIO(b"x"))
        for path in ("absent.txt", "Present.txt", "present"):
            with pytest.raises(ArtifactNotFoundError):
                store.open_artifact("r", path)

    def test_put_artifact_missing_run_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.put_artifact("absent", "x.txt", io.BytesIO(b"x"))

    def test_put_artifact_streams_large_file(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        data = random.Random(7).randbytes(5 * 1024 * 1024 + 13)
        info = store.put_artifact("r", "big/blob.bin", io.BytesIO(data))
        assert info.size == len(data)
        assert read_artifact(store, "r", "big/blob.bin") == data

    # -- uploads that die or stall --------------------------------------------------------------

    @pytest.fixture
    def backing(self) -> SqlTarget:
        """The SQL store behind the backend, where a worker process can upload as the store (or
        the server) would, and be killed half-way."""
        raise NotImplementedError("A backend's test class provides the SQL store behind it.")

    def test_put_artifact_takes_over_an_upload_whose_writer_died(
        self, store: Store, backing: SqlTarget
    ) -> None:
        store.create_runs([new_run("r")])
        with upload_worker(sql_spec(backing, "r", "outputs/model.bin", 6 * MiB)) as worker:
            worker.wait_stalled()
            worker.kill()
        assert store.list_artifacts("r") == []
        with pytest.raises(ArtifactNotFoundError):
            store.open_artifact("r", "outputs/model.bin")

        info = store.put_artifact("r", "outputs/model.bin", io.BytesIO(b"after the crash"))
        assert store.list_artifacts("r") == [info]
        assert read_artifact(store, "r", "outputs/model.bin") == b"after the crash"
        assert leftovers(backing) == []

    def test_put_artifact_takes_over_a_stalled_upload_which_then_fails(
        self, store: Store, backing: SqlTarget, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        stale = {UPLOAD_STALE_SECONDS_ENV: str(STALE_UPLOAD_SECONDS)}
        monkeypatch.setenv(UPLOAD_STALE_SECONDS_ENV, str(STALE_UPLOAD_SECONDS))
        store.create_runs([new_run("r")])
        spec = sql_spec(backing, "r", "outputs/model.bin", 6 * MiB, tail=MiB)
        with upload_worker(spec, stale) as worker:
            worker.wait_stalled()
            # The next upload waits, then takes the stalled one over once it has been silent
            # for STALE_UPLOAD_SECONDS (a live upload is refused until then: see
            # tests/reliability/test_upload_crash.py).
            deadline = time.monotonic() + 30 * STALE_UPLOAD_SECONDS
            while True:
                try:
                    info = store.put_artifact("r", "outputs/model.bin", io.BytesIO(b"the winner"))
                    break
                except ArtifactExistsError:
                    assert time.monotonic() < deadline, "the stalled upload was never taken over"
                    time.sleep(0.1)
            outcome = worker.resume()

        assert outcome.startswith("error ArtifactExistsError") and "taken over" in outcome
        assert store.list_artifacts("r") == [info]
        assert read_artifact(store, "r", "outputs/model.bin") == b"the winner"
        assert leftovers(backing) == []

    # -- snapshots -----------------------------------------------------------------------------

    def test_missing_blobs_reports_unknown_digests(self, store: Store) -> None:
        held, other = sha256(b"held"), sha256(b"other")
        assert store.missing_blobs([]) == set()
        assert store.missing_blobs([held, other]) == {held, other}
        store.put_blob(held, io.BytesIO(b"held"))
        assert store.missing_blobs([held, other, other]) == {other}
        assert store.missing_blobs(iter([held])) == set()

    def test_put_blob_is_idempotent(self, store: Store) -> None:
        digest = sha256(b"content")
        store.put_blob(digest, io.BytesIO(b"content"))
        store.put_blob(digest, io.BytesIO(b"content"))
        assert read_blob(store, digest) == b"content"
        assert store.missing_blobs([digest]) == set()

    def test_put_blob_wrong_digest_stores_nothing(self, store: Store) -> None:
        digest = sha256(b"promised")
        with pytest.raises(UserError):
            store.put_blob(digest, io.BytesIO(b"delivered"))
        assert store.missing_blobs([digest, sha256(b"delivered")]) == {
            digest,
            sha256(b"delivered"),
        }
        with pytest.raises(SnapshotNotFoundError):
            store.open_blob(digest)
        store.put_blob(digest, io.BytesIO(b"promised"))
        assert read_blob(store, digest) == b"promised"

    def test_put_blob_broken_source_stores_nothing(self, store: Store) -> None:
        digest = sha256(b"content")
        with pytest.raises((OSError, RunyardError)):
            store.put_blob(digest, BrokenStream(b"content"))
        assert store.missing_blobs([digest]) == {digest}
        store.put_blob(digest, io.BytesIO(b"content"))
        assert read_blob(store, digest) == b"content"

    @pytest.mark.parametrize("digest", ["", "abc", "../" + "0" * 61, "A" * 64, "g" * 64])
    def test_put_blob_malformed_digest_raises(self, store: Store, digest: str) -> None:
        with pytest.raises(UserError):
            store.put_blob(digest, io.BytesIO(b"x"))
        assert store.missing_blobs([digest]) == {digest}

    def test_put_blob_large_stream_round_trips(self, store: Store) -> None:
        data = random.Random(3).randbytes(3 * 1024 * 1024 + 5)
        store.put_blob(sha256(data), io.BytesIO(data))
        assert read_blob(store, sha256(data)) == data

    def test_open_blob_missing_raises(self, store: Store) -> None:
        with pytest.raises(SnapshotNotFoundError):
            store.open_blob(sha256(b"never stored"))

    def test_create_snapshot_needs_blobs(self, store: Store) -> None:
        store.put_blob(sha256(b"a"), io.BytesIO(b"a"))
        files = [
            SnapshotFile("a.py", sha256(b"a"), 1),
            SnapshotFile("b.py", sha256(b"b"), 1),
        ]
        with pytest.raises(UserError):
            store.create_snapshot("snap-1", files)
        with pytest.raises(SnapshotNotFoundError):
            store.get_snapshot("snap-1")
        store.put_blob(sha256(b"b"), io.BytesIO(b"b"))
        store.create_snapshot("snap-1", files)
        assert store.get_snapshot("snap-1") == files

    def test_get_snapshot_sorted_by_path(self, store: Store) -> None:
        contents = {"src/z.py": b"z", "README.md": b"readme", "src/a.py": b"a", "b.txt": b"z"}
        for data in contents.values():
            store.put_blob(sha256(data), io.BytesIO(data))
        files = [SnapshotFile(p, sha256(d), len(d)) for p, d in contents.items()]
        store.create_snapshot("snap", files)
        manifest = store.get_snapshot("snap")
        assert [f.path for f in manifest] == ["README.md", "b.txt", "src/a.py", "src/z.py"]
        assert sorted(manifest, key=lambda f: f.path) == sorted(files, key=lambda f: f.path)
        assert [read_blob(store, f.digest) for f in manifest] == [b"readme", b"z", b"a", b"z"]

    def test_get_snapshot_empty_manifest(self, store: Store) -> None:
        store.create_snapshot("empty", [])
        assert store.get_snapshot("empty") == []

    def test_get_snapshot_missing_raises(self, store: Store) -> None:
        with pytest.raises(SnapshotNotFoundError):
            store.get_snapshot("absent")
        with pytest.raises(NotFoundError):
            store.get_snapshot("absent")

    # -- supervised runs: queue, stop requests, heartbeats ---------------------------------------

    def _queued(self, store: Store, *run_ids: str, target: str = "local") -> None:
        store.create_runs([new_run(r, status=RunStatus.QUEUED, target=target) for r in run_ids])
        for run_id in run_ids:
            store.heartbeat(run_id)

    def test_claim_queued_run_starts_runs_in_order_within_the_limit(self, store: Store) -> None:
        self._queued(store, "q1", "q2", "q3")
        long_ago = time.time() - 3600
        assert store.claim_queued_run("q2", "local", 2, long_ago).status is RunStatus.QUEUED
        first = store.claim_queued_run("q1", "local", 2, long_ago)
        assert first.status is RunStatus.STARTING
        assert first.start_time is not None
        assert store.claim_queued_run("q2", "local", 2, long_ago).status is RunStatus.STARTING
        assert store.claim_queued_run("q3", "local", 2, long_ago).status is RunStatus.QUEUED
        store.set_run_status("q1", RunStatus.COMPLETED)
        assert store.claim_queued_run("q3", "local", 2, long_ago).status is RunStatus.STARTING

    def test_claim_queued_run_counts_slots_per_target(self, store: Store) -> None:
        self._queued(store, "a1", target="a")
        self._queued(store, "b1", target="b")
        long_ago = time.time() - 3600
        assert store.claim_queued_run("a1", "a", 1, long_ago).status is RunStatus.STARTING
        assert store.claim_queued_run("b1", "b", 1, long_ago).status is RunStatus.STARTING

    def test_claim_queued_run_skips_a_queued_run_whose_heartbeat_is_stale(
        self, store: Store
    ) -> None:
        self._queued(store, "dead", "alive")
        time.sleep(0.05)
        store.heartbeat("alive")
        fresh_only = time.time() - 0.02
        assert store.claim_queued_run("alive", "local", 1, fresh_only).status is RunStatus.STARTING

    def test_claim_queued_run_leaves_other_statuses_alone(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        assert store.claim_queued_run("r", "local", 5, 0.0).status is RunStatus.RUNNING

    def test_request_stop_before_start_ends_the_run_at_once(self, store: Store) -> None:
        self._queued(store, "q")
        error = {"error": {"code": "UserError", "message": "stop"}}
        ended = store.request_stop("q", RunStatus.FAILED, error)
        assert ended.status is RunStatus.FAILED
        assert ended.end_time is not None
        assert ended.error == error

    def test_request_stop_of_a_started_run_asks_its_supervisor(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        asked = store.request_stop("r", RunStatus.CANCELED)
        assert (asked.status, asked.stop_status) == (RunStatus.CANCEL_REQUESTED, RunStatus.CANCELED)
        again = store.request_stop("r", RunStatus.FAILED, {"error": {"code": "X"}})
        assert again.stop_status is RunStatus.CANCELED
        assert again.error == {"error": {"code": "X"}}

    def test_request_stop_leaves_finished_runs_alone(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.set_run_status("r", RunStatus.COMPLETED)
        assert store.request_stop("r", RunStatus.CANCELED).status is RunStatus.COMPLETED

    def test_request_stop_refuses_other_statuses(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(UserError, match="Canceled or Failed"):
            store.request_stop("r", RunStatus.COMPLETED)
        assert store.get_run("r").status is RunStatus.RUNNING

    def test_record_error_keeps_the_first_and_the_status(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.record_error("r", {"error": {"code": "First"}})
        store.record_error("r", {"error": {"code": "Second"}})
        run = store.get_run("r")
        assert (run.status, run.error) == (RunStatus.RUNNING, {"error": {"code": "First"}})

    def test_expire_heartbeats_not_responding_then_back_then_failed(self, store: Store) -> None:
        store.create_runs([new_run("silent"), new_run("interactive")])
        store.heartbeat("silent")
        time.sleep(0.05)
        cutoff = time.time()
        error = {"error": {"code": "RunNotResponding"}}
        changed = store.expire_heartbeats(cutoff, cutoff - 3600, error)
        assert run_ids(changed) == ["silent"]
        assert store.get_run("silent").status is RunStatus.NOT_RESPONDING
        assert store.get_run("interactive").status is RunStatus.RUNNING
        store.heartbeat("silent")
        assert store.get_run("silent").status is RunStatus.RUNNING
        time.sleep(0.05)
        cutoff = time.time()
        (dead,) = store.expire_heartbeats(cutoff, cutoff, error)
        assert (dead.run_id, dead.status, dead.error) == ("silent", RunStatus.FAILED, error)
        assert dead.end_time is not None
        assert store.expire_heartbeats(time.time(), time.time(), error) == []

    def test_expire_heartbeats_fails_dead_queued_runs(self, store: Store) -> None:
        self._queued(store, "q")
        time.sleep(0.05)
        now = time.time()
        (dead,) = store.expire_heartbeats(now, now, {"error": {"code": "Dead"}})
        assert dead.status is RunStatus.FAILED

    def test_expire_heartbeats_ends_a_stop_request_whose_supervisor_is_gone(
        self, store: Store
    ) -> None:
        """A CancelRequested run ends as its stop request asked once its heartbeat is older than
        the not-responding time, long before the dead-run time: its supervisor, which would end
        it, is gone (``entities.expiry_change``)."""
        store.create_runs([new_run(r) for r in ("canceled", "failed", "bare", "alive", "own")])
        for run_id in ("canceled", "failed", "bare", "alive", "own"):
            store.heartbeat(run_id)
        asked = {"error": {"code": "UserError", "message": "stopped by the user"}}
        store.request_stop("canceled", RunStatus.CANCELED)
        store.request_stop("failed", RunStatus.FAILED, asked)
        store.set_run_status("bare", RunStatus.CANCEL_REQUESTED)  # no stop status: Canceled
        store.request_stop("alive", RunStatus.CANCELED)
        store.request_stop("own", RunStatus.CANCELED, asked)
        store.create_runs([new_run("interactive")])  # never heartbeats: never touched
        store.request_stop("interactive", RunStatus.CANCELED)
        time.sleep(0.05)
        cutoff = time.time()
        time.sleep(0.05)  # more than a request takes: the server turns the cutoff into an age
        store.heartbeat("alive")
        dead = {"error": {"code": "RunNotResponding", "message": "dead"}}
        gone = {"error": {"code": "RunNotResponding", "message": "supervisor gone"}}

        changed = store.expire_heartbeats(cutoff, cutoff - 3600, dead, gone)

        ended = {info.run_id: (info.status, info.error) for info in changed}
        assert ended == {
            "canceled": (RunStatus.CANCELED, gone),
            "failed": (RunStatus.FAILED, asked),
            "bare": (RunStatus.CANCELED, gone),
            "own": (RunStatus.CANCELED, asked),
        }
        assert all(info.end_time is not None for info in changed)
        assert store.get_run("canceled").status is RunStatus.CANCELED
        for run_id in ("alive", "interactive"):
            assert store.get_run(run_id).status is RunStatus.CANCEL_REQUESTED
        assert store.expire_heartbeats(cutoff, cutoff - 3600, dead, gone) == []

    def test_expire_heartbeats_without_a_stopped_error_records_none(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.heartbeat("r")
        store.request_stop("r", RunStatus.CANCELED)
        time.sleep(0.05)
        now = time.time()
        (ended,) = store.expire_heartbeats(now, now - 3600, {"error": {"code": "Dead"}})
        assert (ended.status, ended.error) == (RunStatus.CANCELED, None)

    # -- logs ----------------------------------------------------------------------------------

    def test_logs_append_and_read_from_any_offset(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        name = "user_logs/std_log.txt"
        assert store.read_log("r", name) == b""
        store.append_log("r", name, b"first line\n")
        store.append_log("r", name, b"second line\n")
        store.append_log("r", name, b"")
        assert store.read_log("r", name) == b"first line\nsecond line\n"
        assert store.read_log("r", name, 6) == b"line\nsecond line\n"
        assert store.read_log("r", name, 11) == b"second line\n"
        assert store.read_log("r", name, 100) == b""
        store.append_log("r", "system_logs/supervisor.txt", b"x")
        assert store.list_logs("r") == {"system_logs/supervisor.txt": 1, name: 23}

    def test_list_logs_sorted_by_code_point(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        names = ["user_logs/b.txt", "User.txt", "user_logs/a_b.txt", "user_logs/a.txt", "a-b.txt"]
        for name in names:
            store.append_log("r", name, b"x")
        assert list(store.list_logs("r")) == sorted(names)

    def test_logs_name_over_limit_raises(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(LimitExceededError):
            store.append_log("r", "logs/" + "n" * 251, b"x")
        assert store.list_logs("r") == {}

    def test_logs_refuse_paths_leaving_the_run(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(InvalidNameError):
            store.append_log("r", "../escape.txt", b"x")
        with pytest.raises(RunNotFoundError):
            store.append_log("absent", "log.txt", b"x")

    def test_set_run_status_keeps_a_stop_request_until_the_end(self, store: Store) -> None:
        store.create_runs([new_run("r", status=RunStatus.STARTING)])
        store.request_stop("r", RunStatus.CANCELED)
        assert store.set_run_status("r", RunStatus.RUNNING).status is RunStatus.CANCEL_REQUESTED
        assert store.set_run_status("r", RunStatus.FINALIZING).status is RunStatus.CANCEL_REQUESTED
        assert store.set_run_status("r", RunStatus.CANCELED).status is RunStatus.CANCELED

    def test_status_rules_foresee_what_the_store_answers(self, store: Store) -> None:
        """After each status change and stop request, the run is what the rules of
        ``runyard.entities`` foresee from the run before it: the rules the HTTP store's offline
        guess follows while its server is away (times: set or kept, as the rules say)."""
        sequences = status_changes.SEQUENCES
        store.create_runs(
            [new_run(f"r{i}", status=s) for i, (s, _) in enumerate(sequences.values())]
        )
        for i, (name, (_, changes)) in enumerate(sequences.items()):
            run_id = f"r{i}"
            for step, change in enumerate(changes):
                where = f"{name}, change {step} ({change})"
                before = store.get_run(run_id)
                try:
                    foreseen = change.foresee(before, time.time())
                except UserError:
                    with pytest.raises(UserError):
                        change.make(store, run_id)
                    assert store.get_run(run_id) == before, where
                    continue
                answered = change.make(store, run_id)
                assert status_changes.comparable(answered, before) == status_changes.comparable(
                    foreseen, before
                ), where
                assert store.get_run(run_id) == answered, where

    # -- exactly once: request ids ---------------------------------------------------------------

    def test_create_runs_same_request_id_creates_once(self, store: Store) -> None:
        batch = [new_run("a"), new_run("b", "other")]
        first = store.create_runs(batch, request_id="client-1")
        again = store.create_runs(batch, request_id="client-1")
        assert [(r.run_id, r.number, r.experiment_id) for r in again] == [
            (r.run_id, r.number, r.experiment_id) for r in first
        ]
        assert sorted(run_ids(all_runs(store))) == ["a", "b"]
        with pytest.raises(UserError):  # a new request: the ids are taken
            store.create_runs([new_run("a")], request_id="client-2")

    def test_create_runs_known_request_id_returns_the_runs_as_they_are(self, store: Store) -> None:
        store.create_runs([new_run("a")], request_id="client-1")
        store.set_tags("a", {"stage": "2"})
        (again,) = store.create_runs([new_run("a")], request_id="client-1")
        assert (again.run_id, again.number, again.tags) == ("a", 1, {"stage": "2"})

    def test_create_runs_request_id_of_other_runs_creates_nothing(self, store: Store) -> None:
        store.create_runs([new_run("a")], request_id="client-1")
        with pytest.raises(UserError, match="applied already"):
            store.create_runs([new_run("z")], request_id="client-1")
        assert run_ids(all_runs(store)) == ["a"]

    def test_log_metrics_same_request_id_appends_once(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        batch = [chunk("r", "loss", [3, 2]), chunk("r", "acc", [0.5])]
        store.log_metrics(batch, request_id="client-1")
        store.log_metrics(batch, request_id="client-1")
        store.log_metrics([chunk("r", "loss", [1], first_time=3.0)], request_id="client-2")
        data = {d.name: list(d.values) for d in store.read_metrics(["r"])}
        assert data == {"loss": [3, 2, 1], "acc": [0.5]}
        assert {s.name: s.count for s in store.list_metric_series(["r"])} == {"loss": 3, "acc": 1}

    def test_append_log_same_request_id_appends_once(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.append_log("r", "log.txt", b"one\n", request_id="client-1")
        store.append_log("r", "log.txt", b"one\n", request_id="client-1")
        store.append_log("r", "log.txt", b"two\n", request_id="client-2")
        assert store.read_log("r", "log.txt") == b"one\ntwo\n"
        assert store.list_logs("r") == {"log.txt": 8}

    def test_request_id_of_a_failed_write_is_not_applied(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.log_metrics([chunk("later", "loss", [1])], request_id="client-1")
        with pytest.raises(RunNotFoundError):
            store.append_log("later", "log.txt", b"x", request_id="client-2")
        store.create_runs([new_run("later")])
        store.log_metrics([chunk("later", "loss", [1])], request_id="client-1")
        store.append_log("later", "log.txt", b"x", request_id="client-2")
        assert list(store.read_metrics(["later"])[0].values) == [1]
        assert store.read_log("later", "log.txt") == b"x"

    def test_request_ids_without_one_every_call_applies(self, store: Store) -> None:
        store.create_runs([new_run("r")])
        store.log_metrics([chunk("r", "loss", [1])])
        store.log_metrics([chunk("r", "loss", [1])])
        assert list(store.read_metrics(["r"])[0].values) == [1, 1]

    @pytest.mark.parametrize("request_id", ["", "x" * 129, "caf\u00e9-1"])
    def test_request_id_invalid_writes_nothing(self, store: Store, request_id: str) -> None:
        store.create_runs([new_run("r")])
        with pytest.raises(UserError, match="Invalid request id"):
            store.log_metrics([chunk("r", "loss", [1])], request_id=request_id)
        with pytest.raises(UserError, match="Invalid request id"):
            store.append_log("r", "log.txt", b"x", request_id=request_id)
        with pytest.raises(UserError, match="Invalid request id"):
            store.create_runs([new_run("s")], request_id=request_id)
        assert store.list_metric_series(["r"]) == []
        assert store.list_logs("r") == {}
        assert run_ids(all_runs(store)) == ["r"]
