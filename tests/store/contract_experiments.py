"""The Store contract for what MLflow's experiment and run-resume calls need: experiments by id,
created (never got), renamed, and ended runs reopened. Mixed into ``StoreContract``, so it runs
on every backend (SQLite, PostgreSQL, S3 artifacts, HTTP in-process and a server process).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewRun,
    RunQuery,
    RunStatus,
    ValueType,
    ViewType,
)
from runyard.errors import (
    ExperimentExistsError,
    ExperimentNotEmptyError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
    LimitExceededError,
    RunNotFoundError,
    RunStateError,
    UserError,
)
from runyard.limits import MAX_TAGS_PER_RUN
from runyard.store.base import Store

S = RunStatus
CLOCK_SLACK = 1.0
ERROR = {"error": {"code": "UserError", "message": "boom"}}


def _names(store: Store) -> list[str]:
    return [e.name for e in store.list_experiments(ViewType.ALL)]


def _run_ids(store: Store, **query: Any) -> list[str]:
    page = store.search_runs(RunQuery(**query))
    assert page.next_page_token is None
    return [run.run_id for run in page.runs]


def _race(count: int, call: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``call(i)`` in ``count`` threads released together; their results and errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            result = call(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


class ExperimentContract:
    """Experiments by id, create, rename; reopen_run. Subclasses provide ``store``."""

    # -- get_experiment_by_id ------------------------------------------------------------------

    def test_get_experiment_by_id_finds_active_and_archived(self, store: Store) -> None:
        made = store.get_or_create_experiment("exp")
        assert store.get_experiment_by_id(made.experiment_id) == made
        archived = store.set_experiment_archived("exp", True)
        assert store.get_experiment_by_id(made.experiment_id) == archived

    @pytest.mark.parametrize(
        "experiment_id", ["absent", "0", "", "a/b", ".", "..", "a b", "x" * 40, "a\x00b", "\ud800"]
    )
    def test_get_experiment_by_id_missing_raises_naming_the_id(
        self, store: Store, experiment_id: str
    ) -> None:
        store.get_or_create_experiment("exp")
        with pytest.raises(ExperimentNotFoundError) as raised:
            store.get_experiment_by_id(experiment_id)
        if experiment_id.isalnum():
            assert repr(experiment_id) in str(raised.value)

    # -- create_experiment ---------------------------------------------------------------------

    def test_create_experiment_creates_with_a_new_uuid4(self, store: Store) -> None:
        before = time.time()
        created = store.create_experiment("exp", tags={"team": "vision", "bare": None})
        assert uuid.UUID(created.experiment_id).version == 4
        assert (created.name, created.archived_time) == ("exp", None)
        assert dict(created.tags) == {"team": "vision", "bare": None}
        assert before - CLOCK_SLACK <= created.created_time <= time.time() + CLOCK_SLACK
        assert store.get_experiment("exp") == created
        assert store.get_experiment_by_id(created.experiment_id) == created
        assert store.get_or_create_experiment("exp") == created
        other = store.create_experiment("other")
        assert other.experiment_id != created.experiment_id
        assert dict(other.tags) == {}

    @pytest.mark.parametrize("experiment_id", ["0", "1", "A-b_9", "x" * 36])
    def test_create_experiment_with_a_given_id(self, store: Store, experiment_id: str) -> None:
        created = store.create_experiment("Default", experiment_id=experiment_id)
        assert created.experiment_id == experiment_id
        assert store.get_experiment_by_id(experiment_id) == created
        [run] = store.create_runs([NewRun("r", "Default")])
        assert (run.experiment_id, run.experiment_name, run.number) == (experiment_id, "Default", 1)

    @pytest.mark.parametrize("archived", [False, True])
    def test_create_experiment_refuses_an_existing_name(self, store: Store, archived: bool) -> None:
        existing = store.create_experiment("exp", tags={"a": "1"})
        store.set_experiment_archived("exp", archived)
        with pytest.raises(ExperimentExistsError, match=r"named 'exp' exists already"):
            store.create_experiment("exp", tags={"a": "2"})
        with pytest.raises(ExperimentExistsError, match=r"named 'exp'"):
            store.create_experiment("exp", experiment_id="fresh")
        assert _names(store) == ["exp"]
        found = store.get_experiment("exp")
        assert (found.experiment_id, dict(found.tags)) == (existing.experiment_id, {"a": "1"})
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment_by_id("fresh")

    def test_create_experiment_refuses_an_existing_id(self, store: Store) -> None:
        store.create_experiment("Default", experiment_id="0")
        with pytest.raises(ExperimentExistsError, match=r"id '0' exists already"):
            store.create_experiment("other", experiment_id="0")
        assert _names(store) == ["Default"]
        auto = store.get_or_create_experiment("auto")
        with pytest.raises(ExperimentExistsError, match=re.escape(repr(auto.experiment_id))):
            store.create_experiment("again", experiment_id=auto.experiment_id)
        assert _names(store) == ["Default", "auto"]

    @pytest.mark.parametrize(
        "experiment_id", ["", "x" * 37, "a b", "a/b", "a.b", "é", "a\x00", "\ud800", 7]
    )
    def test_create_experiment_refuses_an_invalid_id(
        self, store: Store, experiment_id: Any
    ) -> None:
        # Not a string: refused too, by the server's reading of the body over HTTP.
        message = "Invalid experiment id" if isinstance(experiment_id, str) else None
        with pytest.raises(InvalidArgumentError, match=message):
            store.create_experiment("exp", experiment_id=experiment_id)
        assert _names(store) == []

    @pytest.mark.parametrize("name", ["", "-x", "has space", "x" * 256, "a.b", "a\x00"])
    def test_create_experiment_refuses_an_invalid_name(self, store: Store, name: str) -> None:
        with pytest.raises(InvalidNameError, match="Invalid experiment name"):
            store.create_experiment(name)
        assert _names(store) == []

    def test_create_experiment_refuses_tags_past_the_limits(self, store: Store) -> None:
        too_many = {f"k{i}": "v" for i in range(MAX_TAGS_PER_RUN + 1)}
        for tags in (too_many, {"k" * 256: "v"}, {"k": "v" * 5001}):
            with pytest.raises(LimitExceededError):
                store.create_experiment("exp", tags=tags)
        with pytest.raises(InvalidNameError):
            store.create_experiment("exp", tags={"": "v"})
        assert _names(store) == []

    def test_create_experiment_of_one_name_at_once_creates_one(self, store: Store) -> None:
        created, errors = _race(8, lambda i: store.create_experiment("race", tags={"i": str(i)}))
        assert len(created) == 1, errors
        assert len(errors) == 7
        assert all(isinstance(e, ExperimentExistsError) for e in errors), errors
        assert store.get_experiment("race") == created[0]
        assert _names(store) == ["race"]

    def test_create_experiment_of_one_id_at_once_creates_one(self, store: Store) -> None:
        created, errors = _race(6, lambda i: store.create_experiment(f"e{i}", experiment_id="0"))
        assert len(created) == 1, errors
        assert all(isinstance(e, ExperimentExistsError) for e in errors), errors
        assert _names(store) == [created[0].name]

    @pytest.mark.parametrize("experiment_id", [None, "7"])
    def test_create_experiment_sent_again_with_its_request_id_returns_it(
        self, store: Store, experiment_id: str | None
    ) -> None:
        rid = f"req-{uuid.uuid4().hex}"
        first = store.create_experiment("exp", experiment_id=experiment_id, request_id=rid)
        again = store.create_experiment("exp", experiment_id=experiment_id, request_id=rid)
        assert again == first
        store.set_experiment_tags("exp", {"later": "1"})
        assert store.create_experiment("exp", request_id=rid) == store.get_experiment("exp")
        assert _names(store) == ["exp"]
        with pytest.raises(UserError, match="applied already, to another write"):
            store.create_experiment("unrelated", request_id=rid)
        assert _names(store) == ["exp"]
        with pytest.raises(UserError, match="Invalid request id"):
            store.create_experiment("x", request_id="")

    # -- delete_experiment ---------------------------------------------------------------------

    def test_delete_experiment_without_runs_frees_its_name(self, store: Store) -> None:
        made = store.create_experiment("empty", tags={"a": "1"})
        store.create_experiment("kept")

        store.delete_experiment(made.experiment_id)

        assert _names(store) == ["kept"]
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment_by_id(made.experiment_id)
        assert store.get_or_create_experiment("empty").experiment_id != made.experiment_id
        with pytest.raises(ExperimentNotFoundError):
            store.delete_experiment(made.experiment_id)

    def test_delete_experiment_with_runs_is_refused(self, store: Store) -> None:
        made = store.create_experiment("busy")
        store.create_runs([NewRun("r1", "busy")])
        store.set_run_deleted("r1", True)  # a deleted run counts: it can be restored

        with pytest.raises(ExperimentNotEmptyError, match=r"busy.*1 run"):
            store.delete_experiment(made.experiment_id)

        assert store.get_experiment_by_id(made.experiment_id) == made
        assert store.get_run("r1").experiment_id == made.experiment_id

    def test_delete_experiment_unknown_id_raises(self, store: Store) -> None:
        with pytest.raises(ExperimentNotFoundError):
            store.delete_experiment(str(uuid.uuid4()))
        with pytest.raises(ExperimentNotFoundError):
            store.delete_experiment("not an id/..")

    # -- rename_experiment ---------------------------------------------------------------------

    def test_rename_experiment_keeps_id_runs_tags_and_archive_state(self, store: Store) -> None:
        old = store.create_experiment("old", tags={"team": "nlp"})
        store.create_runs(
            [NewRun("a", "old"), NewRun("kid", "old", parent_run_id="a"), NewRun("b", "old")]
        )
        store.create_runs([NewRun("z", "elsewhere")])
        store.set_experiment_archived("old", True)
        renamed = store.rename_experiment("old", "new")
        assert renamed.experiment_id == old.experiment_id
        assert (renamed.name, dict(renamed.tags)) == ("new", {"team": "nlp"})
        assert renamed.archived_time is not None
        assert renamed.created_time == old.created_time
        assert store.get_experiment("new") == renamed
        assert store.get_experiment_by_id(old.experiment_id) == renamed
        # The runs follow at once, under the new name only.
        assert _run_ids(store, experiment_name="new") == ["b", "a"]
        assert _run_ids(store, filter="attributes.experiment_name = 'new'") == ["b", "a"]
        assert store.count_runs(RunQuery(experiment_name="new", include_children=True)) == 3
        assert store.get_run("kid").experiment_name == "new"
        assert store.get_run("a").experiment_id == old.experiment_id
        with pytest.raises(ExperimentNotFoundError):
            store.search_runs(RunQuery(experiment_name="old"))
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment("old")
        assert _run_ids(store, filter="attributes.experiment_name = 'old'") == []
        # New runs are numbered on; the old name is free for a new experiment.
        [later] = store.create_runs([NewRun("c", "new")])
        assert later.number == 4
        fresh = store.get_or_create_experiment("old")
        assert fresh.experiment_id != old.experiment_id
        assert store.create_runs([NewRun("d", "old")])[0].number == 1

    def test_rename_experiment_to_its_own_name_changes_nothing(self, store: Store) -> None:
        made = store.create_experiment("exp", tags={"a": "1"})
        assert store.rename_experiment("exp", "exp") == made
        assert store.get_experiment("exp") == made

    @pytest.mark.parametrize("archived", [False, True])
    def test_rename_experiment_refuses_a_taken_name(self, store: Store, archived: bool) -> None:
        store.create_runs([NewRun("r", "mine")])
        store.get_or_create_experiment("taken")
        store.set_experiment_archived("taken", archived)
        with pytest.raises(ExperimentExistsError, match="Cannot rename experiment 'mine' to"):
            store.rename_experiment("mine", "taken")
        assert _names(store) == ["mine", "taken"]
        assert _run_ids(store, experiment_name="mine") == ["r"]
        assert _run_ids(store, experiment_name="taken") == []

    def test_rename_experiment_missing_raises(self, store: Store) -> None:
        with pytest.raises(ExperimentNotFoundError, match="'absent'"):
            store.rename_experiment("absent", "new")
        assert _names(store) == []

    @pytest.mark.parametrize("new_name", ["", "-x", "has space", "x" * 256, "a/b", "a\x00"])
    def test_rename_experiment_refuses_an_invalid_name(self, store: Store, new_name: str) -> None:
        store.get_or_create_experiment("exp")
        with pytest.raises(InvalidNameError, match="Invalid experiment name"):
            store.rename_experiment("exp", new_name)
        assert _names(store) == ["exp"]

    def test_rename_experiment_sent_again_with_its_request_id_returns_it(
        self, store: Store
    ) -> None:
        made = store.get_or_create_experiment("old")
        rid = f"req-{uuid.uuid4().hex}"
        first = store.rename_experiment("old", "new", request_id=rid)
        assert store.rename_experiment("old", "new", request_id=rid) == first
        assert first.experiment_id == made.experiment_id
        assert _names(store) == ["new"]

    def test_rename_experiments_to_one_name_at_once_renames_one(self, store: Store) -> None:
        for i in range(4):
            store.create_runs([NewRun(f"r{i}", f"e{i}")])
        renamed, errors = _race(4, lambda i: store.rename_experiment(f"e{i}", "winner"))
        assert len(renamed) == 1, errors
        assert all(isinstance(e, ExperimentExistsError) for e in errors), errors
        names = _names(store)
        assert len(names) == 4 and "winner" in names
        assert renamed[0] == store.get_experiment("winner")
        [moved] = _run_ids(store, experiment_name="winner")
        assert f"e{moved[1:]}" not in names  # its run went with it

    # -- reopen_run ----------------------------------------------------------------------------

    def _ended_run(self, store: Store, status: RunStatus) -> None:
        store.create_runs(
            [NewRun("r", "exp", tags={"t": "1"}, properties={"p": "2"}, display_name="d")],
            heartbeat=True,
        )
        chunk = MetricChunk("r", "loss", MetricKind.VECTOR, ValueType.NUMBER, [0.5], [1000.0])
        store.log_metrics([chunk])
        store.set_run_status("r", status, ERROR)

    @pytest.mark.parametrize("status", [S.COMPLETED, S.FAILED, S.CANCELED])
    def test_reopen_run_makes_an_ended_run_running_again(
        self, store: Store, status: RunStatus
    ) -> None:
        self._ended_run(store, status)
        ended = store.get_run("r")
        assert ended.end_time is not None and ended.heartbeat_time is not None
        reopened = store.reopen_run("r")
        assert reopened == store.get_run("r")
        assert reopened.status is S.RUNNING
        assert (reopened.end_time, reopened.heartbeat_time, reopened.stop_status) == (
            None,
            None,
            None,
        )
        assert reopened.start_time == ended.start_time
        assert reopened.error == ended.error
        assert (reopened.tags, reopened.properties) == (ended.tags, ended.properties)
        assert (reopened.number, reopened.display_name) == (ended.number, ended.display_name)
        assert [s.last_value for s in store.list_metric_series(["r"])] == [0.5]
        # Reopening twice is reopening once; it can end again, with a new end time.
        assert store.reopen_run("r") == reopened
        completed = store.set_run_status("r", S.COMPLETED)
        assert completed.status is S.COMPLETED
        assert completed.end_time is not None and completed.end_time >= ended.end_time
        # Without a heartbeat, the liveness sweep never takes a reopened run for dead.
        store.reopen_run("r")
        future = time.time() + 3600
        assert store.expire_heartbeats(future, future, ERROR) == []
        assert store.get_run("r").status is S.RUNNING

    def test_reopen_run_clears_the_stop_status_of_a_stopped_run(self, store: Store) -> None:
        store.create_runs([NewRun("r", "exp")])
        assert store.request_stop("r", S.FAILED).stop_status is S.FAILED
        store.set_run_status("r", S.FAILED)
        reopened = store.reopen_run("r")
        assert (reopened.status, reopened.stop_status) == (S.RUNNING, None)
        assert store.get_run("r") == reopened

    def test_reopen_run_returns_a_running_run_unchanged(self, store: Store) -> None:
        store.create_runs([NewRun("r", "exp")], heartbeat=True)
        running = store.get_run("r")
        assert store.reopen_run("r") == running
        assert store.get_run("r") == running

    @pytest.mark.parametrize(
        "status",
        [
            S.NOT_STARTED,
            S.QUEUED,
            S.PREPARING,
            S.STARTING,
            S.CANCEL_REQUESTED,
            S.FINALIZING,
            S.NOT_RESPONDING,
            S.PAUSED,
        ],
    )
    def test_reopen_run_refuses_a_run_that_has_not_ended(
        self, store: Store, status: RunStatus
    ) -> None:
        store.create_runs([NewRun("r", "exp", status=status)])
        before = store.get_run("r")
        with pytest.raises(RunStateError, match=rf"Run 'r' is {status.value}: only a run that"):
            store.reopen_run("r")
        assert store.get_run("r") == before

    def test_reopen_run_missing_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.reopen_run("absent")
