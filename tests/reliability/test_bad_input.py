"""Every route given bad input answers 4xx, never 5xx, and writes nothing (issue 8, bad input).

The server's app runs in this process behind an httpx transport (as in
tests/store/test_http_contract.py), on SQLite and on PostgreSQL. Each route gets a valid
request first (it must succeed), then one variant per field and bad value: wrong JSON types,
empty and huge strings, NaN and infinities, integers beyond 64 bits, control characters, NUL,
lone surrogates, ``..`` and absolute paths, in the body, the query and the path.

For every variant: the answer is below 500; when it is a refusal (4xx), the workspace's store
and the server's own tables are exactly as before (a dump of every table compared), and no
file appeared or changed anywhere in the test's folder; a write given a value no store may
keep (a wrong type, NUL or a lone surrogate, a value past a limit, a path that leaves the
run) must be refused. Free text may take the softer values (an empty string, a tab, "..").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2wsgi import ASGIMiddleware
from fastapi import FastAPI
from sqlalchemy import select

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewLoggedModel,
    NewModelVersion,
    NewRun,
    RunStatus,
    SnapshotFile,
    ValueType,
)
from runyard.server import control
from runyard.server.app import create_app
from runyard.server.config import ServerConfig
from runyard.server.control import ALL_WORKSPACES, Role
from runyard.store.sql import SqlStore
from runyard.store.sql.schema import metadata
from tests.reliability.bad_input_cases import Route, Seeded, Variant, routes, sha256, variants

# -- the server, the workspace, what it holds ----------------------------------------------------


class _AppTransport(httpx.WSGITransport):
    """WSGI has no chunked request bodies: each body is sent whole, with its length."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        request.headers.pop("Transfer-Encoding", None)
        request.headers["Content-Length"] = str(len(body))
        return super().handle_request(request)


@dataclass
class Server:
    app: FastAPI
    client: httpx.Client
    folder: Path
    admin: str

    def seed(self) -> Seeded:
        """A new workspace with an experiment, runs, a log, metrics, an artifact, a snapshot, a
        logged model."""
        name = f"w{uuid.uuid4().hex[:12]}"
        registry = self.app.state.runyard.registry
        registry.create(name)
        store = registry.store(name)
        store.create_runs(
            [
                NewRun("r", "exp", tags={"kept": "yes"}),
                NewRun("q", "exp", status=RunStatus.QUEUED),
            ]
        )
        store.set_experiment_tags("exp", {"old": "1"})
        store.create_experiment("known", experiment_id="e-known")
        store.append_log("r", "user_logs/std_log.txt", b"first\n")
        store.log_metrics(
            [MetricChunk("r", "m", MetricKind.VECTOR, ValueType.NUMBER, [0.5], [1.0])]
        )
        with (self.folder / "a.txt").open("wb+") as handle:
            handle.write(b"data")
            handle.seek(0)
            store.put_artifact("r", "outputs/a.txt", handle)
            handle.seek(0)
            store.put_blob(sha256(b"data"), handle)
        store.create_snapshot("snap", [SnapshotFile("src/a.py", sha256(b"data"), 4)])
        store.create_logged_model(NewLoggedModel("m-seed", "r", "seeded", tags={"kept": "yes"}))
        model_file = SnapshotFile("model.bin", sha256(b"data"), 4)
        store.create_model_version(NewModelVersion("seeded", files=[model_file], run_id="r"))
        store.register_environment("env-seed", {"python": {"userManagedDependencies": True}})
        store.attach_compute("ray-seed", "ray", {"address": "http://127.0.0.1:1"})
        info, _ = self.app.state.runyard.control.create_token(name, Role.READER, "victim")
        return Seeded(name, sha256(b"data"), info.token_id)

    def dump(self, workspace: str) -> tuple[Any, ...]:
        """Every row of the workspace's store and of the server's tables, and every file."""
        store = self.app.state.runyard.registry.store(workspace)
        assert isinstance(store, SqlStore)
        control_store = self.app.state.runyard.control
        rows = []
        with store.engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows.append(sorted(map(repr, conn.execute(select(table)))))
        with control_store.engine.connect() as conn:
            for table in (control.workspaces, control.tokens):
                rows.append(sorted(map(repr, conn.execute(select(table)))))
        files = sorted(
            (str(p.relative_to(self.folder)), p.stat().st_size)
            for p in self.folder.rglob("*")
            if p.is_file() and ".db" not in p.name
        )
        return tuple(map(tuple, rows)), tuple(files)

    def send(self, route: Route, variant: Variant, workspace: str) -> httpx.Response:
        path = route.path
        for name, value in variant.segments.items():
            path = path.replace("{" + name + "}", value)
        path = path.replace("{workspace}", workspace)
        url = path + (f"?{variant.raw_query}" if variant.raw_query is not None else "")
        params = None if variant.raw_query is not None else variant.params or None
        headers = {"Authorization": f"Bearer {self.admin}"}
        if variant.content is not None:
            return self.client.request(
                route.method, url, params=params, content=variant.content, headers=headers
            )
        if variant.body is None and route.body is None:
            return self.client.request(route.method, url, params=params, headers=headers)
        # json.dumps: NaN as NaN, a lone surrogate as its \\u escape, as a hostile client sends
        body = json.dumps(variant.body).encode()
        headers["Content-Type"] = "application/json"
        return self.client.request(route.method, url, params=params, content=body, headers=headers)


def _server(config: ServerConfig, folder: Path) -> Iterator[Server]:
    app = create_app(config)
    state = app.state.runyard
    _, admin = state.control.create_token(ALL_WORKSPACES, Role.ADMIN, "bad input")
    client = httpx.Client(
        transport=_AppTransport(app=ASGIMiddleware(app)), base_url="http://testserver"
    )
    try:
        yield Server(app, client, folder, admin)
    finally:
        client.close()
        state.close()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("bad-input-sqlite")
    yield from _server(ServerConfig(data=str(folder / "data")), folder)


@pytest.fixture(scope="module")
def postgres_server(
    postgres_module_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("bad-input-postgres")
    config = ServerConfig(store=postgres_module_url, artifacts=str(folder / "artifacts"))
    yield from _server(config, folder)


@pytest.fixture(params=["sqlite_server", "postgres_server"])
def server(request: pytest.FixtureRequest) -> Server:
    found: Server = request.getfixturevalue(request.param)
    return found


def _route_names() -> list[str]:
    seeded = Seeded("w", "0" * 64, "t")
    return [f"{r.method} {r.path}" for r in routes(seeded)]


def test_bad_input_covers_every_route(sqlite_server: Server) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in sqlite_server.app.openapi()["paths"].items()
        for method in item
    }
    assert documented == set(_route_names())


@pytest.mark.parametrize("route_name", _route_names())
def test_bad_input_is_refused_and_changes_nothing(server: Server, route_name: str) -> None:
    seeded = server.seed()
    route = next(r for r in routes(seeded) if f"{r.method} {r.path}" == route_name)
    if "{workspace}" in route.path:
        route.segments = {"workspace": seeded.name, **route.segments}
    valid = Variant("valid", route.segments, route.params, route.body, route.content, False)
    answer = server.send(route, valid, seeded.name)
    assert answer.status_code < 300, (route_name, answer.text)
    failures: list[str] = []
    for variant in variants(route):
        before = server.dump(seeded.name) if route.write else None
        answer = server.send(route, variant, seeded.name)
        status = answer.status_code
        problem = _problem(route, variant, status, before, lambda: server.dump(seeded.name))
        if problem:
            failures.append(f"{variant.label}: {problem} ({status}: {answer.text[:200]})")
    assert not failures, f"{route_name}:\n" + "\n".join(failures)


def _problem(
    route: Route,
    variant: Variant,
    status: int,
    before: Any,
    dump: Callable[[], Any],
) -> str | None:
    if status >= 500:
        return "a server error"
    if not route.write:
        return None
    if status < 400:
        return "accepted, though no store may keep it" if variant.must_refuse else None
    if dump() != before:
        return "refused, yet the store or the files changed"
    return None
