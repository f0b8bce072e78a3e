"""The stock MLflow client against a real ``runyard server``, on SQLite and on PostgreSQL.

Each module gets one server per backend (``mlflow_server``, parametrized), each test a fresh
workspace with a token of each role, and the MLflow client pointed at it the way a user does:
``MLFLOW_TRACKING_URI=http://127.0.0.1:PORT/<workspace>`` and ``MLFLOW_TRACKING_TOKEN``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runyard.server.control import Role
from tests.server.process import ServerProcess, Workspace, start, start_on_postgres

mlflow = pytest.importorskip("mlflow")

QUIET_MLFLOW = {
    # A failed call fails the test at once instead of after minutes of retries.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    # No calls home from the test machine.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mlflow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    if request.param == "sqlite":
        server = start(folder)
    else:
        server = start_on_postgres(folder, request.getfixturevalue("postgres_module_url"))
    yield server
    server.stop()


@dataclass(frozen=True)
class Tracking:
    """A workspace the MLflow client logs into."""

    server: ServerProcess
    workspace: Workspace

    @property
    def uri(self) -> str:
        return self.workspace.uri

    def token(self, role: Role) -> str:
        return self.workspace.tokens[role]


@pytest.fixture
def tracking(
    mlflow_server: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Tracking]:
    """A fresh workspace, the MLflow client pointed at it with a writer token (as a user sets
    it up), and runyard's own SDK settings for the same workspace."""
    workspace = mlflow_server.new_workspace()
    for name, value in QUIET_MLFLOW.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", workspace.uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", workspace.writer)
    monkeypatch.setenv("RUNYARD_TRACKING_URI", workspace.uri)
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    monkeypatch.setenv("RUNYARD_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(workspace.uri)
    # The fluent API remembers the experiment of the last set_experiment (of another server).
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    try:
        yield Tracking(mlflow_server, workspace)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        forget_experiment()


def forget_experiment() -> None:
    """``mlflow.set_experiment`` also sets these variables (for child processes): a test must
    not inherit the experiment of the previous one, which is on another server."""
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(name, None)
