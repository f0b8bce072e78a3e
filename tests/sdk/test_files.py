"""Run files and snapshots: upload, list, download, write-once paths, ignore rules (§1, §9)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard.capture.snapshot import take_snapshot
from runyard.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
    SnapshotError,
    SnapshotNotFoundError,
    UserError,
)


@pytest.fixture
def run(experiment: Experiment) -> Run:
    return experiment.start_logging(snapshot_directory=None)


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _make_folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- uploads -------------------------------------------------------------------------------------


def test_files_upload_file_from_a_path(run: Run, tmp_path: Path) -> None:
    (tmp_path / "myfile.txt").write_text("hello")

    info = run.upload_file("logging-api/myfile.txt", "myfile.txt")

    assert info.path == "logging-api/myfile.txt"
    assert info.size == 5
    assert run.get_file_names() == ["logging-api/myfile.txt"]


def test_files_upload_file_from_a_stream(run: Run, tmp_path: Path) -> None:
    run.upload_file("data/bytes.bin", io.BytesIO(b"\x00\x01\x02"))

    run.download_file("data/bytes.bin")

    assert (tmp_path / "bytes.bin").read_bytes() == b"\x00\x01\x02"


def test_files_upload_file_from_an_open_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "local.txt").write_bytes(b"from an open file")
    with (tmp_path / "local.txt").open("rb") as handle:
        run.upload_file("copied.txt", handle)

    run.download_file("copied.txt", "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == b"from an open file"


def test_files_upload_file_missing_path_raises(run: Run) -> None:
    with pytest.raises(UserError, match="no such file"):
        run.upload_file("x.txt", "does-not-exist.txt")
    assert run.get_file_names() == []


def test_files_upload_file_not_a_stream_raises(run: Run) -> None:
    with pytest.raises(InvalidArgumentError, match="path_or_stream"):
        run.upload_file("x.txt", 42)  # type: ignore[arg-type]


def test_files_upload_file_text_stream_raises(run: Run, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("text")

    with pytest.raises(InvalidArgumentError, match="'rb'"):
        run.upload_file("notes.txt", io.StringIO("text"))
    with (tmp_path / "notes.txt").open() as handle, pytest.raises(InvalidArgumentError):
        run.upload_file("notes.txt", handle)

    assert run.get_file_names() == []
    run.upload_file("notes.txt", io.BytesIO(b"text"))  # the name was not taken


def test_files_upload_files(run: Run, tmp_path: Path) -> None:
    _make_folder(tmp_path, {"a.txt": "A", "b.txt": "B"})

    run.upload_files(["docs/a.txt", "docs/b.txt"], ["a.txt", tmp_path / "b.txt"])

    assert run.get_file_names() == ["docs/a.txt", "docs/b.txt"]


def test_files_upload_files_unequal_lengths_raises(run: Run, tmp_path: Path) -> None:
    _make_folder(tmp_path, {"a.txt": "A"})

    with pytest.raises(
        InvalidArgumentError, match="names and paths must be lists of equal lengths"
    ) as info:
        run.upload_files(["a.txt", "b.txt"], ["a.txt"])

    assert isinstance(info.value, TypeError)
    assert run.get_file_names() == []


def test_files_upload_folder_names_files_under_the_given_name(run: Run, tmp_path: Path) -> None:
    _make_folder(tmp_path / "results", {"a.txt": "A", "sub/b.txt": "B", "sub/deep/c.txt": "C"})

    run.upload_folder("reports", "results")
    run.upload_folder("again/", tmp_path / "results" / "sub")

    assert run.get_file_names() == [
        "again/b.txt",
        "again/deep/c.txt",
        "reports/a.txt",
        "reports/sub/b.txt",
        "reports/sub/deep/c.txt",
    ]


def test_files_upload_folder_missing_folder_raises(run: Run) -> None:
    with pytest.raises(UserError, match="no such folder"):
        run.upload_folder("x", "missing")


def test_files_second_upload_to_the_same_name_raises_and_keeps_the_first(
    run: Run, tmp_path: Path
) -> None:
    run.upload_file("outputs/model.pkl", io.BytesIO(b"first"))

    with pytest.raises(ArtifactExistsError, match=r"outputs/model\.pkl") as info:
        run.upload_file("outputs/model.pkl", io.BytesIO(b"second"))
    with pytest.raises(ArtifactExistsError):
        run.upload_file("./outputs//model.pkl", io.BytesIO(b"third"))

    assert info.value.http_status == 409
    run.download_file("outputs/model.pkl")
    assert (tmp_path / "model.pkl").read_bytes() == b"first"
    assert run.get_file_names() == ["outputs/model.pkl"]


def test_files_same_name_in_two_runs_is_fine(experiment: Experiment, run: Run) -> None:
    other = experiment.start_logging(snapshot_directory=None)

    run.upload_file("model.pkl", io.BytesIO(b"one"))
    other.upload_file("model.pkl", io.BytesIO(b"two"))

    run.download_file("model.pkl", "one.pkl")
    other.download_file("model.pkl", "two.pkl")
    assert Path("one.pkl").read_bytes() == b"one"
    assert Path("two.pkl").read_bytes() == b"two"


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "../../../../escape.txt",
        "outputs/../../escape.txt",
        "/etc/escape.txt",
        "/tmp/escape.txt",
        "..\\escape.txt",
        "C:/escape.txt",
        "",
        ".",
    ],
)
def test_files_names_outside_the_run_are_refused(
    run: Run, workspace: Workspace, tmp_path: Path, name: str
) -> None:
    artifact_root = Path(workspace.artifact_root or "")
    before = _files_under(tmp_path)

    with pytest.raises(InvalidNameError):
        run.upload_file(name, io.BytesIO(b"escaped"))

    assert _files_under(tmp_path) == before
    assert not (artifact_root / "runs" / run.id / name).resolve().exists()
    assert not Path("/tmp/escape.txt").exists()
    assert run.get_file_names() == []


def test_files_uploads_stay_under_the_artifact_root(
    run: Run, workspace: Workspace, tmp_path: Path
) -> None:
    artifact_root = Path(workspace.artifact_root or "")
    _make_folder(tmp_path / "src", {"a.txt": "A", "nested/b.txt": "B"})
    before = _files_under(tmp_path)

    run.upload_file("outputs/./a.txt", tmp_path / "src" / "a.txt")
    run.upload_folder("folder", tmp_path / "src")

    new = _files_under(tmp_path) - before
    assert new
    assert all(artifact_root in path.parents for path in new)
    assert run.get_file_names() == ["folder/a.txt", "folder/nested/b.txt", "outputs/a.txt"]


# -- downloads -----------------------------------------------------------------------------------


def test_files_download_file_defaults_to_the_basename_in_the_cwd(run: Run, tmp_path: Path) -> None:
    run.upload_file("outputs/sub/model.pkl", io.BytesIO(b"weights"))

    written = run.download_file("outputs/sub/model.pkl")

    assert (tmp_path / "model.pkl").read_bytes() == b"weights"
    assert written.resolve() == (tmp_path / "model.pkl").resolve()


def test_files_download_file_into_a_directory_appends_the_basename(
    run: Run, tmp_path: Path
) -> None:
    run.upload_file("outputs/model.pkl", io.BytesIO(b"weights"))
    (tmp_path / "files").mkdir()

    run.download_file("outputs/model.pkl", "files")
    run.download_file("outputs/model.pkl", tmp_path / "new" / "renamed.pkl")

    assert (tmp_path / "files" / "model.pkl").read_bytes() == b"weights"
    assert (tmp_path / "new" / "renamed.pkl").read_bytes() == b"weights"


def test_files_download_file_unknown_name_raises(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="get_file_names"):
        run.download_file("outputs/missing.pkl")
    assert not (tmp_path / "missing.pkl").exists()


def test_files_download_files_with_prefix(run: Run, tmp_path: Path) -> None:
    run.upload_file("outputs/a.txt", io.BytesIO(b"A"))
    run.upload_file("outputs/sub/b.txt", io.BytesIO(b"B"))
    run.upload_file("logs/run.log", io.BytesIO(b"L"))

    written = run.download_files(prefix="outputs/", output_directory="out")

    out = (tmp_path / "out").resolve()
    assert sorted(p.resolve().relative_to(out).as_posix() for p in written) == [
        "outputs/a.txt",
        "outputs/sub/b.txt",
    ]
    assert (tmp_path / "out" / "outputs" / "sub" / "b.txt").read_bytes() == b"B"
    assert not (tmp_path / "out" / "logs").exists()


def test_files_download_files_without_append_prefix(run: Run, tmp_path: Path) -> None:
    run.upload_file("outputs/a.txt", io.BytesIO(b"A"))
    run.upload_file("outputs/sub/b.txt", io.BytesIO(b"B"))

    run.download_files(prefix="outputs", output_directory="flat", append_prefix=False)

    assert (tmp_path / "flat" / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "flat" / "sub" / "b.txt").read_bytes() == b"B"


def test_files_download_files_everything_into_the_cwd(run: Run, tmp_path: Path) -> None:
    run.upload_file("outputs/a.txt", io.BytesIO(b"A"))
    run.upload_file("logs/run.log", io.BytesIO(b"L"))

    run.download_files()

    assert (tmp_path / "outputs" / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "logs" / "run.log").read_bytes() == b"L"


def test_files_download_files_output_paths_must_match(run: Run, tmp_path: Path) -> None:
    run.upload_file("outputs/a.txt", io.BytesIO(b"A"))
    run.upload_file("outputs/b.txt", io.BytesIO(b"B"))

    with pytest.raises(InvalidArgumentError, match="output_paths"):
        run.download_files(prefix="outputs/", output_paths=["only-one.txt"])
    run.download_files(prefix="outputs/", output_paths=["x.txt", "y.txt"])

    assert (tmp_path / "x.txt").read_bytes() == b"A"
    assert (tmp_path / "y.txt").read_bytes() == b"B"


# -- snapshots -----------------------------------------------------------------------------------


def _snapshot_names(run: Run, target: Path) -> list[str]:
    with zipfile.ZipFile(run.restore_snapshot(path=target)) as archive:
        return sorted(archive.namelist())


def test_snapshot_runyardignore_wins_over_gitignore(experiment: Experiment, tmp_path: Path) -> None:
    project = _make_folder(
        tmp_path / "project",
        {
            "train.py": "print(1)",
            "debug.log": "log",
            "scratch.tmp": "tmp",
            ".gitignore": "*.log\n",
            ".runyardignore": "*.tmp\n/data/\n",
            "data/big.csv": "1,2",
            "src/data/keep.csv": "3,4",
            "__pycache__/x.pyc": "bytecode",
        },
    )

    run = experiment.start_logging(snapshot_directory=project)

    assert _snapshot_names(run, tmp_path / "restored") == [
        ".gitignore",
        ".runyardignore",
        "debug.log",
        "src/data/keep.csv",
        "train.py",
    ]


def test_snapshot_sees_each_change_of_the_ignore_rules(
    experiment: Experiment, tmp_path: Path
) -> None:
    project = _make_folder(tmp_path / "project", {"train.py": "print(1)", "a.log": "log"})
    names = []
    for rules in (None, "*.log\n", "*.py\n", None):
        ignore = project / ".runyardignore"
        if rules is None:
            ignore.unlink(missing_ok=True)
        else:
            ignore.write_text(rules)
        run = experiment.start_logging(snapshot_directory=project, outputs=False)
        names.append(_snapshot_names(run, tmp_path / f"restored-{len(names)}"))
        run.complete()

    assert names == [
        ["a.log", "train.py"],
        [".runyardignore", "train.py"],
        [".runyardignore", "a.log"],
        ["a.log", "train.py"],
    ]


def test_snapshot_gitignore_is_used_without_runyardignore(
    experiment: Experiment, tmp_path: Path
) -> None:
    project = _make_folder(
        tmp_path / "project",
        {"train.py": "print(1)", "debug.log": "log", ".gitignore": "*.log\noutputs/\n"},
    )
    (project / "outputs").mkdir()
    (project / "outputs" / "model.pkl").write_text("big")

    run = experiment.start_logging(snapshot_directory=project)

    assert _snapshot_names(run, tmp_path / "restored") == [".gitignore", "train.py"]


@pytest.mark.parametrize(
    ("ignore_files", "kept"),
    [
        # .amlignore (Azure ML's) wins over .gitignore, as in Azure.
        ({".gitignore": "*.log\n", ".amlignore": "*.tmp\n"}, ["a.log", "c.csv"]),
        # runyard's own file wins over both.
        (
            {".gitignore": "*.log\n", ".amlignore": "*.tmp\n", ".runyardignore": "*.csv\n"},
            ["a.log", "b.tmp"],
        ),
    ],
)
def test_snapshot_amlignore_is_used_before_gitignore(
    experiment: Experiment, tmp_path: Path, ignore_files: dict[str, str], kept: list[str]
) -> None:
    files = {"a.log": "log", "b.tmp": "tmp", "c.csv": "1,2", **ignore_files}
    project = _make_folder(tmp_path / "project", files)

    run = experiment.start_logging(snapshot_directory=project)

    assert _snapshot_names(run, tmp_path / "restored") == sorted([*ignore_files, *kept])


def test_snapshot_of_the_cwd_leaves_out_the_workspace(
    experiment: Experiment, tmp_path: Path
) -> None:
    (tmp_path / "hello.py").write_text("print('hello')")

    run = experiment.start_logging()

    assert _snapshot_names(run, tmp_path / "restored") == ["hello.py"]


def test_snapshot_same_folder_twice_stores_blobs_once(
    experiment: Experiment, workspace: Workspace, tmp_path: Path
) -> None:
    project = _make_folder(
        tmp_path / "project", {"a.py": "same", "b.py": "other", "copy/a.py": "same"}
    )
    blobs = Path(workspace.artifact_root or "") / "blobs"

    first = experiment.start_logging(snapshot_directory=project)
    stored = _files_under(blobs)
    second = experiment.start_logging(snapshot_directory=project)

    assert len(stored) == 2  # "same" and "other"
    assert _files_under(blobs) == stored
    assert (
        first.get_properties()["ContentSnapshotId"] == second.get_properties()["ContentSnapshotId"]
    )


def test_snapshot_changed_file_adds_one_blob(
    experiment: Experiment, workspace: Workspace, tmp_path: Path
) -> None:
    project = _make_folder(tmp_path / "project", {"a.py": "one", "b.py": "two"})
    blobs = Path(workspace.artifact_root or "") / "blobs"
    first = experiment.start_logging(snapshot_directory=project)
    (project / "b.py").write_text("two, edited")

    second = experiment.start_logging(snapshot_directory=project)

    assert len(_files_under(blobs)) == 3
    assert (
        first.get_properties()["ContentSnapshotId"] != second.get_properties()["ContentSnapshotId"]
    )
    with zipfile.ZipFile(second.restore_snapshot(path=tmp_path / "r")) as archive:
        assert archive.read("b.py") == b"two, edited"
    with zipfile.ZipFile(first.restore_snapshot(path=tmp_path / "r")) as archive:
        assert archive.read("b.py") == b"two"


def test_snapshot_restore_returns_an_absolute_zip_path(
    experiment: Experiment, tmp_path: Path
) -> None:
    project = _make_folder(tmp_path / "project", {"hello.py": "print(1)", "pkg/mod.py": "x = 1"})
    run = experiment.start_logging(snapshot_directory=project)
    snapshot_id = run.get_properties()["ContentSnapshotId"]

    restored = run.restore_snapshot(path="snapshots")

    assert isinstance(restored, str)
    assert Path(restored).is_absolute()
    assert Path(restored) == (tmp_path / "snapshots" / f"{snapshot_id}.zip").resolve()
    with zipfile.ZipFile(restored) as archive:
        assert sorted(archive.namelist()) == ["hello.py", "pkg/mod.py"]
        assert archive.read("pkg/mod.py") == b"x = 1"


def test_snapshot_restore_defaults_to_a_temp_folder(experiment: Experiment) -> None:
    run = experiment.start_logging()

    restored = Path(run.restore_snapshot())

    assert restored.is_absolute()
    assert restored.is_file()
    assert restored.name == f"{run.get_properties()['ContentSnapshotId']}.zip"


def test_snapshot_restore_without_snapshot_raises(run: Run) -> None:
    with pytest.raises(SnapshotNotFoundError, match="take_snapshot"):
        run.restore_snapshot()


def test_snapshot_take_snapshot_once_per_run(run: Run, tmp_path: Path) -> None:
    project = _make_folder(tmp_path / "project", {"a.py": "a"})

    snapshot_id = run.take_snapshot(project)

    assert run.get_properties()["ContentSnapshotId"] == snapshot_id
    with pytest.raises(
        SnapshotError, match=f"Cannot take snapshot as the run already has one: {run.id}"
    ):
        run.take_snapshot(project)


def test_snapshot_take_snapshot_after_start_logging_snapshot_raises(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = experiment.start_logging()

    with pytest.raises(SnapshotError, match="already has one"):
        run.take_snapshot(tmp_path)


def test_snapshot_file_count_limit_raises_with_advice(workspace: Workspace, tmp_path: Path) -> None:
    project = _make_folder(tmp_path / "project", {f"f{i}.py": str(i) for i in range(4)})
    blobs = Path(workspace.artifact_root or "") / "blobs"

    with pytest.raises(SnapshotError, match=r"\.runyardignore") as info:
        take_snapshot(workspace.store, project, max_files=3)

    assert "3 files" in str(info.value)
    assert not blobs.exists() or not _files_under(blobs)
    (project / ".runyardignore").write_text("f2.py\nf3.py\n")  # 3 files with this one
    assert take_snapshot(workspace.store, project, max_files=3)
