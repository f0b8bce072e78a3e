"""A server whose artifacts live on S3-compatible storage: clients upload and download through
the server and never need object-store credentials."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Workspace
from tests.server.process import ServerProcess, start


def s3_options(endpoint: str) -> dict[str, Any]:
    """Storage options for the test S3 server (which takes any credentials)."""
    return {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[tuple[Any, str]]:
    import s3fs

    s3 = s3fs.S3FileSystem(skip_instance_cache=True, **s3_options(s3_endpoint))
    name = f"runyard-server-{uuid.uuid4().hex[:12]}"
    s3.mkdir(name)
    yield s3, name
    s3.rm(name, recursive=True)


@pytest.fixture(params=["aws-settings", "server-option"])
def s3_server(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str, bucket: tuple[Any, str]
) -> Iterator[ServerProcess]:
    """A server finding its S3 endpoint in the usual AWS settings, or in its own option."""
    _, name = bucket
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
    }
    args = ["--artifacts", f"s3://{name}/team"]
    if request.param == "server-option":
        env["AWS_ENDPOINT_URL_S3"] = ""  # only the option names the endpoint
        args += ["--artifacts-endpoint", s3_endpoint]
    server = start(tmp_path, args, env=env)
    yield server
    server.stop()


def test_server_with_s3_artifacts_proxies_uploads_and_downloads(
    s3_server: ServerProcess,
    bucket: tuple[Any, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3, name = bucket
    # The client has no AWS settings at all: the server holds them.
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(variable, raising=False)
    space = s3_server.new_workspace()
    monkeypatch.setenv("RUNYARD_TOKEN", space.writer)
    workspace = Workspace(space.uri)
    run = Experiment(workspace, "s3").start_logging(snapshot_directory=None)
    payload = b"model weights " * 100_000
    run.upload_file("outputs/model.bin", io.BytesIO(payload))
    run.complete()

    keys = {path.split("/", 1)[1] for path in s3.find(name, refresh=True)}
    assert f"team/{space.name}/runs/{run.id}/outputs/model.bin" in keys
    target = run.download_file("outputs/model.bin", tmp_path / "model.bin")
    assert Path(target).read_bytes() == payload
    assert run.get_file_names() == ["outputs/model.bin"]
    workspace.close()
