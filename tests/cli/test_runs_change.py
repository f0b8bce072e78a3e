"""``runyard runs cancel``, ``runs tag`` and ``runs untag``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runyard import Run, Workspace
from runyard.limits import MAX_KEY_LENGTH
from tests.cli.conftest import Invoke


def test_runs_cancel_marks_running_run_canceled(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    result = cli("runs", "cancel", run.id)
    assert result.exit_code == 0
    assert result.stdout == f"Canceled run {run.id} (it was Running).\n"
    assert run.get_status() == "Canceled"
    assert "endTimeUtc" in run.get_details()


def test_runs_cancel_not_started_run(cli: Invoke, workspace: Workspace) -> None:
    from runyard.entities import NewRun, RunStatus

    [info] = workspace.store.create_runs(
        [NewRun(run_id="queued-run", experiment_name="queue", status=RunStatus.NOT_STARTED)]
    )
    result = cli("runs", "cancel", info.run_id)
    assert result.exit_code == 0
    assert "(it was NotStarted)" in result.stdout
    assert workspace.store.get_run(info.run_id).status is RunStatus.CANCELED


@pytest.mark.parametrize("finish", ["complete", "fail", "cancel"])
def test_runs_cancel_finished_run_stays_as_it_is(
    cli: Invoke, start_run: Callable[..., Run], finish: str
) -> None:
    run = start_run()
    getattr(run, finish)()
    status = run.get_status()
    result = cli("runs", "cancel", run.id)
    assert result.exit_code == 0
    assert result.stdout == f"Run {run.id} had already finished as {status}; left as it is.\n"
    assert Run.get(run.experiment.workspace, run.id).get_status() == status


def test_runs_cancel_unknown_run_is_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "cancel", "no-such-run")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Run 'no-such-run' was not found")


def test_runs_tag_sets_value(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run(tags={"quality": "good"})
    result = cli("runs", "tag", run.id, "quality", "fantastic run")
    assert result.exit_code == 0
    assert result.stdout == f"Tagged run {run.id}: quality=fantastic run\n"
    assert run.get_tags() == {"quality": "fantastic run"}


def test_runs_tag_without_value_is_value_less(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    result = cli("runs", "tag", run.id, "worth another look")
    assert result.exit_code == 0
    assert result.stdout == f"Tagged run {run.id}: worth another look\n"
    assert run.get_tags() == {"worth another look": None}


def test_runs_tag_then_list_finds_it(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    start_run()
    cli("runs", "tag", run.id, "reviewed")
    result = cli("runs", "list", "--tag", "reviewed", "--json")
    assert run.id in result.stdout
    assert result.stdout.count('"run_id"') == 1


def test_runs_tag_empty_value_is_kept(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    assert cli("runs", "tag", run.id, "note", "").exit_code == 0
    assert run.get_tags() == {"note": ""}


def test_runs_tag_over_limit_is_error(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run()
    result = cli("runs", "tag", run.id, "k" * (MAX_KEY_LENGTH + 1), "v")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The tag key")
    assert run.get_tags() == {}


def test_runs_tag_unknown_run_is_error(cli: Invoke, workspace: Workspace) -> None:
    result = cli("runs", "tag", "no-such-run", "key", "value")
    assert result.exit_code == 1
    assert "no-such-run" in result.stderr


def test_runs_tag_needs_a_key(cli: Invoke, start_run: Callable[..., Run]) -> None:
    result = cli("runs", "tag", start_run().id)
    assert result.exit_code == 2
    assert "Missing argument 'KEY'" in result.stderr


def test_runs_untag_removes_keys(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run(tags={"a": "1", "b": None, "c": "3"})
    result = cli("runs", "untag", run.id, "a", "b")
    assert result.exit_code == 0
    assert result.stdout == f"Removed from run {run.id}: a, b\n"
    assert result.stderr == ""
    assert run.get_tags() == {"c": "3"}


def test_runs_untag_missing_key_is_noted(cli: Invoke, start_run: Callable[..., Run]) -> None:
    run = start_run(tags={"a": "1"})
    result = cli("runs", "untag", run.id, "a", "zz")
    assert result.exit_code == 0
    assert result.stdout == f"Removed from run {run.id}: a\n"
    assert result.stderr == f"Run {run.id} had no tag zz.\n"
    assert run.get_tags() == {}


def test_runs_untag_needs_a_key(cli: Invoke, start_run: Callable[..., Run]) -> None:
    result = cli("runs", "untag", start_run().id)
    assert result.exit_code == 2
    assert "Missing argument 'KEY...'" in result.stderr
