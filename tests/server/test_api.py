"""The HTTP API itself: health, the OpenAPI document, error bodies, streamed uploads."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from runyard.entities import NewRun
from runyard.errors import error_class_for_code
from runyard.server.control import Role
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, Workspace


def _create_run(workspace: Workspace, run: NewRun) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer)
    store.create_runs([run])
    store.close()


def test_healthz_and_readyz_answer(server: ServerProcess) -> None:
    health = server.request("GET", "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert server.request("GET", "/readyz").json() == {"status": "ready"}


def test_openapi_document_lists_the_routes(server: ServerProcess) -> None:
    document = server.request("GET", "/openapi.json").json()
    assert document["info"]["title"] == "runyard tracking server"
    paths = document["paths"]
    prefix = "/api/v1/workspaces/{workspace}"
    for path, method in [
        (prefix + "/runs", "post"),
        (prefix + "/runs/{run_id}", "get"),
        (prefix + "/metrics", "post"),
        (prefix + "/runs/{run_id}/artifacts/content", "post"),
        (prefix + "/blobs/{digest}", "put"),
        (prefix + "/tokens", "post"),
        ("/api/v1/workspaces", "post"),
    ]:
        assert method in paths[path], path
    assert len(paths) >= 30
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorDetail")
    assert "HTTPBearer" in document["components"]["securitySchemes"]


def test_errors_have_one_shape_and_the_error_class_status(
    server: ServerProcess, workspace: Workspace
) -> None:
    base = f"/api/v1/workspaces/{workspace.name}"
    cases = [
        ("GET", base + "/runs/absent", None, 404, "RunNotFound"),
        ("GET", base + "/experiments/absent", None, 404, "ExperimentNotFound"),
        ("POST", base + "/experiments", {"name": "has space"}, 400, "InvalidName"),
        ("POST", base + "/runs", {"runs": [{"run_id": 7}]}, 400, "InvalidArgument"),
        ("GET", "/api/v1/nowhere", None, 404, "NotFound"),
        ("GET", "/api/v1/workspaces/absent-ws/runs/r", None, 404, "NotFound"),
    ]
    for method, path, body, status, code in cases:
        response = server.request(method, path, server.admin_token, json=body)
        assert response.status_code == status, (path, response.text)
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["code"] == code
        if code not in ("NotFound", "InvalidArgument"):
            assert error_class_for_code(code).http_status == status


def test_bad_metric_chunks_are_refused_with_what_is_wrong(
    server: ServerProcess, workspace: Workspace
) -> None:
    _create_run(workspace, NewRun("r", "exp"))
    good = {
        "run_id": "r",
        "name": "loss",
        "kind": "vector",
        "value_type": "number",
        "values": {"encoding": "f64", "data": "AAAAAAAA8D8="},  # 1.0
        "times": "AAAAAAAA8D8=",
    }
    cases = [
        ({"kind": "histogram"}, "kind"),  # refused by the schema's enum
        ({"value_type": "complex"}, "value_type"),
        ({"values": {"encoding": "f16", "data": ""}}, "encoding"),
        ({"values": {"encoding": "f64", "data": "not base64!"}}, "not valid base64"),
        ({"values": {"encoding": "f64", "data": "AAAA"}}, "cannot be read"),  # 3 bytes
        ({"times": "AAAA"}, "times cannot be read"),
    ]
    path = f"/api/v1/workspaces/{workspace.name}/metrics"
    for change, expected in cases:
        body = {"chunks": [{**good, **change}]}
        response = server.request("POST", path, workspace.writer, json=body)
        assert response.status_code == 400, (change, response.text)
        assert response.json()["error"]["code"] == "InvalidArgument"
        assert expected in response.json()["error"]["message"], response.text
    query = f"/api/v1/workspaces/{workspace.name}/metrics/query"
    found = server.request("POST", query, workspace.writer, json={"run_ids": ["r"]})
    assert found.json() == {"metrics": []}  # nothing of the refused chunks was written
    sent = server.request("POST", path, workspace.writer, json={"chunks": [good]})
    assert sent.status_code == 204


def test_errors_conflict_is_409(server: ServerProcess, workspace: Workspace) -> None:
    _create_run(workspace, NewRun("r", "exp", properties={"author": "ann"}))
    response = server.request(
        "PATCH",
        f"/api/v1/workspaces/{workspace.name}/runs/r/properties",
        workspace.writer,
        json={"properties": {"author": "bob"}},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "PropertyConflict"


def test_missing_workspace_is_404_for_server_admins_and_403_for_others(
    server: ServerProcess, workspace: Workspace
) -> None:
    path = "/api/v1/workspaces/never-made/experiments"
    assert server.request("GET", path, server.admin_token).status_code == 404
    assert server.request("GET", path, workspace.tokens[Role.ADMIN]).status_code == 403


def test_put_artifact_streams_the_body_to_the_store(
    server: ServerProcess, workspace: Workspace
) -> None:
    store = HttpStore(workspace.uri, token=workspace.writer)
    store.create_runs([NewRun("r", "exp")])
    store.close()
    assert server.data is not None
    folder = server.data / "artifacts" / workspace.name / "uploads"  # the partial files

    def partial_files() -> list[Path]:
        return list(folder.iterdir()) if folder.exists() else []

    seen_while_uploading: list[Path] = []

    def body() -> Iterator[bytes]:
        yield b"x" * (2 * 1024 * 1024)
        # The first part is written before the rest is sent: nothing holds the whole body.
        deadline = time.monotonic() + 10
        while not partial_files() and time.monotonic() < deadline:
            time.sleep(0.02)
        seen_while_uploading.extend(partial_files())
        yield b"y" * 1024

    response = httpx.post(
        f"{server.url}/api/v1/workspaces/{workspace.name}/runs/r/artifacts/content",
        params={"path": "big.bin"},
        content=body(),
        headers={"Authorization": f"Bearer {workspace.writer}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == 2 * 1024 * 1024 + 1024
    assert seen_while_uploading, "the server wrote nothing before the upload ended"
    assert not partial_files()
    reader = HttpStore(workspace.uri, token=workspace.tokens[Role.READER])
    with reader.open_artifact("r", "big.bin") as stream:
        assert stream.read(4) == b"xxxx"
        rest = io.BytesIO(stream.read())
    reader.close()
    assert rest.getvalue().endswith(b"y" * 1024)


def test_bad_versions_configs_and_paths_are_4xx_not_500(
    server: ServerProcess, workspace: Workspace
) -> None:
    _create_run(workspace, NewRun("r", "exp"))
    base = f"/api/v1/workspaces/{workspace.name}"
    long_name = "outputs/" + "é" * 200  # one name of 400 bytes in UTF-8
    cases = [
        ("GET", "/environments/absent", {"params": {"version": "²"}}, 404, "EnvironmentNotFound"),
        ("POST", "/compute", {"json": {"name": "r", "kind": "ray", "config": {}}}, 400, "address"),
        (
            "POST",
            "/runs/r/artifacts/content",
            {"params": {"path": long_name}, "content": b"x"},
            400,
            "255 bytes",
        ),
        (
            "POST",
            "/runs/r/logs/content",
            {"params": {"name": long_name}, "content": b"x"},
            400,
            "255 bytes",
        ),
    ]
    for method, path, kwargs, status, expected in cases:
        response = server.request(method, base + path, workspace.writer, **kwargs)
        assert response.status_code == status, (path, response.text)
        assert expected in response.text, response.text
    listed = server.request("GET", base + "/runs/r/artifacts", workspace.writer)
    assert listed.json()["artifacts"] == []
    assert server.request("GET", base + "/compute", workspace.writer).json()["targets"] == []
