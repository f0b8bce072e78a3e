"""The rest of Azure ML v1's run and workspace calls that ported code touches:
get_detailed_status, get_environment, get_snapshot_id, get_submitted_run, get_portal_url,
ws.environments and ws.models."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import (
    Environment,
    Experiment,
    Model,
    Run,
    RunStatus,
    ScriptRunConfig,
    Workspace,
)
from runyard.entities import NewRun
from runyard.errors import UserError
from runyard.sdk.offline import OfflineRun
from tests.runners.helpers import write_script


def test_run_get_detailed_status_says_how_a_run_failed(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    assert run.get_detailed_status() == {"status": "Running", "details": None}
    run.fail(ValueError("the loss went to nan"))
    detailed = run.get_detailed_status()
    assert detailed["status"] == "Failed"
    assert "the loss went to nan" in detailed["details"]


def test_run_get_detailed_status_says_why_a_run_waits(experiment: Experiment) -> None:
    queued = NewRun("waiting-run", experiment.name, status=RunStatus.QUEUED)
    experiment.workspace.store.create_runs([queued])
    detailed = Run(experiment, "waiting-run").get_detailed_status()
    assert detailed["status"] == "Queued"
    assert "queue" in detailed["details"]


def test_run_get_environment_of_a_submitted_script(experiment: Experiment, tmp_path: Path) -> None:
    write_script(tmp_path, "train.py", "print('ok')")
    env = Environment("churn-env")
    env.python.user_managed_dependencies = True
    env.environment_variables = {"SEED": "7"}
    config = ScriptRunConfig(source_directory=str(tmp_path), script="train.py", environment=env)
    run = experiment.submit(config)
    run.wait_for_completion()
    found = Run(experiment, run.id).get_environment()
    assert found.name == "churn-env"
    assert found.python.user_managed_dependencies is True
    assert found.environment_variables == {"SEED": "7"}


def test_run_get_environment_of_an_interactive_run_says_there_is_none(
    experiment: Experiment,
) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    with pytest.raises(UserError, match=r"only runs submitted with Experiment\.submit"):
        run.get_environment()
    run.complete()


def test_run_get_snapshot_id_is_the_snapshot_restored(
    experiment: Experiment, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    with_snapshot = experiment.start_logging(snapshot_directory=str(tmp_path))
    without = experiment.start_logging(snapshot_directory=None)
    snapshot_id = with_snapshot.get_snapshot_id()
    assert snapshot_id == with_snapshot.get_properties()["ContentSnapshotId"]
    assert Path(with_snapshot.restore_snapshot(path=tmp_path / "s")).name == f"{snapshot_id}.zip"
    assert without.get_snapshot_id() is None
    with_snapshot.complete()
    without.complete()


def test_run_get_submitted_run_outside_a_script_is_offline() -> None:
    assert isinstance(Run.get_submitted_run(), OfflineRun)


def test_run_get_portal_url_only_when_a_ui_is_known(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    assert run.get_portal_url() is None
    monkeypatch.setenv("RUNYARD_UI_URL", "http://127.0.0.1:8765/ui/w/local/")
    url = Run(experiment, run.id).get_portal_url()
    assert url is not None and url.startswith("http://127.0.0.1:8765/ui/w/local/")
    assert url.endswith(run.id)
    run.complete()


def test_workspace_environments_and_models_by_name(workspace: Workspace, tmp_path: Path) -> None:
    assert workspace.environments == {}
    assert workspace.models == {}
    env = Environment("serving")
    env.python.user_managed_dependencies = True
    env.register(workspace)
    env.environment_variables = {"A": "1"}
    env.register(workspace)
    (tmp_path / "model.bin").write_bytes(b"weights")
    Model.register(workspace, str(tmp_path / "model.bin"), "scorer")
    Model.register(workspace, str(tmp_path / "model.bin"), "scorer")
    assert workspace.environments["serving"].version == "2"
    assert list(workspace.models) == ["scorer"]
    assert workspace.models["scorer"].version == 2
