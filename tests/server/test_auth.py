"""Tokens and roles on every route: 401 without a valid token, 403 without the role, and
nothing written either way (checked in the workspace's store itself, after the requests)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from runyard.entities import (
    LoggedModelQuery,
    MetricChunk,
    MetricKind,
    ModelVersionQuery,
    NewLoggedModel,
    NewModelVersion,
    NewRun,
    RunLifecycle,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ValueType,
    ViewType,
)
from runyard.errors import SnapshotNotFoundError
from runyard.server.control import ControlStore, Role
from runyard.store import Store, open_store, wire
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, Workspace

SEEDED_BLOB = b"seeded blob"
NEW_BLOB = b"new blob"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Route:
    """One request of the table: ``path`` is under the workspace's prefix unless absolute."""

    family: str
    method: str
    path: str
    role: Role
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None

    def send(self, server: ServerProcess, workspace: str, token: str | None) -> Any:
        prefix = "" if self.path.startswith("/api/") else f"/api/v1/workspaces/{workspace}"
        path = prefix + self.path.replace("{workspace}", workspace)
        return server.request(
            self.method, path, token, json=self.json, params=self.params, content=self.content
        )

    @property
    def template(self) -> tuple[str, str]:
        """(method, OpenAPI path) of the route the request goes to."""
        path = self.path if self.path.startswith("/api/") else "/api/v1/workspaces/{workspace}"
        if not self.path.startswith("/api/"):
            path += self.path
        for value, name in [
            ("/runs/r", "/runs/{run_id}"),
            ("/runs/q", "/runs/{run_id}"),
            (
                "/registered-models/seeded/versions/1",
                "/registered-models/{name}/versions/{version}",
            ),
            ("/registered-models/seeded/latest", "/registered-models/{name}/latest"),
            ("/logged-models/m-seed", "/logged-models/{model_id}"),
            ("/environments/env-seed", "/environments/{name}"),
            ("/compute/ray-seed", "/compute/{name}"),
            ("/experiments/by-id/fixed-id", "/experiments/by-id/{experiment_id}"),
            ("/experiments/exp", "/experiments/{name}"),
            ("/snapshots/snap", "/snapshots/{snapshot_id}"),
            (f"/blobs/{sha256(SEEDED_BLOB)}", "/blobs/{digest}"),
            (f"/blobs/{sha256(NEW_BLOB)}", "/blobs/{digest}"),
            ("/tokens/TOKEN", "/tokens/{token_id}"),
            ("/model-names/seeded", "/model-names/{name}"),
        ]:
            path = path.replace(value, name)
        return self.method, path


CHUNK = wire.chunk_to_json(
    MetricChunk("r", "loss", MetricKind.VECTOR, ValueType.NUMBER, [0.5], [1.0])
)
READS = [
    Route("experiments", "GET", "/experiments", Role.READER),
    Route("experiments", "GET", "/experiments/exp", Role.READER),
    Route("experiments", "POST", "/experiments", Role.READER, json={"name": "exp"}),
    Route("experiments", "GET", "/experiments/by-id/fixed-id", Role.READER),
    Route("runs", "GET", "/runs/r", Role.READER),
    Route("runs", "POST", "/runs/search", Role.READER, json={}),
    Route("runs", "POST", "/runs/count", Role.READER, json={}),
    Route("metrics", "POST", "/metrics/series/query", Role.READER, json={"run_ids": ["r"]}),
    Route("metrics", "POST", "/metrics/query", Role.READER, json={"run_ids": ["r"]}),
    Route("logs", "GET", "/runs/r/logs", Role.READER),
    Route("logs", "GET", "/runs/r/logs/content", Role.READER, params={"name": "log.txt"}),
    Route("artifacts", "GET", "/runs/r/artifacts", Role.READER),
    Route("artifacts", "GET", "/runs/r/artifacts/content", Role.READER, params={"path": "a.txt"}),
    Route("snapshots", "POST", "/blobs/missing", Role.READER, json={"digests": ["0" * 64]}),
    Route("snapshots", "GET", f"/blobs/{sha256(SEEDED_BLOB)}", Role.READER),
    Route("snapshots", "GET", "/snapshots/snap", Role.READER),
    Route("workspaces", "GET", "/api/v1/workspaces/{workspace}", Role.READER),
    Route("logged models", "GET", "/logged-models/m-seed", Role.READER),
    Route("logged models", "POST", "/logged-models/search", Role.READER, json={}),
    Route("logged models", "POST", "/runs/io/query", Role.READER, json={"run_ids": ["r"]}),
    Route("registered models", "GET", "/registered-models/seeded/latest", Role.READER),
    Route("registered models", "GET", "/registered-models/seeded/versions/1", Role.READER),
    Route("registered models", "POST", "/registered-models/versions/search", Role.READER, json={}),
    Route("registered models", "GET", "/model-names", Role.READER),
    Route("registered models", "GET", "/model-names/seeded", Role.READER),
    Route("environments", "GET", "/environments", Role.READER),
    Route("environments", "GET", "/environments/env-seed", Role.READER),
    Route("compute", "GET", "/compute", Role.READER),
    Route("compute", "GET", "/compute/ray-seed", Role.READER),
]
MODEL_WRITES = [
    Route(
        "logged models",
        "POST",
        "/logged-models",
        Role.WRITER,
        json={"model": {"model_id": "m-new", "source_run_id": "r", "name": "new"}},
    ),
    Route("logged models", "PATCH", "/logged-models/m-seed", Role.WRITER, json={"status": "ready"}),
    Route(
        "logged models",
        "PATCH",
        "/logged-models/m-seed/tags",
        Role.WRITER,
        json={"tags": {"k": "v"}},
    ),
    Route(
        "logged models",
        "DELETE",
        "/logged-models/m-seed/tags",
        Role.WRITER,
        params={"key": "seeded"},
    ),
    Route(
        "logged models",
        "PATCH",
        "/logged-models/m-seed/params",
        Role.WRITER,
        json={"params": {"p": "v"}},
    ),
    Route(
        "logged models",
        "POST",
        "/logged-models/m-seed/metrics",
        Role.WRITER,
        json={"metrics": [{"key": "acc", "value": 0.5, "time": 1.0}]},
    ),
    Route(
        "logged models",
        "POST",
        "/runs/r/inputs",
        Role.WRITER,
        json={"datasets": [{"name": "d", "digest": "1", "source_type": "code", "source": "{}"}]},
    ),
    Route(
        "logged models",
        "POST",
        "/runs/r/outputs",
        Role.WRITER,
        json={"outputs": [{"model_id": "m-seed", "step": 1}]},
    ),
    Route("logged models", "DELETE", "/logged-models/m-seed", Role.WRITER),
    Route(
        "registered models",
        "POST",
        "/registered-models/versions",
        Role.WRITER,
        json={
            "model": {
                "name": "new",
                "files": [{"path": "model.bin", "digest": sha256(SEEDED_BLOB), "size": 11}],
            }
        },
    ),
    Route(
        "registered models",
        "PATCH",
        "/registered-models/seeded/versions/1/tags",
        Role.WRITER,
        json={"tags": {"k": "v"}},
    ),
    Route(
        "registered models",
        "PATCH",
        "/registered-models/seeded/versions/1/properties",
        Role.WRITER,
        json={"properties": {"p": "v"}},
    ),
    Route(
        "registered models",
        "PATCH",
        "/registered-models/seeded/versions/1/description",
        Role.WRITER,
        json={"description": "d"},
    ),
    Route("registered models", "POST", "/model-names", Role.WRITER, json={"name": "empty"}),
    Route(
        "registered models",
        "PATCH",
        "/model-names/seeded",
        Role.WRITER,
        json={"description": "d", "aliases": {"best": 1}},
    ),
    Route("registered models", "DELETE", "/registered-models/seeded/versions/1", Role.WRITER),
    Route("registered models", "DELETE", "/model-names/seeded", Role.WRITER),
]
WRITES = [
    Route("experiments", "POST", "/experiments", Role.WRITER, json={"name": "brand-new"}),
    Route("experiments", "PUT", "/experiments/exp/archived", Role.WRITER, json={"archived": True}),
    Route("experiments", "PATCH", "/experiments/exp/tags", Role.WRITER, json={"tags": {"k": "v"}}),
    Route(
        "runs",
        "POST",
        "/runs",
        Role.WRITER,
        json={"runs": [{"run_id": "new-run", "experiment_name": "exp"}]},
    ),
    Route("runs", "PATCH", "/runs/r", Role.WRITER, json={"display_name": "changed"}),
    Route("runs", "PATCH", "/runs/r/tags", Role.WRITER, json={"tags": {"k": "v"}}),
    Route("runs", "DELETE", "/runs/r/tags", Role.WRITER, params={"key": ["seeded"]}),
    Route("runs", "PATCH", "/runs/r/properties", Role.WRITER, json={"properties": {"p": "v"}}),
    Route("metrics", "POST", "/metrics", Role.WRITER, json={"chunks": [CHUNK]}),
    Route(
        "logs",
        "POST",
        "/runs/r/logs/content",
        Role.WRITER,
        params={"name": "log.txt"},
        content=b"x",
    ),
    Route(
        "artifacts",
        "POST",
        "/runs/r/artifacts/content",
        Role.WRITER,
        params={"path": "new.txt"},
        content=b"new artifact",
    ),
    Route("snapshots", "PUT", f"/blobs/{sha256(NEW_BLOB)}", Role.WRITER, content=NEW_BLOB),
    Route(
        "snapshots",
        "POST",
        "/snapshots",
        Role.WRITER,
        json={
            "snapshot_id": "snap2",
            "files": [{"path": "a", "digest": sha256(SEEDED_BLOB), "size": 1}],
        },
    ),
    Route("supervision", "POST", "/runs/r/heartbeat", Role.WRITER),
    Route(
        "supervision",
        "POST",
        "/runs/q/claim",
        Role.WRITER,
        json={"target": "local", "max_active": 5, "stale_age": 3600},
    ),
    Route("supervision", "PUT", "/runs/r/error", Role.WRITER, json={"error": {"message": "x"}}),
    Route(
        "supervision",
        "POST",
        "/runs/expire-heartbeats",
        Role.WRITER,
        json={"not_responding_age": -60, "fail_age": 3600, "error": {"message": "dead"}},
    ),
    Route("supervision", "POST", "/runs/r/stop", Role.WRITER, json={"status": "Canceled"}),
    *MODEL_WRITES,
    Route(
        "environments",
        "POST",
        "/environments",
        Role.WRITER,
        json={"name": "env-new", "definition": {"python": {}}},
    ),
    Route(
        "compute",
        "POST",
        "/compute",
        Role.WRITER,
        json={"name": "ray-new", "kind": "ray", "config": {"address": "http://127.0.0.1:1"}},
    ),
    Route("compute", "DELETE", "/compute/ray-seed", Role.WRITER),
    Route("runs", "PUT", "/runs/r/status", Role.WRITER, json={"status": "Completed"}),
    Route("runs", "PUT", "/runs/r/deleted", Role.WRITER, json={"deleted": True}),
    # After the status change above (reopens what it ended) and last (renames "exp").
    Route("runs", "POST", "/runs/r/reopen", Role.WRITER),
    Route("experiments", "POST", "/experiments/new", Role.WRITER, json={"name": "created"}),
    Route("experiments", "PUT", "/experiments/exp/name", Role.WRITER, json={"name": "renamed"}),
    Route("experiments", "DELETE", "/experiments/by-id/fixed-id", Role.WRITER),
]
ADMINS = [
    Route("tokens", "POST", "/tokens", Role.ADMIN, json={"role": "reader", "name": "more"}),
    Route("tokens", "GET", "/tokens", Role.ADMIN),
    Route("tokens", "DELETE", "/tokens/TOKEN", Role.ADMIN),
]
WORKSPACE_ROUTES = READS + WRITES + ADMINS
SERVER_ROUTES = [
    Route("workspaces", "GET", "/api/v1/workspaces", Role.READER),
    Route("workspaces", "POST", "/api/v1/workspaces", Role.ADMIN, json={"name": "made_by_test"}),
]


def seed(workspace: Workspace) -> None:
    """Put something of every kind in the workspace."""
    store = HttpStore(workspace.uri, token=workspace.tokens[Role.ADMIN])
    try:
        store.create_runs(
            [
                NewRun("r", "exp", tags={"seeded": "yes"}, properties={"seeded": "yes"}),
                NewRun("q", "exp", status=RunStatus.QUEUED),
            ]
        )
        store.heartbeat("q")
        store.log_metrics(
            [MetricChunk("r", "acc", MetricKind.VECTOR, ValueType.NUMBER, [1.0], [1.0])]
        )
        store.append_log("r", "log.txt", b"seeded line\n")
        store.put_artifact("r", "a.txt", io.BytesIO(b"seeded artifact"))
        store.put_blob(sha256(SEEDED_BLOB), io.BytesIO(SEEDED_BLOB))
        store.create_snapshot("snap", [SnapshotFile("a", sha256(SEEDED_BLOB), 11)])
        store.create_experiment("fixed", experiment_id="fixed-id")
        store.create_logged_model(NewLoggedModel("m-seed", "r", "seeded", tags={"seeded": "yes"}))
        seeded_file = SnapshotFile("model.bin", sha256(SEEDED_BLOB), 11)
        store.create_model_version(NewModelVersion("seeded", files=[seeded_file], run_id="r"))
        store.register_environment("env-seed", {"python": {"userManagedDependencies": True}})
        store.attach_compute("ray-seed", "ray", {"address": "http://127.0.0.1:1"})
    finally:
        store.close()


def state_of(server: ServerProcess, name: str) -> dict[str, Any]:
    """Everything the workspace holds, read from its SQLite file and artifact folder."""
    assert server.data is not None
    artifacts = server.data / "artifacts" / name
    store = open_store(f"sqlite:///{server.data / name}.db", str(artifacts))
    control = ControlStore(f"sqlite:///{server.data / 'server.db'}")
    try:
        every = RunQuery(include_children=True, lifecycle=RunLifecycle.ALL)
        runs = store.search_runs(every).runs
        ids = [r.run_id for r in runs]
        return {
            "experiments": store.list_experiments(ViewType.ALL),
            "runs": runs,
            "metrics": store.read_metrics(ids),
            "logs": {i: {n: store.read_log(i, n) for n in store.list_logs(i)} for i in ids},
            "artifacts": {i: store.list_artifacts(i) for i in ids},
            "missing": store.missing_blobs([sha256(NEW_BLOB)]),
            "snapshots": [_snapshot(store, s) for s in ("snap", "snap2")],
            "files": sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*")),
            "tokens": control.list_tokens(name),
            "workspaces": control.list_workspaces(),
            "models": store.search_logged_models(LoggedModelQuery(include_deleted=True)).models,
            "io": store.get_run_io(ids),
            "registry": store.search_model_versions(ModelVersionQuery()),
            "registered": store.list_registered_models(),
            "environments": [
                v for e in store.list_environments() for v in store.list_environments(e.name)
            ],
            "compute": store.list_compute(),
        }
    finally:
        store.close()
        control.close()


def _snapshot(store: Store, snapshot_id: str) -> list[SnapshotFile] | None:
    try:
        return store.get_snapshot(snapshot_id)
    except SnapshotNotFoundError:
        return None


@pytest.fixture
def seeded(server: ServerProcess, workspace: Workspace) -> Workspace:
    seed(workspace)
    return workspace


def _token_id(server: ServerProcess, workspace: Workspace, role: Role) -> str:
    listed = server.request(
        "GET", f"/api/v1/workspaces/{workspace.name}/tokens", workspace.tokens[Role.ADMIN]
    ).json()["tokens"]
    return next(t["token_id"] for t in listed if t["role"] == role.value)


def _with_token_id(route: Route, token_id: str) -> Route:
    if "TOKEN" not in route.path:
        return route
    return Route(route.family, route.method, route.path.replace("TOKEN", token_id), route.role)


def _assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("token", "code"), [(None, "Unauthenticated"), ("ryd_not-a-token", "Unauthenticated")]
)
def test_auth_missing_or_invalid_token_is_401_everywhere_and_writes_nothing(
    server: ServerProcess, seeded: Workspace, token: str | None, code: str
) -> None:
    before = state_of(server, seeded.name)
    for route in WORKSPACE_ROUTES + SERVER_ROUTES:
        response = route.send(server, seeded.name, token)
        _assert_refused(response, 401, code)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert state_of(server, seeded.name) == before


def test_auth_revoked_token_is_401_everywhere_and_writes_nothing(
    server: ServerProcess, seeded: Workspace
) -> None:
    token_id = _token_id(server, seeded, Role.WRITER)
    revoked = server.request(
        "DELETE",
        f"/api/v1/workspaces/{seeded.name}/tokens/{token_id}",
        seeded.tokens[Role.ADMIN],
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_time"] is not None
    before = state_of(server, seeded.name)
    for route in WORKSPACE_ROUTES + SERVER_ROUTES:
        _assert_refused(route.send(server, seeded.name, seeded.writer), 401, "Unauthenticated")
    assert state_of(server, seeded.name) == before


def test_auth_token_of_another_workspace_is_403_and_writes_nothing(
    server: ServerProcess, seeded: Workspace
) -> None:
    other = server.new_workspace([Role.ADMIN])
    before = state_of(server, seeded.name)
    for route in WORKSPACE_ROUTES:
        response = route.send(server, seeded.name, other.tokens[Role.ADMIN])
        _assert_refused(response, 403, "Forbidden")
    assert state_of(server, seeded.name) == before


def test_auth_reader_is_403_on_writes_and_admin_routes(
    server: ServerProcess, seeded: Workspace
) -> None:
    before = state_of(server, seeded.name)
    for route in WRITES + ADMINS + SERVER_ROUTES[1:]:
        _assert_refused(
            route.send(server, seeded.name, seeded.tokens[Role.READER]), 403, "Forbidden"
        )
    assert state_of(server, seeded.name) == before
    for route in READS:
        response = route.send(server, seeded.name, seeded.tokens[Role.READER])
        assert response.status_code == 200, (route, response.text)
    assert state_of(server, seeded.name) == before


def test_auth_writer_is_403_on_admin_routes_and_writes_with_write_routes(
    server: ServerProcess, seeded: Workspace
) -> None:
    before = state_of(server, seeded.name)
    token_id = _token_id(server, seeded, Role.READER)
    for route in ADMINS + SERVER_ROUTES[1:]:
        response = _with_token_id(route, token_id).send(server, seeded.name, seeded.writer)
        _assert_refused(response, 403, "Forbidden")
    assert state_of(server, seeded.name) == before
    for route in WRITES:  # the same requests, allowed: each changes the workspace
        response = route.send(server, seeded.name, seeded.writer)
        assert response.status_code < 400, (route, response.text)
        after = state_of(server, seeded.name)
        assert after != before, route
        before = after


def test_auth_workspace_admin_manages_tokens_but_creates_no_workspace(
    server: ServerProcess, seeded: Workspace
) -> None:
    admin = seeded.tokens[Role.ADMIN]
    made = ADMINS[0].send(server, seeded.name, admin)
    assert made.status_code == 201 and made.json()["token"].startswith("ryd_")
    listed = ADMINS[1].send(server, seeded.name, admin).json()["tokens"]
    assert "token" not in json.dumps(listed).replace('"token_id"', "")
    revoked = _with_token_id(ADMINS[2], made.json()["token_id"]).send(server, seeded.name, admin)
    assert revoked.status_code == 200
    _assert_refused(
        READS[0].send(server, seeded.name, made.json()["token"]), 401, "Unauthenticated"
    )
    _assert_refused(SERVER_ROUTES[1].send(server, seeded.name, admin), 403, "Forbidden")
    mine = SERVER_ROUTES[0].send(server, seeded.name, admin).json()["workspaces"]
    assert [(w["name"], w["role"]) for w in mine] == [(seeded.name, "admin")]


def test_auth_table_covers_every_route(server: ServerProcess) -> None:
    paths = server.request("GET", "/openapi.json").json()["paths"]
    served = {(m.upper(), p) for p, item in paths.items() for m in item}
    tested = {r.template for r in WORKSPACE_ROUTES + SERVER_ROUTES}
    assert served - {("GET", "/healthz"), ("GET", "/readyz")} == tested


def test_auth_server_admin_creates_workspaces(server: ServerProcess) -> None:
    name = f"made_{uuid.uuid4().hex[:8]}"
    made = server.request("POST", "/api/v1/workspaces", server.admin_token, json={"name": name})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == name
    again = server.request("POST", "/api/v1/workspaces", server.admin_token, json={"name": name})
    _assert_refused(again, 400, "UserError")
    assert server.data is not None and (server.data / f"{name}.db").is_file()
    listed = server.request("GET", "/api/v1/workspaces", server.admin_token).json()["workspaces"]
    assert name in [w["name"] for w in listed]
