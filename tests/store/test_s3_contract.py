"""Artifacts on S3: the whole Store contract on SQLite metadata with artifact and snapshot bytes
in an S3-compatible server, plus what only S3 has (buckets, multipart uploads, endpoints).

The server is a real one in its own process (moto's, started by ``scripts/s3.sh``; the
``s3_endpoint`` fixture names it); every test gets a fresh bucket, removed after it.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import sys
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Workspace
from runyard.errors import MissingExtraError, StoreError, UserError
from runyard.store import Store, open_store
from runyard.store.artifacts import ArtifactRepository
from tests.store.contract import BrokenStream, StoreContract, new_run, sha256
from tests.store.sql_workers import SqlTarget

MiB = 1024 * 1024
S3_PART = 5 * MiB
"""S3's smallest part of a multipart upload, the size of every part but the last."""


def s3_options(endpoint: str) -> dict[str, Any]:
    """Explicit storage options for the test server (which takes any credentials)."""
    return {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}


@pytest.fixture(autouse=True)
def _no_machine_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS setting of the machine leaks in: no AWS_* variables, no ~/.aws files."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> str:
    """The test server configured as users configure S3: with the AWS_* variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    return s3_endpoint


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    """An s3fs file system on the test server, to look at the buckets behind runyard's back
    (one for the session: an S3 client takes a while to make)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **s3_options(s3_endpoint))


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    """A new, empty bucket; removed with its content after the test."""
    name = f"runyard-test-{uuid.uuid4().hex[:16]}"
    s3.mkdir(name)
    yield name
    s3.rm(name, recursive=True)


def keys(s3: Any, bucket: str) -> set[str]:
    """Every object key in the bucket, listed afresh."""
    return {path.split("/", 1)[1] for path in s3.find(bucket, refresh=True)}


def pending_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = s3.call_s3("list_multipart_uploads", Bucket=bucket).get(
        "Uploads", []
    )
    return uploads


class TestSqliteStoreWithS3Artifacts(StoreContract):
    @pytest.fixture
    def backing(self, tmp_path: Path, s3_endpoint: str, bucket: str) -> SqlTarget:
        return SqlTarget(
            f"sqlite:///{tmp_path}/runyard.db",
            f"s3://{bucket}/artifacts",
            storage_options=s3_options(s3_endpoint),
        )

    @pytest.fixture
    def store(self, backing: SqlTarget) -> Iterator[Store]:
        store = open_store(backing.url, backing.artifact_root, backing.storage_options)
        yield store
        store.close()


class RandomStream(io.RawIOBase):
    """``size`` pseudo-random bytes, made as they are read (never all in memory), and hashed."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._random = random.Random(size)
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        block = self._random.randbytes(wanted)
        self._left -= wanted
        self.sha256.update(block)
        return block


def test_s3_artifact_large_file_round_trips_streamed(
    tmp_path: Path, s3_endpoint: str, bucket: str, s3: Any
) -> None:
    size = 20 * MiB
    store = open_store(
        f"sqlite:///{tmp_path}/runyard.db",
        f"s3://{bucket}/a",
        storage_options=s3_options(s3_endpoint),
    )
    store.create_runs([new_run("r")])
    # The S3 client loads its service models on first use: that is not the artifact's memory.
    store.put_artifact("r", "warm-up.txt", io.BytesIO(b"x"))
    source = RandomStream(size)

    tracemalloc.start()
    try:
        info = store.put_artifact("r", "big/model.bin", source)
        write_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        read_back = hashlib.sha256()
        with store.open_artifact("r", "big/model.bin") as stream:
            while block := stream.read(MiB):
                read_back.update(block)
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()

    assert info.size == size
    assert read_back.hexdigest() == source.sha256.hexdigest()
    assert s3.info(f"{bucket}/a/runs/r/big/model.bin")["size"] == size
    # Uploads hold about three copies of one 5 MiB part (s3fs's buffer, the part, the HTTP
    # client's copy of it), whatever the file's size; reads hold a few 2 MiB read-ahead blocks.
    assert write_peak < 3.5 * S3_PART < size, f"{write_peak / MiB:.1f} MiB held while writing"
    assert read_peak < 0.6 * size, f"{read_peak / MiB:.1f} MiB held while reading"
    assert pending_uploads(s3, bucket) == []


def test_s3_artifact_root_missing_bucket_raises_store_error(
    tmp_path: Path, s3_endpoint: str, s3: Any
) -> None:
    missing = f"runyard-missing-{uuid.uuid4().hex[:16]}"
    store = open_store(
        f"sqlite:///{tmp_path}/runyard.db",
        f"s3://{missing}/artifacts",
        storage_options=s3_options(s3_endpoint),
    )
    store.create_runs([new_run("r")])
    expected = (
        rf"bucket '{missing}', which does not exist at {s3_endpoint}.*aws s3 mb s3://{missing}"
    )

    with pytest.raises(StoreError, match=expected):
        store.put_artifact("r", "outputs/x.txt", io.BytesIO(b"small"))
    with pytest.raises(StoreError, match=expected):
        store.put_artifact("r", "outputs/big.bin", io.BytesIO(bytes(S3_PART + 1)))
    with pytest.raises(StoreError, match=expected):
        store.put_blob(sha256(b"blob"), io.BytesIO(b"blob"))

    assert store.list_artifacts("r") == []
    assert store.missing_blobs([sha256(b"blob")]) == {sha256(b"blob")}
    assert not s3.exists(missing), "runyard must never create the bucket on its own"
    store.close()


def test_s3_artifact_root_writes_nothing_outside_prefix(
    tmp_path: Path, s3_endpoint: str, bucket: str, s3: Any
) -> None:
    # A neighbour whose key starts like the root's prefix, without being under it.
    s3.pipe(f"{bucket}/team/a-neighbour/keep.txt", b"not runyard's")
    buckets_before = set(s3.ls("", refresh=True))
    store = open_store(
        f"sqlite:///{tmp_path}/runyard.db",
        f"s3://{bucket}/team/a",
        storage_options=s3_options(s3_endpoint),
    )
    store.create_runs([new_run("r")])

    store.put_artifact("r", "outputs/model.bin", io.BytesIO(b"weights"))
    store.put_artifact("r", "outputs/large.bin", io.BytesIO(bytes(S3_PART + 7)))
    store.put_blob(sha256(b"snapshot file"), io.BytesIO(b"snapshot file"))
    with pytest.raises(OSError, match="broke off"):
        store.put_artifact("r", "outputs/broken.bin", BrokenStream(bytes(S3_PART + 7)))
    with pytest.raises(UserError, match="hashes to"):
        store.put_blob(sha256(b"promised"), io.BytesIO(bytes(S3_PART + 7)))
    store.close()

    digest = sha256(b"snapshot file")
    assert keys(s3, bucket) == {
        "team/a-neighbour/keep.txt",
        "team/a/runs/r/outputs/model.bin",
        "team/a/runs/r/outputs/large.bin",
        f"team/a/blobs/{digest[:2]}/{digest}",
    }
    assert s3.cat(f"{bucket}/team/a-neighbour/keep.txt") == b"not runyard's"
    # The failed uploads were aborted, not left half-done.
    assert pending_uploads(s3, bucket) == []
    assert set(s3.ls("", refresh=True)) == buckets_before
    # Nor anything on the local disk, where a SQLite store keeps artifacts by default.
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("runyard.db")] == []


def test_s3_workspace_snapshot_blobs_land_in_bucket(
    tmp_path: Path, aws_environment: str, bucket: str, s3: Any
) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "train.py").write_bytes(b"print('train')\n")
    (project / "pkg" / "model.py").write_bytes(b"WEIGHTS = 3\n")
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01weights")
    workspace = Workspace(
        tracking_uri=f"sqlite:///{tmp_path}/runyard.db", artifact_root=f"s3://{bucket}/ws"
    )
    try:
        run = Experiment(workspace=workspace, name="snapshots").start_logging(
            snapshot_directory=None
        )
        snapshot_id = run.take_snapshot(project)
        run.upload_file("outputs/weights.bin", str(tmp_path / "weights.bin"))
        run.complete()
        restored = run.restore_snapshot(snapshot_id, path=tmp_path / "restored")
        run.download_file("outputs/weights.bin", str(tmp_path / "downloaded.bin"))
    finally:
        workspace.close()

    with zipfile.ZipFile(restored) as archive:
        assert sorted(archive.namelist()) == ["pkg/model.py", "train.py"]
        assert archive.read("pkg/model.py") == b"WEIGHTS = 3\n"
    assert (tmp_path / "downloaded.bin").read_bytes() == b"\x00\x01weights"
    blobs = {
        f"ws/blobs/{d[:2]}/{d}" for d in (sha256(b"print('train')\n"), sha256(b"WEIGHTS = 3\n"))
    }
    assert keys(s3, bucket) == blobs | {f"ws/runs/{run.id}/outputs/weights.bin"}
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_artifact_repository_endpoint_from_environment(
    monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, bucket: str, s3: Any, variable: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(variable, s3_endpoint)
    repository = ArtifactRepository(f"s3://{bucket}/env")

    assert repository.write_artifact("r", "x.txt", io.BytesIO(b"from the environment")) == 20
    with repository.open_artifact("r", "x.txt") as stream:
        assert stream.read() == b"from the environment"
    assert keys(s3, bucket) == {"env/runs/r/x.txt"}


def test_artifact_repository_explicit_endpoint_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, bucket: str
) -> None:
    # Nothing listens on port 9 (discard): were this endpoint used, the write would fail.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    repository = ArtifactRepository(f"s3://{bucket}/p", storage_options=s3_options(s3_endpoint))

    repository.write_blob(sha256(b"explicit"), io.BytesIO(b"explicit"))
    with repository.open_blob(sha256(b"explicit")) as stream:
        assert stream.read() == b"explicit"


def test_artifact_repository_missing_bytes_raise_store_error(s3_endpoint: str, bucket: str) -> None:
    repository = ArtifactRepository(f"s3://{bucket}/p", storage_options=s3_options(s3_endpoint))

    with pytest.raises(StoreError, match=rf"s3://{bucket}/p/runs/r/gone.txt is missing"):
        repository.open_artifact("r", "gone.txt")


def test_artifact_repository_without_credentials_raises_store_error(
    s3_endpoint: str, bucket: str, s3: Any
) -> None:
    # No AWS_* variables and no ~/.aws files here (see _no_machine_aws_settings).
    options = {"endpoint_url": s3_endpoint, "skip_instance_cache": True}
    repository = ArtifactRepository(f"s3://{bucket}/p", storage_options=options)

    with pytest.raises(StoreError, match=r"Unable to locate credentials.*AWS_ACCESS_KEY_ID"):
        repository.write_artifact("r", "x.txt", io.BytesIO(b"x"))
    assert keys(s3, bucket) == set()


def test_artifact_repository_s3_without_s3fs_raises_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if it were not installed

    with pytest.raises(MissingExtraError, match=r"pip install 'runyard\[s3\]'"):
        ArtifactRepository("s3://bucket/prefix")


def test_import_runyard_does_not_import_s3fs(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from runyard import Workspace\n"
        "Workspace.create(sys.argv[1]).close()\n"
        "loaded = {'s3fs', 'botocore', 'aiobotocore'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
