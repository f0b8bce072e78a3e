"""Where Workspace.from_config() finds or puts a workspace: git repositories, Azure ML configs,
paths that do not exist; and the Azure attributes a workspace has (reference §1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from runyard.errors import WorkspaceConfigError
from runyard.sdk.workspace import _shown_uri
from runyard.settings import TrackingUri

AZURE_CONFIG = {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "ws-1"}

TRAIN = """
from runyard import Experiment, Workspace

ws = Workspace.from_config()
Experiment(ws, "train").start_logging(snapshot_directory=None).complete()
print(ws.tracking_uri)
"""


def _git_init(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def _azure_config(folder: Path, data: object = AZURE_CONFIG) -> Path:
    config = folder / ".azureml" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps(data))
    return config


def _sqlite_uri(folder: Path) -> str:
    return f"sqlite:///{(folder / '.runyard' / 'runyard.db').resolve()}"


def test_workspace_from_config_missing_path_raises_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"

    with pytest.raises(WorkspaceConfigError) as info:
        Workspace.from_config(path=missing)

    message = str(info.value)
    assert "could not be found" in message and "does not exist" in message
    assert str(missing) in message and "Workspace.create" in message
    assert list(tmp_path.iterdir()) == []


def test_workspace_from_config_missing_config_file_path_raises(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceConfigError, match="does not exist"):
        Workspace.from_config(path=tmp_path / "config.json")
    assert list(tmp_path.iterdir()) == []


def test_workspace_from_config_in_a_git_subfolder_creates_at_the_repository_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _git_init(tmp_path / "repo")
    deep = repo / "proj" / "notebooks"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    with closing(Workspace.from_config()) as ws:
        assert ws.tracking_uri == _sqlite_uri(repo)
        assert ws.name == "repo"

    assert not (deep / ".runyard").exists()
    assert not (repo / "proj" / ".runyard").exists()
    [line] = capsys.readouterr().err.splitlines()
    assert str(repo / ".runyard") in line and "git repository" in line


def test_workspace_from_config_explicit_folder_in_a_git_repository_uses_its_top(
    tmp_path: Path,
) -> None:
    repo = _git_init(tmp_path / "repo")
    (repo / "proj").mkdir()

    with closing(Workspace.from_config(path=repo / "proj")) as ws:
        assert ws.tracking_uri == _sqlite_uri(repo)
    with closing(Workspace.from_config(path=repo / "proj")) as again:
        assert again.tracking_uri == _sqlite_uri(repo)


def test_workspace_from_config_same_workspace_from_the_top_and_from_the_script_folder(
    tmp_path: Path,
) -> None:
    repo = _git_init(tmp_path / "repo")
    (repo / "proj").mkdir()
    (repo / "proj" / "train.py").write_text(TRAIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    from_top = subprocess.run(
        [sys.executable, "proj/train.py"], cwd=repo, env=env, capture_output=True, text=True
    )
    from_proj = subprocess.run(
        [sys.executable, "train.py"], cwd=repo / "proj", env=env, capture_output=True, text=True
    )

    assert from_top.returncode == 0, from_top.stderr
    assert from_proj.returncode == 0, from_proj.stderr
    assert from_top.stdout == from_proj.stdout == _sqlite_uri(repo) + "\n"
    assert "created a local workspace" in from_top.stderr
    assert from_proj.stderr == ""
    with closing(Workspace.from_config(repo)) as ws:
        assert len(list(Experiment(ws, "train").get_runs())) == 2


def test_workspace_created_at_a_repository_top_is_ignored_by_git(tmp_path: Path) -> None:
    repo = _git_init(tmp_path / "repo")

    with closing(Workspace.from_config(repo)) as ws:
        Experiment(ws, "kept").start_logging(snapshot_directory=None).complete()

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    assert status.stdout == ""


def test_workspace_from_config_outside_git_creates_in_the_folder_searched_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()

    with closing(Workspace.from_config(path=tmp_path / "data")) as ws:
        assert ws.tracking_uri == _sqlite_uri(tmp_path / "data")
    assert "no git repository" in capsys.readouterr().err


def test_workspace_from_config_azure_config_only_gets_a_notice_and_its_own_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    azure = _azure_config(project)
    notebooks = project / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)

    with closing(Workspace.from_config()) as ws:
        assert ws.tracking_uri == _sqlite_uri(project)

    notice, created = capsys.readouterr().err.splitlines()
    assert str(azure) in notice and "Azure ML" in notice
    assert "keeps its own workspace" in notice and str(project / ".runyard") in notice
    assert str(project / ".runyard") in created
    assert json.loads(azure.read_text()) == AZURE_CONFIG
    with closing(Workspace.from_config()):
        pass
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "data",
    [
        AZURE_CONFIG,
        {
            "Scope": "/subscriptions/s/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/w"
        },
    ],
)
def test_workspace_from_config_azure_config_file_path_opens_a_runyard_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object
) -> None:
    azure = _azure_config(tmp_path / "project", data)

    with closing(Workspace.from_config(path=azure)) as ws:
        assert ws.tracking_uri == _sqlite_uri(tmp_path / "project")
    assert "keeps its own workspace" in capsys.readouterr().err


def test_workspace_has_azure_attributes_with_local_values(tmp_path: Path) -> None:
    with closing(Workspace.create(tmp_path / "proj")) as ws:
        described = f"{ws.name} {ws.location} {ws.subscription_id} {ws.resource_group}"
        assert described == "proj local local local"
        details = ws.get_details()

    assert details == {
        "id": "/subscriptions/local/resourceGroups/local/providers/runyard/workspaces/proj",
        "name": "proj",
        "friendlyName": "proj",
        "location": "local",
        "type": "runyard/workspaces",
        "provisioningState": "Succeeded",
        "tags": {},
        "description": "",
        "trackingUri": _sqlite_uri(tmp_path / "proj"),
        "artifactRoot": str((tmp_path / "proj" / ".runyard" / "artifacts").resolve()),
        "discoveryUrl": None,
    }
    json.dumps(details)


def test_workspace_details_hide_a_database_password() -> None:
    tracking = TrackingUri.parse("postgresql+psycopg://user:s3cret@db.example/runs")

    shown = _shown_uri(tracking)

    assert "s3cret" not in shown
    assert shown.startswith("postgresql+psycopg://user:") and shown.endswith("@db.example/runs")
