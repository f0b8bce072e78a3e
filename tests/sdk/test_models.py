"""``Model`` and ``run.register_model`` (Azure ML v1's model registry), on a local SQLite
workspace and through a real tracking server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Model, Run, Workspace
from runyard.errors import (
    InvalidNameError,
    ModelPathNotFoundError,
    PropertyConflictError,
    RegisteredModelNotFoundError,
    UserError,
)
from runyard.settings import JOURNAL_DIR_ENV, TrackingUri
from tests.server.process import ServerProcess, start


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture(params=["sqlite", "server"])
def ws(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    if request.param == "sqlite":
        workspace = Workspace.create(tmp_path)
    else:
        monkeypatch.setenv(JOURNAL_DIR_ENV, str(tmp_path / "journal"))
        served = request.getfixturevalue("server").new_workspace()
        workspace = Workspace(TrackingUri.parse(served.uri, token=served.writer))
    yield workspace
    workspace.close()


def _run_with_files(ws: Workspace) -> Run:
    run = Experiment(ws, "train").start_logging(snapshot_directory=None, outputs=False)
    run.upload_file("outputs/model.pkl", _file(Path("src-model.pkl"), b"pickled"))
    run.upload_file("outputs/net/weights.bin", _file(Path("w.bin"), b"weights"))
    run.upload_file("outputs/net/conf/c.json", _file(Path("c.json"), b"{}"))
    return run


def _file(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_model_register_model_from_run_file(ws: Workspace, tmp_path: Path) -> None:
    run = _run_with_files(ws)
    model = run.register_model("mnist", "outputs/model.pkl", tags={"stage": "dev"}, description="d")
    assert (model.name, model.version, model.id) == ("mnist", 1, "mnist:1")
    assert (model.run_id, model.experiment_name, model.description) == (run.id, "train", "d")
    assert model.tags == {"stage": "dev"}
    assert model.run == run
    path = model.download(str(tmp_path / "out"))
    assert path == str(tmp_path / "out" / "model.pkl")
    assert Path(path).read_bytes() == b"pickled"


def test_model_register_model_from_run_folder(ws: Workspace, tmp_path: Path) -> None:
    run = _run_with_files(ws)
    model = run.register_model("net", "outputs/net")
    root = Path(model.download(str(tmp_path / "out")))
    assert root == tmp_path / "out" / "net"
    assert (root / "weights.bin").read_bytes() == b"weights"
    assert (root / "conf" / "c.json").read_bytes() == b"{}"
    assert [m.id for m in run.get_models()] == ["net:1"]
    assert [m.id for m in Model.list(ws, run_id=run.id)] == ["net:1"]


def test_model_register_model_missing_path_lists_the_run_files(ws: Workspace) -> None:
    run = _run_with_files(ws)
    with pytest.raises(ModelPathNotFoundError, match=r"Could not locate.*outputs/model\.pkl"):
        run.register_model("nope")  # model_path defaults to the name
    assert Model.list(ws) == []


def test_model_register_uploads_outputs_first(ws: Workspace) -> None:
    run = Experiment(ws, "train").start_logging(snapshot_directory=None)
    Path("outputs/model.pkl").write_bytes(b"fresh")
    model = run.register_model("fresh", "outputs/model.pkl")
    run.complete()
    assert Path(Model.get_model_path("fresh", _workspace=ws)).read_bytes() == b"fresh"
    assert model.version == 1


def test_model_register_local_file_and_versions(ws: Workspace, tmp_path: Path) -> None:
    first = Model.register(ws, _file(tmp_path / "a" / "model.onnx", b"v1"), "onnx-model")
    second = Model.register(ws, _file(tmp_path / "a" / "model.onnx", b"v2"), "onnx-model")
    assert (first.version, second.version, first.run_id) == (1, 2, None)
    assert Model(ws, "onnx-model").version == 2
    assert Model(ws, id="onnx-model:1").version == 1
    assert Model(ws, "onnx-model", version=1).download(str(tmp_path / "d")).endswith("model.onnx")
    assert (tmp_path / "d" / "model.onnx").read_bytes() == b"v1"


def test_model_files_outlive_their_run(ws: Workspace, tmp_path: Path) -> None:
    run = _run_with_files(ws)
    run.register_model("mnist", "outputs/model.pkl")
    run.complete()
    run.delete()
    path = Model(ws, "mnist").download(str(tmp_path / "x"))
    assert Path(path).read_bytes() == b"pickled"


def test_model_list_filters(ws: Workspace, tmp_path: Path) -> None:
    file = _file(tmp_path / "m.bin", b"m")
    Model.register(ws, file, "a", tags={"stage": "prod"}, properties={"fw": "torch"})
    Model.register(ws, file, "a", tags={"stage": "dev"})
    Model.register(ws, file, "b", properties={"fw": "sklearn"})
    assert [m.id for m in Model.list(ws)] == ["a:2", "a:1", "b:1"]
    assert [m.id for m in Model.list(ws, latest=True)] == ["a:2", "b:1"]
    assert [m.id for m in Model.list(ws, name="b")] == ["b:1"]
    assert [m.id for m in Model.list(ws, tags="stage")] == ["a:2", "a:1"]
    assert [m.id for m in Model.list(ws, tags=[["stage", "prod"]])] == ["a:1"]
    assert [m.id for m in Model.list(ws, tags={"stage": "dev"})] == ["a:2"]
    assert [m.id for m in Model.list(ws, properties=["fw"], latest=True)] == ["a:1", "b:1"]
    assert Model(ws, "a", tags={"stage": "prod"}).version == 1


def test_model_tags_properties_and_delete(ws: Workspace, tmp_path: Path) -> None:
    model = Model.register(ws, _file(tmp_path / "m.bin", b"m"), "m", tags={"a": "1"})
    model.add_tags({"b": "2"})
    model.remove_tags(["a"])
    model.add_properties({"p": "x"})
    assert (model.tags, model.properties) == ({"b": "2"}, {"p": "x"})
    with pytest.raises(PropertyConflictError):
        model.add_properties({"p": "y"})
    assert Model(ws, "m").tags == {"b": "2"}
    model.delete()
    with pytest.raises(RegisteredModelNotFoundError):
        Model(ws, "m", version=1)


def test_model_download_refuses_to_overwrite(ws: Workspace, tmp_path: Path) -> None:
    model = Model.register(ws, _file(tmp_path / "src" / "m.bin", b"new"), "m")
    target = tmp_path / "t"
    _file(target / "m.bin", b"old")
    with pytest.raises(UserError, match="exist_ok=True"):
        model.download(str(target))
    assert (target / "m.bin").read_bytes() == b"old"
    assert model.download(str(target), exist_ok=True) == str(target / "m.bin")
    assert (target / "m.bin").read_bytes() == b"new"


def test_model_get_model_path_caches_under_the_workspace(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path)
    try:
        Model.register(ws, _file(tmp_path / "m.bin", b"one"), "m")
        path = Path(Model.get_model_path("m", _workspace=ws))
        assert path == tmp_path / ".runyard" / "models" / "m" / "1" / "m.bin"
        assert path.read_bytes() == b"one"
        # _workspace=None: Workspace.from_config() (the one in the current folder).
        assert Model.get_model_path("m", version=1) == str(path)
        with pytest.raises(RegisteredModelNotFoundError):
            Model.get_model_path("m", version=2, _workspace=ws)
    finally:
        ws.close()


def test_model_bad_name_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="model name"):
        Model.register(ws, _file(tmp_path / "m.bin", b"m"), "bad name")
    with pytest.raises(UserError, match="no such file"):
        Model.register(ws, str(tmp_path / "missing"), "m")
