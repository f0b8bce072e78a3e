"""``runyard runs delete``, ``runs restore``, and ``--lifecycle`` of ``runs list`` and
``runs export`` (and what ``runs show`` and ``runs compare`` say of a deleted run)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from runyard import Run, Workspace
from tests.cli.conftest import Invoke


def _ids(cli_json: Callable[..., Any], *args: str) -> list[str]:
    return [run["run_id"] for run in cli_json("runs", "list", *args)]


def test_runs_delete_hides_runs_and_restore_brings_them_back(
    cli: Invoke, cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    first, second, third = start_run(), start_run(), start_run()
    result = cli("runs", "delete", first.id, third.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Deleted run {first.id}.\nDeleted run {third.id}.\n"
    assert _ids(cli_json) == [second.id]
    assert _ids(cli_json, "--lifecycle", "deleted") == [third.id, first.id]
    assert _ids(cli_json, "--lifecycle", "ALL") == [third.id, second.id, first.id]
    assert first.get_status() == "Running"  # the status stays
    result = cli("runs", "restore", first.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Restored run {first.id}.\n"
    assert _ids(cli_json) == [second.id, first.id]


def test_runs_delete_and_restore_say_when_nothing_changes(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    run = start_run()
    run.delete()
    result = cli("runs", "delete", run.id, run.id)  # twice: once
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Run {run.id} was already deleted (at ")
    assert result.stdout.count("\n") == 1
    run.restore()
    result = cli("runs", "restore", run.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Run {run.id} is not deleted; left as it is.\n"


def test_runs_delete_unknown_run_is_error_and_deletes_nothing(
    cli: Invoke, start_run: Callable[..., Run], workspace: Workspace
) -> None:
    run = start_run()
    for command in ("delete", "restore"):
        result = cli("runs", command, run.id, "no-such-run")
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: Run 'no-such-run' was not found")
        assert result.stdout == ""
    assert run.deleted_time is None
    assert cli("runs", "delete").exit_code == 2  # no id: a usage error


def test_runs_list_lifecycle_table_shows_when_runs_were_deleted(
    cli: Invoke, start_run: Callable[..., Run]
) -> None:
    kept, gone = start_run(display_name="kept"), start_run(display_name="gone")
    gone.delete()
    table = cli("runs", "list", env={"COLUMNS": "250"}).stdout
    assert "Deleted" not in table and "gone" not in table
    table = cli("runs", "list", "--lifecycle", "all", env={"COLUMNS": "250"}).stdout
    header, _rule, first, second = table.splitlines()[:4]
    assert header.split()[-1] == "Deleted"
    when = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    # gone: started, then deleted (two times); kept: started only.
    assert "gone" in first and when.search(first.rstrip())
    assert len(re.findall(r"\d\d:\d\d:\d\d", first)) == 2
    assert "kept" in second and not when.search(second.rstrip())
    assert len(re.findall(r"\d\d:\d\d:\d\d", second)) == 1
    result = cli("runs", "list", "--lifecycle", "removed")
    assert result.exit_code == 2
    assert "'removed' is not one of 'active', 'deleted', 'all'" in result.stderr
    assert kept.deleted_time is None


def test_runs_list_json_has_deleted_time(
    cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    kept, gone = start_run(), start_run()
    gone.delete()
    found = {r["run_id"]: r for r in cli_json("runs", "list", "--lifecycle", "all")}
    assert found[kept.id]["deleted_time"] is None
    assert found[gone.id]["deleted_time"].endswith("Z")


def test_runs_export_lifecycle(cli: Invoke, start_run: Callable[..., Run]) -> None:
    kept, gone = start_run(display_name="kept"), start_run(display_name="gone")
    gone.delete()
    rows = list(csv.DictReader(io.StringIO(cli("runs", "export").stdout)))
    assert [r["display_name"] for r in rows] == ["kept"]
    assert rows[0]["deleted_time"] == ""
    result = cli("runs", "export", "--lifecycle", "deleted")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["run_id"], bool(r["deleted_time"])) for r in rows] == [(gone.id, True)]
    assert kept.id not in result.stdout


def test_runs_show_and_compare_a_deleted_run(
    cli: Invoke, cli_json: Callable[..., Any], start_run: Callable[..., Run]
) -> None:
    kept, gone = start_run(), start_run()
    gone.delete()
    shown = cli_json("runs", "show", gone.id)
    assert shown["run_id"] == gone.id and shown["deleted_time"].endswith("Z")
    assert "Deleted" in cli("runs", "show", gone.id).stdout
    assert "Deleted" not in cli("runs", "show", kept.id).stdout
    compared = cli_json("runs", "compare", kept.id, gone.id)
    row = next(r for r in compared["rows"] if r["field"] == "deleted_time")
    assert row["values"][0] is None and row["values"][1].endswith("Z") and row["differs"]
    gone.restore()
    compared = cli_json("runs", "compare", kept.id, gone.id)
    assert "deleted_time" not in [r["field"] for r in compared["rows"]]
