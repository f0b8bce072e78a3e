"""Exactly once through the server: ``X-Runyard-Request-Id`` names a write, which the store
applies once however often (and however concurrently) it is sent."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.entities import MetricChunk, MetricKind, NewRun, RunQuery, ValueType
from runyard.server.config import CONTROL_SCHEMA
from runyard.server.control import ALL_WORKSPACES, ControlStore, Role
from runyard.store import wire
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, Workspace, start

CLIENTS = Path(__file__).with_name("clients.py")
CLIENT_PROCESSES = 8
BATCHES, BATCH_SIZE = 12, 25


def _post(workspace: Workspace, path: str, request_id: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {workspace.writer}", wire.REQUEST_ID_HEADER: request_id}
    api = workspace.uri.replace(f"/{workspace.name}", f"/api/v1/workspaces/{workspace.name}")
    return httpx.post(api + path, headers=headers, timeout=30, **kwargs)


def _chunk_json(run_id: str, values: list[int]) -> dict[str, Any]:
    chunk = MetricChunk(
        run_id, "step", MetricKind.VECTOR, ValueType.NUMBER, values, [float(v) for v in values]
    )
    return wire.chunk_to_json(chunk)


def test_exactly_once_create_runs_sent_twice_creates_once(workspace: Workspace) -> None:
    body = {"runs": [wire.new_run_to_json(NewRun(run_id, "exp")) for run_id in ("a", "b")]}
    first = _post(workspace, "/runs", "client-1", json=body)
    again = _post(workspace, "/runs", "client-1", json=body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (
        [r["number"] for r in again.json()["runs"]]
        == [1, 2]
        == [r["number"] for r in first.json()["runs"]]
    )
    other = _post(workspace, "/runs", "client-2", json=body)
    assert other.status_code == 400  # a new request: the run ids are taken
    store = HttpStore(workspace.uri, token=workspace.writer)
    assert [r.run_id for r in store.search_runs(RunQuery()).runs] == ["b", "a"]
    store.close()


def test_exactly_once_metrics_and_logs_sent_twice_apply_once(workspace: Workspace) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer)
    store.create_runs([NewRun("r", "exp")])
    for request_id, values in [("m-1", [0, 1]), ("m-1", [0, 1]), ("m-2", [2])]:
        body = {"chunks": [_chunk_json("r", values)]}
        assert _post(workspace, "/metrics", request_id, json=body).status_code == 204
    for request_id, line in [("l-1", b"one\n"), ("l-1", b"one\n"), ("l-2", b"two\n")]:
        sent = _post(
            workspace, "/runs/r/logs/content", request_id, params={"name": "log.txt"}, content=line
        )
        assert sent.status_code == 204
    (data,) = store.read_metrics(["r"])
    assert list(data.values) == [0, 1, 2]
    assert store.read_log("r", "log.txt") == b"one\ntwo\n"
    store.close()


def test_exactly_once_experiment_created_and_renamed_sent_twice_apply_once(
    workspace: Workspace,
) -> None:
    """A retried create (its answer lost) returns what it created instead of a 409, and a
    retried rename the renamed experiment instead of a 404: the HTTP store retries both."""
    api = workspace.uri.replace(f"/{workspace.name}", f"/api/v1/workspaces/{workspace.name}")
    headers = {"Authorization": f"Bearer {workspace.writer}"}
    for experiment_id in ("chosen-by-client", None):
        body = {"name": f"exp-{experiment_id}", "experiment_id": experiment_id}
        request_id = f"create-{experiment_id}"
        first = _post(workspace, "/experiments/new", request_id, json=body)
        again = _post(workspace, "/experiments/new", request_id, json=body)
        assert (first.status_code, again.status_code) == (200, 200), again.text
        assert again.json() == first.json()
        other = _post(workspace, "/experiments/new", f"{request_id}-2", json=body)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "ExperimentExists"
    for _ in range(2):
        renamed = httpx.put(
            api + "/experiments/exp-None/name",
            headers={**headers, wire.REQUEST_ID_HEADER: "rename-1"},
            json={"name": "renamed"},
            timeout=30,
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "renamed"
    store = HttpStore(workspace.uri, token=workspace.writer)
    names = [e.name for e in store.list_experiments()]
    assert names == ["exp-chosen-by-client", "renamed"]
    store.close()


def test_exactly_once_request_id_header_too_long_is_refused(workspace: Workspace) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer)
    store.create_runs([NewRun("r", "exp")])
    body = {"chunks": [_chunk_json("r", [1])]}
    refused = _post(workspace, "/metrics", "x" * 129, json=body)
    assert refused.status_code == 400
    assert "Invalid request id" in refused.json()["error"]["message"]
    assert store.list_metric_series(["r"]) == []
    store.close()


def test_exactly_once_http_store_names_writes_by_client_and_sequence(
    server: ServerProcess, workspace: Workspace
) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer)
    store.create_runs([NewRun("r", "exp")])
    store.log_metrics([MetricChunk("r", "m", MetricKind.VECTOR, ValueType.NUMBER, [1], [1.0])])
    store.append_log("r", "log.txt", b"x")
    store.set_tags("r", {"k": "v"})  # sent with a request id too; not recorded (idempotent)
    store.close()
    assert server.data is not None
    database = sqlite3.connect(server.data / f"{workspace.name}.db")
    try:
        ids = [row[0] for row in database.execute("SELECT request_id FROM applied_requests")]
    finally:
        database.close()
    assert sorted(ids) == [f"{store.client_id}-{n}" for n in (1, 2, 3)]


@pytest.fixture
def postgres_server(postgres_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with four workers on a fresh PostgreSQL database."""
    control = ControlStore(postgres_url, CONTROL_SCHEMA)
    _, admin = control.create_token(ALL_WORKSPACES, Role.ADMIN, "tests")
    control.close()
    args = ["--store", postgres_url, "--artifacts", str(tmp_path / "artifacts"), "--workers", "4"]
    running = start(tmp_path, args, data=False)
    running.admin_token = admin
    yield running
    running.stop()


@pytest.mark.slow
def test_exactly_once_eight_clients_through_four_workers_on_postgres(
    postgres_server: ServerProcess,
) -> None:
    workspace = postgres_server.new_workspace([Role.WRITER])
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                str(CLIENTS),
                "burst",
                workspace.uri,
                workspace.writer,
                f"c{i}",
                str(BATCHES),
                str(BATCH_SIZE),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(CLIENT_PROCESSES)
    ]
    outputs = []
    for client in clients:
        with client:
            output, _ = client.communicate(timeout=120)
            outputs.append((client.returncode, output))
    assert all(code == 0 and out.endswith("done\n") for code, out in outputs), outputs

    store = HttpStore(workspace.uri, token=workspace.writer)
    run_ids = [f"c{i}" for i in range(CLIENT_PROCESSES)]
    expected = list(range(BATCHES * BATCH_SIZE))
    for data in store.read_metrics(run_ids):
        assert list(data.values) == expected, data.run_id  # every point once, none twice
    assert {s.count for s in store.list_metric_series(run_ids)} == {len(expected)}
    log = b"".join(f"batch {b}\n".encode() for b in range(BATCHES))
    assert all(store.read_log(run_id, "log.txt") == log for run_id in run_ids)
    assert sorted(r.number for r in store.search_runs(RunQuery(page_size=50)).runs) == list(
        range(1, CLIENT_PROCESSES + 1)
    )
    store.close()
