"""Clients that stop sending do not hang the server (issue 8, item 4).

A real ``runyard server`` (uvicorn) on 127.0.0.1 and 50 raw sockets, each promising a 10 MB
upload, sending 1 KB and then nothing. Before the fix each one held a thread of anyio's pool of
40, which every route (health checks included) needs too: the server answered nothing until
the stalled clients went away, and that was never.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.server.control import Role
from runyard.settings import SERVER_MAX_UPLOADS_ENV, SERVER_READ_TIMEOUT_ENV
from tests.server.process import ServerProcess, Workspace, start

STALLED = 50
PROMISED = 10 * 1024 * 1024
DEADLINE = 15.0
"""Seconds an answer may take here: generous (the machine is shared), and far below the read
timeout of ``answering_server`` (so an answer cannot be due to the stalled clients' end)."""


def _run(server: ServerProcess, workspace: Workspace) -> str:
    made = server.request(
        "POST",
        f"/api/v1/workspaces/{workspace.name}/runs",
        workspace.writer,
        json={"runs": [{"run_id": "r", "experiment_name": "uploads"}]},
    )
    assert made.status_code == 200, made.text
    return "r"


def _stall(server: ServerProcess, workspace: Workspace, path: str) -> socket.socket:
    """A connection that promises a 10 MB upload to ``path``, sends 1 KB of it and stops."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    target = f"/api/v1/workspaces/{workspace.name}/runs/r/artifacts/content?path={path}"
    head = (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {workspace.writer}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {PROMISED}\r\n\r\n"
    )
    sock.sendall(head.encode() + b"x" * 1024)
    return sock


def _status_line(sock: socket.socket, deadline: float) -> bytes:
    """The status line of the answer on ``sock`` (b"" if the server closed it unanswered)."""
    received = b""
    while b"\r\n" not in received:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        block = sock.recv(4096)
        if not block:
            break
        received += block
    return received.split(b"\r\n", 1)[0]


@pytest.fixture
def answering_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose uploads may stall for a minute before they are given up."""
    server = start(tmp_path, env={SERVER_READ_TIMEOUT_ENV: "60"})
    yield server
    server.stop()


@pytest.fixture
def impatient_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that gives up on a body after 2 s without bytes, 8 uploads at a time."""
    server = start(tmp_path, env={SERVER_READ_TIMEOUT_ENV: "2", SERVER_MAX_UPLOADS_ENV: "8"})
    yield server
    server.stop()


def test_stalled_uploads_server_still_answers(answering_server: ServerProcess) -> None:
    server = answering_server
    workspace = server.new_workspace([Role.WRITER])
    run_id = _run(server, workspace)
    stalled = [_stall(server, workspace, f"stalled/{i}") for i in range(STALLED)]
    try:
        base = f"/api/v1/workspaces/{workspace.name}/runs/{run_id}"
        with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
            auth = {"Authorization": f"Bearer {workspace.writer}"}
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert client.get(base, headers=auth).json()["run_id"] == run_id
            tagged = client.patch(base + "/tags", headers=auth, json={"tags": {"k": "v"}})
            assert tagged.status_code == 204, tagged.text
            assert client.get(base, headers=auth).json()["tags"] == {"k": "v"}
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_uploads_are_given_up_and_paths_freed(impatient_server: ServerProcess) -> None:
    server = impatient_server
    workspace = server.new_workspace([Role.WRITER])
    run_id = _run(server, workspace)
    stalled = [_stall(server, workspace, f"stalled/{i}") for i in range(STALLED)]
    try:
        # Each gets an answer: 408 (its body stopped) or 503 (no upload slot came free in time).
        deadline = time.monotonic() + 60
        statuses = {_status_line(sock, deadline).split(b" ")[1] for sock in stalled}
        assert statuses <= {b"408", b"503"}, statuses
    finally:
        for sock in stalled:
            sock.close()
    base = f"/api/v1/workspaces/{workspace.name}/runs/{run_id}/artifacts"
    listed = server.request("GET", base, workspace.writer)
    assert listed.json()["artifacts"] == []
    assert server.data is not None
    assert not [p for p in (server.data / "artifacts").rglob("*") if ".partial-" in p.name]
    for i in range(STALLED):
        put = server.request(
            "POST",
            base + "/content",
            workspace.writer,
            params={"path": f"stalled/{i}"},
            content=b"sent whole",
        )
        assert put.status_code == 200, put.text
    listed = server.request("GET", base, workspace.writer)
    assert len(listed.json()["artifacts"]) == STALLED
