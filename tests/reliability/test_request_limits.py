"""Request bodies have a size limit and a read timeout (issue 8, items 4 and 7).

A real ``runyard server`` (uvicorn) on 127.0.0.1, with the limits made small through their
settings: bodies of at most 1 MiB, 2 s without a byte. Before, a body had no limit (a 320 MB
one took the server to 2.6 GB of memory) and a body that stopped arriving was waited for as
long as the client kept the connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard import Experiment
from runyard import Workspace as SdkWorkspace
from runyard.errors import PayloadTooLargeError
from runyard.server.control import Role
from runyard.settings import (
    JOURNAL_DIR_ENV,
    SERVER_MAX_BODY_ENV,
    SERVER_READ_TIMEOUT_ENV,
    TOKEN_ENV,
)
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, Workspace, start

LIMIT = 1024 * 1024
DEADLINE = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {SERVER_MAX_BODY_ENV: str(LIMIT), SERVER_READ_TIMEOUT_ENV: "2"}
    running = start(tmp_path_factory.mktemp("limits"), env=env)
    yield running
    running.stop()


@pytest.fixture
def workspace(server: ServerProcess) -> Workspace:
    made = server.new_workspace([Role.WRITER])
    created = server.request(
        "POST",
        f"/api/v1/workspaces/{made.name}/runs",
        made.writer,
        json={"runs": [{"run_id": "r", "experiment_name": "limits"}]},
    )
    assert created.status_code == 200, created.text
    return made


def _raw(server: ServerProcess, head: str, body: bytes = b"") -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    sock.sendall(head.encode() + body)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection or goes quiet for 1 s."""
    received = b""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        sock.settimeout(1.0 if b"\r\n\r\n" in received else DEADLINE)
        try:
            block = sock.recv(65536)
        except TimeoutError:
            break
        if not block:
            break
        received += block
    return received


def test_body_declared_larger_than_limit_is_refused_before_it_is_sent(
    server: ServerProcess, workspace: Workspace
) -> None:
    # 320 MB promised, not a byte sent: the answer comes at once.
    head = (
        f"PATCH /api/v1/workspaces/{workspace.name}/runs/r/tags HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {workspace.writer}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {320 * 1024 * 1024}\r\n\r\n"
    )
    with _raw(server, head) as sock:
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":"PayloadTooLarge"' in answer
    assert f"larger than {LIMIT} bytes".encode() in answer


def test_chunked_body_past_limit_is_refused(server: ServerProcess, workspace: Workspace) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"tags": {"k": "'
        for _ in range(4):
            yield b"v" * (LIMIT // 2)
        yield b'"}}'

    headers = {"Authorization": f"Bearer {workspace.writer}", "Content-Type": "application/json"}
    with httpx.Client(timeout=DEADLINE) as client:
        response = client.patch(
            f"{server.url}/api/v1/workspaces/{workspace.name}/runs/r/tags",
            content=body(),  # chunked: no Content-Length to refuse it by
            headers=headers,
        )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    run = server.request("GET", f"/api/v1/workspaces/{workspace.name}/runs/r", workspace.writer)
    assert run.json()["tags"] == {}


def test_http_store_raises_payload_too_large(
    server: ServerProcess, workspace: Workspace, tmp_path: Path
) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer, journal_dir=tmp_path / "journal")
    try:
        tags = {f"t{i}": "v" * 4000 for i in range(400)}  # 1.6 MB of JSON
        with pytest.raises(PayloadTooLargeError, match="larger than"):
            store.set_tags("r", tags)
        assert store.get_run("r").tags == {}
        assert store.journal_pending == 0  # refused for good: not kept to be sent again
    finally:
        store.close()


def test_streamed_upload_has_no_body_limit(server: ServerProcess, workspace: Workspace) -> None:
    data = b"u" * (3 * LIMIT)
    response = server.request(
        "POST",
        f"/api/v1/workspaces/{workspace.name}/runs/r/artifacts/content",
        workspace.writer,
        params={"path": "outputs/big.bin"},
        content=data,
    )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == len(data)


def test_stalled_json_body_is_given_up_and_closed(
    server: ServerProcess, workspace: Workspace
) -> None:
    head = (
        f"PATCH /api/v1/workspaces/{workspace.name}/runs/r/tags HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {workspace.writer}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with _raw(server, head, b'{"tags": ') as sock:
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"code":"RequestTimeout"' in answer
    assert b"connection: close" in answer.lower()
    with httpx.Client(timeout=DEADLINE) as client:
        assert client.get(server.url + "/healthz").status_code == 200


def test_metrics_past_the_body_limit_are_sent_in_parts_and_all_kept(
    server: ServerProcess, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, the pipeline's batch went as one request: 413, a refusal, and every point lost.
    monkeypatch.setenv(TOKEN_ENV, workspace.writer)
    monkeypatch.setenv(JOURNAL_DIR_ENV, str(tmp_path / "journal"))
    sdk = SdkWorkspace(tracking_uri=workspace.uri)
    try:
        run = Experiment(sdk, "limits").start_logging(outputs=False, snapshot_directory=None)
        texts = [f"{i:05d}" + "x" * 9_000 for i in range(400)]  # about 3.6 MB: past 1 MiB
        for text in texts:
            run.log("note", text)
        numbers = [float(i) for i in range(200_000)]  # 1.6 MB packed, in one chunk
        run.log_list("values", numbers)
        run.flush()
        metrics = run.get_metrics()
        assert metrics["note"] == texts
        assert metrics["values"] == numbers
        run.complete()
    finally:
        sdk.close()
