"""Shared fixtures: every test gets its own folder and its own workspace on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Workspace


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run each test in its own empty folder, with no tracking URI from the environment."""
    for name in ("RUNYARD_TRACKING_URI", "RUNYARD_ARTIFACT_ROOT", "RUNYARD_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def experiment(workspace: Workspace) -> Experiment:
    return Experiment(workspace=workspace, name="explore-runs")
