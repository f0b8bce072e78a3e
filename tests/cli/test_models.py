"""``runyard models list``, ``show`` and ``download``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runyard import Experiment, Model, Workspace
from tests.cli.conftest import Invoke


def _register(workspace: Workspace, tmp_path: Path, name: str, data: bytes, **kw: Any) -> Model:
    source = tmp_path / "src" / "model.pkl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return Model.register(workspace, str(source), name, **kw)


def test_models_list_json_filters(
    cli_json: Callable[..., Any], workspace: Workspace, tmp_path: Path
) -> None:
    _register(workspace, tmp_path, "mnist", b"1", tags={"stage": "dev"})
    _register(workspace, tmp_path, "mnist", b"2", tags={"stage": "prod"}, properties={"p": "x"})
    _register(workspace, tmp_path, "other", b"3")
    found = cli_json("models", "list")
    assert [m["id"] for m in found] == ["mnist:2", "mnist:1", "other:1"]
    assert found[0]["files"][0]["path"] == "model.pkl"
    assert (found[0]["tags"], found[0]["properties"], found[0]["root"]) == (
        {"stage": "prod"},
        {"p": "x"},
        "model.pkl",
    )
    assert [m["id"] for m in cli_json("models", "list", "--latest")] == ["mnist:2", "other:1"]
    assert [m["id"] for m in cli_json("models", "list", "--tag", "stage=dev")] == ["mnist:1"]
    assert [m["id"] for m in cli_json("models", "list", "--property", "p")] == ["mnist:2"]
    assert [m["id"] for m in cli_json("models", "list", "--name", "other")] == ["other:1"]


def test_models_list_by_run_and_table(cli: Invoke, experiment: Experiment, tmp_path: Path) -> None:
    run = experiment.start_logging(snapshot_directory=None, outputs=False)
    (tmp_path / "m.bin").write_bytes(b"m")
    run.upload_file("outputs/m.bin", str(tmp_path / "m.bin"))
    run.register_model("from-run", "outputs/m.bin", tags={"k": "v"})
    result = cli("models", "list", "--run-id", run.id)
    assert result.exit_code == 0
    assert "from-run" in result.stdout and "k=v" in result.stdout
    assert cli("models", "list", "--run-id", "nope").stdout.strip() == "No registered models found."


def test_models_show(
    cli: Invoke, cli_json: Callable[..., Any], workspace: Workspace, tmp_path: Path
) -> None:
    _register(workspace, tmp_path, "mnist", b"1", description="first")
    _register(workspace, tmp_path, "mnist", b"22")
    assert cli_json("models", "show", "mnist")["version"] == 2
    shown = cli_json("models", "show", "mnist:1")
    assert (shown["id"], shown["description"], shown["files"][0]["size"]) == ("mnist:1", "first", 1)
    result = cli("models", "show", "mnist:1")
    assert "first" in result.stdout and "model.pkl" in result.stdout
    missing = cli("models", "show", "mnist:9")
    assert missing.exit_code == 1 and "no version 9" in missing.stderr


def test_models_download(cli: Invoke, workspace: Workspace, tmp_path: Path) -> None:
    _register(workspace, tmp_path, "mnist", b"new")
    target = tmp_path / "out"
    result = cli("models", "download", "mnist:1", "--target-dir", str(target))
    assert result.exit_code == 0
    assert result.stdout.strip() == str(target / "model.pkl")
    assert (target / "model.pkl").read_bytes() == b"new"
    (target / "model.pkl").write_bytes(b"mine")
    refused = cli("models", "download", "mnist", "--target-dir", str(target))
    assert refused.exit_code == 1 and "exist_ok" in refused.stderr
    assert (target / "model.pkl").read_bytes() == b"mine"
    assert (
        cli("models", "download", "mnist", "--target-dir", str(target), "--exist-ok").exit_code == 0
    )
    assert (target / "model.pkl").read_bytes() == b"new"
