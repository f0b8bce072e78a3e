"""``runyard server --workers 2``: processes that share nothing but the stores serve as one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from runyard.entities import MetricChunk, MetricKind, NewRun, RunStatus, ValueType
from runyard.errors import PropertyConflictError
from runyard.server.control import Role
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, start


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start(tmp_path_factory.mktemp("workers"), ["--workers", "2"])
    yield running
    running.stop()


def _pids_serving(server: ServerProcess, seconds: float = 10.0) -> set[int]:
    """The worker pids seen answering concurrent requests on fresh connections."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds

    def ask(_: int) -> int:
        pid: int = httpx.get(server.url + "/healthz", timeout=5).json()["pid"]
        return pid

    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 2 and time.monotonic() < deadline:
            seen.update(pool.map(ask, range(16)))
    return seen


def test_workers_two_processes_answer(two_workers: ServerProcess) -> None:
    pids = _pids_serving(two_workers)
    assert len(pids) == 2
    assert two_workers.process.pid not in pids  # the parent supervises the workers


def test_workers_serve_one_consistent_workspace(two_workers: ServerProcess) -> None:
    workspace = two_workers.new_workspace([Role.WRITER, Role.READER])
    # Many stores (connection pools) so that requests spread over both workers.
    stores = [HttpStore(workspace.uri, token=workspace.writer) for _ in range(6)]
    stores[0].create_runs([NewRun("r", "exp")])

    def log(i: int) -> None:
        store = stores[i % len(stores)]
        store.log_metrics(
            [MetricChunk("r", "m", MetricKind.VECTOR, ValueType.NUMBER, [float(i)], [float(i)])]
        )
        store.set_tags("r", {f"t{i}": str(i)})

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(log, range(60)))
    for store in stores:
        (series,) = store.list_metric_series(["r"])
        assert series.count == 60
        assert len(store.get_run("r").tags) == 60
    assert stores[1].set_run_status("r", RunStatus.COMPLETED).status is RunStatus.COMPLETED
    assert {s.get_run("r").status for s in stores} == {RunStatus.COMPLETED}
    for store in stores:
        store.close()


def test_workers_revocation_applies_in_every_worker(two_workers: ServerProcess) -> None:
    workspace = two_workers.new_workspace([Role.READER, Role.ADMIN])
    path = f"/api/v1/workspaces/{workspace.name}/experiments"
    reader = workspace.tokens[Role.READER]
    assert {two_workers.request("GET", path, reader).status_code for _ in range(5)} == {200}
    listed = two_workers.request(
        "GET", f"/api/v1/workspaces/{workspace.name}/tokens", workspace.tokens[Role.ADMIN]
    ).json()["tokens"]
    token_id = next(t["token_id"] for t in listed if t["role"] == "reader")
    two_workers.request(
        "DELETE",
        f"/api/v1/workspaces/{workspace.name}/tokens/{token_id}",
        workspace.tokens[Role.ADMIN],
    )

    def status(_: int) -> int:
        headers = {"Authorization": f"Bearer {reader}"}
        return httpx.get(two_workers.url + path, headers=headers, timeout=5).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(status, range(16))) == {401}


def test_workers_racing_add_properties_one_value_wins(two_workers: ServerProcess) -> None:
    workspace = two_workers.new_workspace([Role.WRITER])
    stores = [HttpStore(workspace.uri, token=workspace.writer) for _ in range(8)]
    try:
        stores[0].create_runs([NewRun("r", "raced")])

        def add(worker: int) -> str:
            try:
                stores[worker].add_properties("r", {"winner": str(worker)})
            except PropertyConflictError as exc:
                assert "Property 'winner'" in exc.message
                return "conflict"
            return "won"

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(add, range(8)))
        assert outcomes.count("won") == 1, outcomes
        winner = str(outcomes.index("won"))
        assert stores[0].get_run("r").properties == {"winner": winner}
    finally:
        for store in stores:
            store.close()
