"""A real ``runyard server`` process on 127.0.0.1, for the server and HTTP store tests.

The server runs as ``python -m runyard.cli.main server ...`` on a free port, its output in a
log file; ``start`` waits for ``/healthz`` and ``stop`` ends it by its process id. A test gets
a fresh workspace (and tokens for it) from ``new_workspace``, through the admin API. A
``Restartable`` server is killed and started again on the same port with the same data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from runyard.server.config import CONTROL_SCHEMA
from runyard.server.control import ALL_WORKSPACES, ControlStore, Role
from runyard.store import Store, open_store

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A running server: its URL, its data folder, an admin token of every workspace."""

    process: subprocess.Popen[bytes]
    url: str
    data: Path | None
    log: Path
    admin_token: str = ""
    workers: int = 1
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: object
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self._client.request(method, self.url + path, headers=headers, **kwargs)  # type: ignore[arg-type]

    def new_workspace(self, roles: Sequence[Role] = tuple(Role)) -> Workspace:
        """A new workspace with a token of each of ``roles``, made through the admin API."""
        name = f"w{uuid.uuid4().hex[:12]}"
        created = self.request("POST", "/api/v1/workspaces", self.admin_token, json={"name": name})
        assert created.status_code == 201, created.text
        tokens = {}
        for role in roles:
            made = self.request(
                "POST",
                f"/api/v1/workspaces/{name}/tokens",
                self.admin_token,
                json={"role": role.value, "name": f"test {role.value}"},
            )
            assert made.status_code == 201, made.text
            tokens[role] = made.json()["token"]
        return Workspace(name, f"{self.url}/{name}", tokens)

    def stop(self) -> None:
        """End the server (and its workers) by its process id; kill it if it lingers."""
        self._client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                # Its own session: the group holds the server and the workers it started.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@dataclass(frozen=True)
class Workspace:
    """A workspace of the test server, and a token of each role in it."""

    name: str
    uri: str
    tokens: Mapping[Role, str]

    @property
    def writer(self) -> str:
        return self.tokens[Role.WRITER]


def start(
    folder: Path,
    args: Sequence[str] = (),
    *,
    data: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    port: int | None = None,
) -> ServerProcess:
    """Start ``runyard server`` with ``args`` on a free port (with ``--data folder/data``
    unless ``data`` is False, plus an admin token of every workspace) and wait until it is up."""
    data_dir = folder / "data" if data else None
    admin = ""
    if data_dir is not None:
        control = ControlStore(f"sqlite:///{data_dir / 'server.db'}")
        _, admin = control.create_token(ALL_WORKSPACES, Role.ADMIN, "tests")
        control.close()
    port = port or free_port()
    command = [sys.executable, "-m", "runyard.cli.main", "server", "--port", str(port), *args]
    if data_dir is not None:
        command += ["--data", str(data_dir)]
    log = folder / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd or folder,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    workers = int(args[list(args).index("--workers") + 1]) if "--workers" in args else 1
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_dir, log, admin, workers)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{server.output()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"the server did not come up:\n{server.output()}")
        time.sleep(0.05)


class Restartable:
    """A server that the test kills and starts again, on the same port with the same data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server: ServerProcess | None = start(folder)
        self.port = int(self.server.url.rsplit(":", 1)[1])

    @property
    def up(self) -> ServerProcess:
        assert self.server is not None
        return self.server

    def kill(self) -> None:
        """SIGKILL, as a crash: no graceful shutdown."""
        server, self.server = self.up, None
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        server.stop()

    def restart(self) -> ServerProcess:
        assert self.server is None
        self.server = start(self.folder, port=self.port)
        return self.server

    def local_store(self, workspace: Workspace) -> Store:
        """The workspace's SQLite store itself, to count what arrived without the server."""
        data = self.folder / "data"
        return open_store(
            f"sqlite:///{data / workspace.name}.db", str(data / "artifacts" / workspace.name)
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def start_on_postgres(folder: Path, url: str, args: Sequence[str] = ()) -> ServerProcess:
    """Start ``runyard server --store url`` (artifacts in ``folder/artifacts``), with an admin
    token of every workspace made in the database's server tables first."""
    control = ControlStore(url, CONTROL_SCHEMA)
    _, admin = control.create_token(ALL_WORKSPACES, Role.ADMIN, "tests")
    control.close()
    server = start(
        folder, ["--store", url, "--artifacts", str(folder / "artifacts"), *args], data=False
    )
    server.admin_token = admin
    return server
