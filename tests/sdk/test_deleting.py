"""Deleting and restoring runs from the SDK: Run.delete(), Run.restore(), Run.deleted_time, and
the ``lifecycle`` of get_runs, get_runs_dataframe and get_children."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from runyard import Experiment, Run, Workspace
from runyard.errors import InvalidArgumentError


def _start(experiment: Experiment, name: str) -> Run:
    return experiment.start_logging(display_name=name, snapshot_directory=None, outputs=False)


def _names(runs: object) -> list[str | None]:
    return [r.display_name for r in runs]  # type: ignore[attr-defined]


def test_run_delete_hides_the_run_and_restore_brings_it_back(experiment: Experiment) -> None:
    old = _start(experiment, "old")
    old.log("acc", 0.5)
    old.tag("lr", "0.1")
    old.complete()
    new = _start(experiment, "new")
    assert old.deleted_time is None
    before = time.time()
    old.delete()
    assert old.deleted_time is not None and old.deleted_time >= before - 1
    assert _names(experiment.get_runs()) == ["new"]
    assert _names(experiment.get_runs(lifecycle="deleted")) == ["old"]
    assert _names(experiment.get_runs(lifecycle="all")) == ["new", "old"]
    # Everything is kept, and the run is still found by its id.
    found = Run.get(experiment.workspace, old.id)
    assert found.get_status() == "Completed"
    assert found.get_metrics() == {"acc": 0.5}
    assert found.get_tags()["lr"] == "0.1"
    assert found.deleted_time == old.deleted_time
    old.restore()
    assert old.deleted_time is None
    assert _names(experiment.get_runs()) == ["new", "old"]
    new.complete()


def test_run_delete_keeps_a_running_run_running(experiment: Experiment) -> None:
    run = _start(experiment, "live")
    run.delete()
    run.log("loss", 0.25)
    run.complete()
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"loss": 0.25}
    assert run.deleted_time is not None
    run.delete()  # again: nothing changes
    run.restore()
    run.restore()
    assert run.deleted_time is None


def test_get_runs_lifecycle_is_checked_at_the_call(experiment: Experiment) -> None:
    _start(experiment, "a").complete()
    for call in (
        lambda: experiment.get_runs(lifecycle="removed"),
        lambda: experiment.get_runs_dataframe(lifecycle="ActiveOnly"),
        lambda: next(iter(experiment.get_runs())).get_children(lifecycle=""),
    ):
        with pytest.raises(InvalidArgumentError, match="'active', 'deleted', 'all'"):
            call()
    assert _names(experiment.get_runs(lifecycle="ALL")) == ["a"]  # any case


def test_get_runs_dataframe_by_lifecycle(experiment: Experiment) -> None:
    kept = _start(experiment, "kept")
    gone = _start(experiment, "gone")
    gone.delete()
    kept.complete()
    gone.complete()
    frame = experiment.get_runs_dataframe()
    assert list(frame["display_name"]) == ["kept"]
    assert frame["deleted_time"].isna().all()
    every = experiment.get_runs_dataframe(lifecycle="all")
    assert list(every["display_name"]) == ["gone", "kept"]
    deleted = every.iloc[0]["deleted_time"]
    assert isinstance(deleted, pd.Timestamp) and str(deleted.tz) == "UTC"
    only = experiment.get_runs_dataframe(lifecycle="deleted")
    assert list(only["display_name"]) == ["gone"]


def test_children_of_a_deleted_run_stay_and_deleted_children_hide(
    experiment: Experiment,
) -> None:
    parent = _start(experiment, "parent")
    first, second = parent.child_run("first"), parent.child_run("second")
    grandchild = first.child_run("grandchild")
    parent.delete()
    # The children are not deleted with their parent, and are still its children.
    assert _names(parent.get_children()) == ["second", "first"]
    assert first.deleted_time is None
    assert Run.get(experiment.workspace, first.id).parent == parent
    # A deleted child is left out unless asked for; its own children are still found.
    first.delete()
    assert _names(parent.get_children()) == ["second"]
    assert _names(parent.get_children(lifecycle="deleted")) == ["first"]
    assert _names(parent.get_children(lifecycle="all")) == ["second", "first"]
    assert set(_names(parent.get_children(recursive=True))) == {"second", "grandchild"}
    deep = first.get_children(recursive=True)
    assert _names(deep) == ["grandchild"]
    for run in (grandchild, first, second, parent):
        run.complete()


def test_a_deleted_run_is_attached_to_by_id(workspace: Workspace, experiment: Experiment) -> None:
    run = _start(experiment, "attached")
    run.complete()
    run.delete()
    again = Run(experiment, run.id)
    assert again.display_name == "attached" and again.deleted_time is not None
    assert Run.get(workspace, run.id).id == run.id
