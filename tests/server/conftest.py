"""Fixtures of the server tests: one real server per module, a fresh workspace per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from runyard.cli.main import main
from tests.cli.conftest import TERMINAL_ENV, Invoke
from tests.server.process import ServerProcess, Workspace, start


@pytest.fixture(autouse=True)
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where HTTP stores keep their journals in this test: never the user's ~/.cache."""
    folder = tmp_path / "journal"
    monkeypatch.setenv("RUNYARD_JOURNAL_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with tokens (``--data``), shared by the tests of a module; each test works in
    its own workspace."""
    running = start(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture
def workspace(server: ServerProcess) -> Workspace:
    """A new workspace of the module's server, with a token of each role."""
    return server.new_workspace()


@pytest.fixture
def cli() -> Invoke:
    """``cli("server", "tokens", "list")`` runs the command line in-process."""
    runner = CliRunner()

    def invoke(*args: str, env: object = None) -> Result:
        return runner.invoke(
            main, list(args), env=dict.fromkeys(TERMINAL_ENV), catch_exceptions=False
        )

    return invoke
