"""Workspace: finding, creating and writing a workspace configuration (reference §1)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from runyard.errors import StoreError, UserError, WorkspaceConfigError


def _write_config(folder: Path, data: object) -> Path:
    config = folder / ".runyard" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(data))
    return config


def _sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def test_workspace_from_config_walks_up_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.create(tmp_path / "project").close()
    deep = tmp_path / "project" / "src" / "models"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    with closing(Workspace.from_config()) as ws:
        db = (tmp_path / "project" / ".runyard" / "runyard.db").resolve()
        assert ws.tracking_uri == f"sqlite:///{db}"
        assert ws.name == "project"
    assert not (deep / ".runyard").exists()


def test_workspace_from_config_nearest_config_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.create(tmp_path, name="outer").close()
    Workspace.create(tmp_path / "inner", name="inner").close()
    monkeypatch.chdir(tmp_path / "inner")

    with closing(Workspace.from_config()) as ws:
        assert ws.name == "inner"


def test_workspace_from_config_accepts_a_start_folder(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "project").close()
    start = tmp_path / "project" / "notebooks"
    start.mkdir()

    with closing(Workspace.from_config(start)) as ws:
        assert ws.tracking_uri.endswith("/project/.runyard/runyard.db")


def test_workspace_from_config_accepts_a_config_file_path(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "store.db"
    config = tmp_path / "my-config.json"
    config.write_text(json.dumps({"tracking_uri": _sqlite_uri(db), "name": "shared"}))

    with closing(Workspace.from_config(config)) as ws:
        assert ws.tracking_uri == _sqlite_uri(db)
        assert ws.name == "shared"
        assert db.is_file()


def test_workspace_from_config_creates_a_local_workspace_when_none_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(Workspace.from_config()) as ws:
        assert ws.tracking_uri == _sqlite_uri(tmp_path / ".runyard" / "runyard.db")
        assert ws.artifact_root == str((tmp_path / ".runyard" / "artifacts").resolve())
    assert (tmp_path / ".runyard" / "config.json").is_file()
    assert (tmp_path / ".runyard" / "runyard.db").is_file()

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert ".runyard" in lines[0]


def test_workspace_from_config_prints_nothing_when_a_workspace_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Workspace.create(tmp_path).close()
    capsys.readouterr()

    with closing(Workspace.from_config()):
        pass
    with closing(Workspace.from_config()):
        pass

    assert capsys.readouterr() == ("", "")


def test_workspace_from_config_second_call_reuses_the_created_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(Workspace.from_config()) as first:
        Experiment(first, "kept")
    with closing(Workspace.from_config()) as second:
        assert [e.name for e in Experiment.list(second)] == ["kept"]

    assert len(capsys.readouterr().err.splitlines()) == 1


def test_workspace_from_config_tracking_uri_env_wins_over_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Workspace.create(tmp_path).close()
    env_db = tmp_path / "from-env" / "env.db"
    monkeypatch.setenv("RUNYARD_TRACKING_URI", _sqlite_uri(env_db))

    with closing(Workspace.from_config()) as ws:
        assert ws.tracking_uri == _sqlite_uri(env_db)
        assert ws.artifact_root == str((tmp_path / "from-env" / "artifacts").resolve())
    assert capsys.readouterr().err == ""


def test_workspace_from_config_with_env_uri_creates_no_local_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNYARD_TRACKING_URI", _sqlite_uri(tmp_path / "env.db"))

    with closing(Workspace.from_config()):
        pass

    assert not (tmp_path / ".runyard").exists()
    assert capsys.readouterr().err == ""


def test_workspace_init_opens_the_tracking_uri(tmp_path: Path) -> None:
    db = tmp_path / "data" / "runs.db"

    with closing(Workspace(tracking_uri=_sqlite_uri(db))) as ws:
        assert ws.tracking_uri == _sqlite_uri(db)
        assert ws.artifact_root == str((tmp_path / "data" / "artifacts").resolve())
        Experiment(ws, "direct")
    assert db.is_file()


def test_workspace_init_resolves_a_relative_sqlite_uri_against_the_cwd(tmp_path: Path) -> None:
    with closing(Workspace(tracking_uri="sqlite:///rel.db")) as ws:
        assert ws.tracking_uri == _sqlite_uri(tmp_path / "rel.db")
    assert (tmp_path / "rel.db").is_file()


def test_workspace_init_refuses_an_in_memory_sqlite_uri(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not an in-memory database"):
        Workspace(tracking_uri="sqlite:///:memory:")
    assert list(tmp_path.iterdir()) == []


def test_workspace_init_reads_the_tracking_uri_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TRACKING_URI", _sqlite_uri(tmp_path / "env.db"))

    with closing(Workspace()) as ws:
        assert ws.tracking_uri == _sqlite_uri(tmp_path / "env.db")


def test_workspace_init_without_any_uri_raises() -> None:
    with pytest.raises(WorkspaceConfigError, match="from_config"):
        Workspace()


def test_workspace_from_config_resolves_relative_sqlite_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write_config(tmp_path / "project", {"tracking_uri": "sqlite:///x.db"})
    elsewhere = tmp_path / "project" / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    with closing(Workspace.from_config()) as ws:
        assert ws.tracking_uri == _sqlite_uri(config.parent / "x.db")
        assert ws.artifact_root == str((config.parent / "artifacts").resolve())
    assert (config.parent / "x.db").is_file()
    assert not (elsewhere / "x.db").exists()


def test_workspace_from_config_resolves_a_relative_artifact_root_against_the_config_folder(
    tmp_path: Path,
) -> None:
    config = _write_config(
        tmp_path, {"tracking_uri": "sqlite:///x.db", "artifact_root": "../blobs-here"}
    )

    with closing(Workspace.from_config()) as ws:
        assert ws.artifact_root == str((config.parent / ".." / "blobs-here").resolve())


def test_workspace_create_writes_a_local_workspace(tmp_path: Path) -> None:
    with closing(Workspace.create(tmp_path / "team", name="team-ws")) as ws:
        assert ws.name == "team-ws"
        assert ws.tracking_uri == _sqlite_uri(tmp_path / "team" / ".runyard" / "runyard.db")
    config = json.loads((tmp_path / "team" / ".runyard" / "config.json").read_text())
    assert config["tracking_uri"] == "sqlite:///runyard.db"
    assert config["name"] == "team-ws"
    assert (tmp_path / "team" / ".runyard" / "runyard.db").is_file()


def test_workspace_create_defaults_the_name_to_the_folder(tmp_path: Path) -> None:
    with closing(Workspace.create(tmp_path / "my-project")) as ws:
        assert ws.name == "my-project"


def test_workspace_create_existing_is_reopened_with_exist_ok(tmp_path: Path) -> None:
    with closing(Workspace.create(tmp_path)) as first:
        Experiment(first, "kept")

    with closing(Workspace.create(tmp_path)) as second:
        assert [e.name for e in Experiment.list(second)] == ["kept"]


def test_workspace_create_existing_raises_without_exist_ok(tmp_path: Path) -> None:
    Workspace.create(tmp_path).close()

    with pytest.raises(WorkspaceConfigError, match="already exists") as info:
        Workspace.create(tmp_path, exist_ok=False)
    assert isinstance(info.value, UserError)
    assert "exist_ok=True" in str(info.value)


def test_workspace_write_config_round_trips_through_from_config(tmp_path: Path) -> None:
    db = tmp_path / "central" / "runyard.db"
    with closing(Workspace(tracking_uri=_sqlite_uri(db), name="central")) as ws:
        run_id = Experiment(ws, "shared").start_logging(snapshot_directory=None).id
        written = ws.write_config(tmp_path / "clone")
    assert written == tmp_path / "clone" / ".runyard" / "config.json"

    with closing(Workspace.from_config(tmp_path / "clone")) as again:
        assert again.tracking_uri == _sqlite_uri(db)
        assert again.artifact_root == str((tmp_path / "central" / "artifacts").resolve())
        assert again.name == "central"
        assert [r.id for r in Experiment(again, "shared").get_runs()] == [run_id]


def test_workspace_write_config_defaults_to_the_cwd(tmp_path: Path) -> None:
    with closing(Workspace(tracking_uri=_sqlite_uri(tmp_path / "a.db"))) as ws:
        written = ws.write_config(file_name="other.json")
    assert written == tmp_path / ".runyard" / "other.json"
    assert json.loads((tmp_path / ".runyard" / "other.json").read_text())["tracking_uri"] == (
        _sqlite_uri(tmp_path / "a.db")
    )


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '"sqlite:///x.db"',
        "{}",
        '{"name": "no-uri"}',
        '{"tracking_uri": ""}',
        '{"tracking_uri": 42}',
    ],
)
def test_workspace_from_config_broken_file_raises_a_helpful_error(
    tmp_path: Path, content: str
) -> None:
    config = tmp_path / ".runyard" / "config.json"
    config.parent.mkdir()
    config.write_text(content)

    with pytest.raises(WorkspaceConfigError) as info:
        Workspace.from_config()

    message = str(info.value)
    assert str(config) in message
    assert "does not seem to contain the required parameters" in message
    assert "tracking_uri" in message
    assert "Workspace.create" in message


@pytest.mark.parametrize(
    "uri", ["mysql://user@host/db", "http://localhost:5000", "file:///tmp/runs", "nonsense"]
)
def test_workspace_init_unsupported_uri_scheme_raises(uri: str) -> None:
    with pytest.raises(WorkspaceConfigError, match="Unsupported tracking URI") as info:
        Workspace(tracking_uri=uri)
    assert "sqlite:///" in str(info.value)


def test_workspace_from_config_unsupported_uri_scheme_in_config_raises(tmp_path: Path) -> None:
    _write_config(tmp_path, {"tracking_uri": "mysql://user@host/db"})

    with pytest.raises(WorkspaceConfigError, match="Unsupported tracking URI"):
        Workspace.from_config()
