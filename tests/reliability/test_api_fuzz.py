"""API fuzzing: schemathesis drives every route of the server's own OpenAPI document with data
generated from it (and data that breaks it), with an admin token, against a real server on
SQLite and on PostgreSQL: no answer is a 5xx, and every answer matches the document.

Path parameters that name things (the workspace, a run, an experiment, a logged model) point
at ones that exist 7 times out of 8, so that requests get past the 404s into the routes' logic.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from runyard.entities import NewLoggedModel, NewModelVersion, NewRun, SnapshotFile
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, start, start_on_postgres

EXAMPLES = 25
"""Generated requests per route and backend: about 2,000 in all, a minute or so."""


@dataclass(frozen=True)
class Target:
    server: ServerProcess
    workspace: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        server = start(folder)
    else:
        server = start_on_postgres(folder, request.getfixturevalue("postgres_module_url"))
    try:
        workspace = server.new_workspace()
        store = HttpStore(workspace.uri, token=workspace.writer)
        store.create_runs([NewRun("r", "exp"), NewRun("child", "exp", parent_run_id="r")])
        store.create_logged_model(NewLoggedModel("m-1", "r", "model"))
        store.put_blob(hashlib.sha256(b"w").hexdigest(), io.BytesIO(b"w"))
        model_file = SnapshotFile("model.bin", hashlib.sha256(b"w").hexdigest(), 1)
        store.create_model_version(NewModelVersion("exp", files=[model_file]))
        store.close()
        yield Target(server, workspace.name)
    finally:
        server.stop()


_EXISTING: dict[str, Any] = {
    "workspace": None,
    "run_id": "r",
    "name": "exp",  # an experiment's and a registered model's
    "model_id": "m-1",
    "version": 1,
}


def _fuzz(operation: Any, target: Target) -> None:
    """Send ``EXAMPLES`` generated requests to one route; raise on the first bad answer."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        for name, value in _EXISTING.items():
            generated = (case.path_parameters or {}).get(name)
            if (
                generated is not None and zlib.crc32(str(generated).encode()) % 8
            ):  # 7 times out of 8
                case.path_parameters[name] = value if value is not None else target.workspace
        headers = {"Authorization": f"Bearer {target.server.admin_token}"}
        response = case.call(base_url=target.server.url, headers=headers)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )

    check()


@pytest.mark.slow
def test_api_fuzz_no_server_error_and_answers_as_documented(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.server.url}/openapi.json")
    failures = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        tested += 1
        try:
            _fuzz(operation, target)
        except Exception as exc:  # every route is fuzzed; all the failures are reported
            failures.append(f"{operation.label}: {exc}")
    assert tested >= 30
    assert failures == [], "\n\n".join(failures)
