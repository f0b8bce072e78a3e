"""Model.get_model_path outside a submitted script reads the workspace of the folder, and never
starts a run (not even with the RUNYARD_EXPERIMENT opt-in set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Experiment, Model, Workspace


def test_model_get_model_path_starts_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = Workspace.create(tmp_path)
    (tmp_path / "weights.bin").write_bytes(b"w")
    Model.register(workspace, str(tmp_path / "weights.bin"), "scorer")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNYARD_EXPERIMENT", "serving")

    path = Path(Model.get_model_path("scorer"))

    assert path.read_bytes() == b"w"
    assert "serving" not in {e.name for e in Experiment.list(workspace)}
