"""The SDK, unchanged, on a tracking server: ``RUNYARD_TRACKING_URI=http://...`` and a token."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import NewRun
from runyard.errors import (
    PropertyConflictError,
    RunNotFoundError,
    StoreError,
    WorkspaceConfigError,
)
from runyard.server.control import Role
from runyard.store import open_store
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, free_port, start
from tests.server.process import Workspace as ServerWorkspace


def _log_a_run(workspace: Workspace) -> Run:
    run = Experiment(workspace, "sdk-exp").start_logging(snapshot_directory=None, outputs=False)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log_row("table", epoch=1, acc=0.9)
    run.tag("team", "vision")
    run.add_properties({"author": "ann"})
    run.upload_file("notes/readme.txt", io.BytesIO(b"hello"))
    run.complete()
    return run


def test_workspace_from_env_logs_through_the_server(
    server: ServerProcess, workspace: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TRACKING_URI", workspace.uri)
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    monkeypatch.setenv("RUNYARD_ARTIFACT_ROOT", "/not/used/by/a/server/workspace")
    ws = Workspace.from_config()
    assert (ws.name, ws.tracking_uri, ws.artifact_root) == (workspace.name, workspace.uri, None)
    run = _log_a_run(ws)
    ws.close()

    assert server.data is not None
    local = open_store(
        f"sqlite:///{server.data / workspace.name}.db",
        str(server.data / "artifacts" / workspace.name),
    )
    stored = local.get_run(run.id)
    assert (stored.status.value, stored.tags, stored.properties["author"]) == (
        "Completed",
        {"team": "vision"},
        "ann",
    )
    assert [a.path for a in local.list_artifacts(run.id)] == ["notes/readme.txt"]
    local.close()
    again = Workspace(workspace.uri)
    reread = Run(Experiment(again, "sdk-exp"), run.id)
    assert reread.get_metrics() == {"loss": [0.5, 0.25], "table": {"epoch": 1, "acc": 0.9}}
    assert reread.get_file_names() == ["notes/readme.txt"]
    again.close()


def test_http_store_errors_match_sqlite(workspace: ServerWorkspace, tmp_path: Path) -> None:
    remote = HttpStore(workspace.uri, token=workspace.writer)
    local = open_store(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
    for store in (remote, local):
        ws_run = store.create_runs([NewRun("r", "exp")])[0]
        store.add_properties(ws_run.run_id, {"author": "ann"})
    messages = []
    for store in (remote, local):
        with pytest.raises(PropertyConflictError) as conflict:
            store.add_properties("r", {"author": "bob"})
        messages.append(conflict.value.message)
        with pytest.raises(RunNotFoundError):
            store.get_run("absent")
        with pytest.raises(RunNotFoundError):
            store.get_run("not/a/run")
    assert messages[0] == messages[1]
    remote.close()
    local.close()


def test_workspace_refuses_bad_tokens_and_workspaces(
    server: ServerProcess, workspace: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNYARD_TOKEN", raising=False)
    with pytest.raises(WorkspaceConfigError, match="needs a token"):
        Workspace(workspace.uri)
    monkeypatch.setenv("RUNYARD_TOKEN", "ryd_wrong")
    with pytest.raises(WorkspaceConfigError, match="not valid"):
        Workspace(workspace.uri)
    monkeypatch.setenv("RUNYARD_TOKEN", server.admin_token)
    with pytest.raises(WorkspaceConfigError, match="does not exist"):
        Workspace(f"{server.url}/no-such-workspace")
    with pytest.raises(WorkspaceConfigError, match="names no workspace"):
        Workspace(server.url + "/")


def test_reader_token_reads_but_cannot_write(
    workspace: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    writer = Workspace(workspace.uri)
    run = _log_a_run(writer)
    writer.close()
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.tokens[Role.READER])
    reader = Workspace(workspace.uri)
    seen = Run(Experiment(reader, "sdk-exp"), run.id)
    assert seen.get_tags() == {"team": "vision"}
    with pytest.raises(WorkspaceConfigError, match="needs a writer"):
        seen.tag("more", "x")
    with pytest.raises(WorkspaceConfigError, match="needs a writer"):
        Experiment(reader, "not-there-yet")
    reader.close()


def test_runs_are_deleted_and_restored_through_the_server(
    workspace: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    writer = Workspace(workspace.uri)
    run = _log_a_run(writer)
    experiment = Experiment(writer, "sdk-exp")
    run.delete()
    assert run.deleted_time is not None
    assert list(experiment.get_runs()) == []
    assert [r.id for r in experiment.get_runs(lifecycle="deleted")] == [run.id]
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.tokens[Role.READER])
    reader = Workspace(workspace.uri)
    seen = Run.get(reader, run.id)
    assert seen.deleted_time == run.deleted_time
    with pytest.raises(WorkspaceConfigError, match="needs a writer"):
        seen.restore()
    reader.close()
    run.restore()
    assert [r.id for r in experiment.get_runs()] == [run.id]
    assert run.get_metrics()["loss"] == [0.5, 0.25]
    writer.close()


def test_http_store_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="Cannot reach"):
        HttpStore(f"http://127.0.0.1:{free_port()}/ws", retries=2, backoff=0.01)


def test_http_store_retries_until_a_restarted_server_is_back(tmp_path: Path) -> None:
    first = start(tmp_path)
    workspace = first.new_workspace([Role.WRITER])
    store = HttpStore(workspace.uri, token=workspace.writer, retries=8, backoff=0.1)
    store.create_runs([NewRun("r", "exp")])
    port = int(first.url.rsplit(":", 1)[1])
    first.stop()
    restarted: list[ServerProcess] = []
    starter = threading.Timer(0.3, lambda: restarted.append(start(tmp_path, port=port)))
    starter.start()
    try:
        assert store.get_run("r").run_id == "r"  # idempotent: retried until the server is back
        store.append_log("r", "log.txt", b"once\n")  # not idempotent: sent once
        assert store.read_log("r", "log.txt") == b"once\n"
    finally:
        starter.join()
        store.close()
        for server in restarted:
            server.stop()
