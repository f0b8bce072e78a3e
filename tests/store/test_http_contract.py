"""The Store contract through HTTP: ``HttpStore`` against a tracking server, a new workspace per
test, for each backend the server can put behind it.

- in-process: the server's app (``create_app``) behind an httpx transport that calls it without
  a socket (``httpx.WSGITransport`` over a2wsgi's ASGI-to-WSGI adapter, which runs the app on
  an event loop of its own), handed to ``HttpStore(..., transport=...)``: HTTP -> SQLite and
  HTTP -> PostgreSQL;
- a real ``runyard server`` subprocess (uvicorn on 127.0.0.1), as users run it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from a2wsgi import ASGIMiddleware

from runyard.errors import InvalidQueryError
from runyard.query import parse_filter, parse_order_by
from runyard.server.app import create_app
from runyard.server.config import ServerConfig
from runyard.server.control import ControlStore, Role
from runyard.settings import UPLOAD_STALE_SECONDS_ENV
from runyard.store import Store
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, start
from tests.store.contract import STALE_UPLOAD_SECONDS, StoreContract
from tests.store.sql_workers import SqlTarget
from tests.store.uploads import backing_of


@dataclass(frozen=True)
class InProcessServer:
    """A server app running in this process: its base URL and a transport that reaches it."""

    url: str
    transport: httpx.BaseTransport
    control: ControlStore
    config: ServerConfig

    def new_store(self, journal_dir: Path) -> HttpStore:
        """A store on a new workspace of this server, with a writer token of it."""
        name = f"w{uuid.uuid4().hex[:12]}"
        self.control.create_workspace(name)
        _, token = self.control.create_token(name, Role.WRITER, "contract")
        return HttpStore(
            f"{self.url}/{name}", token, journal_dir=journal_dir, transport=self.transport
        )

    def backing(self, store: HttpStore) -> SqlTarget:
        """The SQL store the server keeps ``store``'s workspace in (see ``server/config.py``)."""
        return backing_of(self.config, store)


class _AppTransport(httpx.WSGITransport):
    """``httpx.WSGITransport`` for chunked uploads too: WSGI has no chunked request bodies (a
    WSGI server de-chunks them), so each body is sent whole, with its length."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        request.headers.pop("Transfer-Encoding", None)
        request.headers["Content-Length"] = str(len(body))
        return super().handle_request(request)


def _in_process(config: ServerConfig) -> Iterator[InProcessServer]:
    app = create_app(config)
    url, schema = config.control_location()
    control = ControlStore(url, schema)
    transport = _AppTransport(app=ASGIMiddleware(app))
    try:
        yield InProcessServer("http://testserver", transport, control, config)
    finally:
        control.close()
        app.state.runyard.close()  # what the app's lifespan does at shutdown


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    yield from _in_process(ServerConfig(data=str(tmp_path_factory.mktemp("data"))))


@pytest.fixture(scope="module")
def postgres_server(
    postgres_module_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessServer]:
    artifacts = str(tmp_path_factory.mktemp("artifacts"))
    # A workspace per test, hundreds in all, every one kept open (max_open_stores is 64): they
    # share one connection pool, so the test server's 100 connections are never used up.
    yield from _in_process(ServerConfig(store=postgres_module_url, artifacts=artifacts))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Uploads stalled this long may be taken over, as the contract's tests expect.
    running = start(
        tmp_path_factory.mktemp("server"),
        env={UPLOAD_STALE_SECONDS_ENV: str(STALE_UPLOAD_SECONDS)},
    )
    yield running
    running.stop()


class TestHttpInProcess(StoreContract):
    """HTTP -> SQLite and HTTP -> PostgreSQL, the server's app in this process."""

    @pytest.fixture(params=["sqlite_server", "postgres_server"])
    def served(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[tuple[InProcessServer, HttpStore]]:
        server: InProcessServer = request.getfixturevalue(request.param)
        store = server.new_store(tmp_path / "journal")
        yield server, store
        store.close()

    @pytest.fixture
    def store(self, served: tuple[InProcessServer, HttpStore]) -> Store:
        return served[1]

    @pytest.fixture
    def backing(self, served: tuple[InProcessServer, HttpStore]) -> SqlTarget:
        server, store = served
        return server.backing(store)


class TestHttpServerProcess(StoreContract):
    @pytest.fixture
    def http_store(self, server: ServerProcess, tmp_path: Path) -> Iterator[HttpStore]:
        workspace = server.new_workspace([Role.WRITER])
        store = HttpStore(workspace.uri, token=workspace.writer, journal_dir=tmp_path / "journal")
        yield store
        store.close()

    @pytest.fixture
    def store(self, http_store: HttpStore) -> Store:
        return http_store

    @pytest.fixture
    def backing(self, server: ServerProcess, http_store: HttpStore) -> SqlTarget:
        assert server.data is not None
        return backing_of(ServerConfig(data=str(server.data)), http_store)

    def test_a_bad_query_is_answered_400_with_the_parsers_message(
        self, server: ServerProcess
    ) -> None:
        workspace = server.new_workspace([Role.READER])
        path = f"/api/v1/workspaces/{workspace.name}/runs/search"
        for body, source in (
            ({"filter": "metrics.val_auc > "}, "filter"),
            ({"order_by": ["status", "metrics.acc DOWN"]}, "order_by"),
        ):
            with pytest.raises(InvalidQueryError) as parsed:
                parse_filter(body.get("filter", "")) if source == "filter" else parse_order_by(
                    body["order_by"]
                )
            answer = server.request("POST", path, workspace.tokens[Role.READER], json=body)
            assert answer.status_code == 400, answer.text
            error = answer.json()["error"]
            assert (error["code"], error["message"]) == ("InvalidQuery", str(parsed.value))
