"""``runyard server``: serving the local workspace, and the tokens and workspaces commands."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from runyard.cli.server import open_access_warning
from runyard.entities import NewRun
from runyard.store.http.store import HttpStore
from tests.cli.conftest import Invoke
from tests.server.process import start


def test_server_without_a_local_workspace_exits_2(cli: Invoke, tmp_path: Path) -> None:
    result = cli("server")
    assert result.exit_code == 2
    assert "No runyard workspace found" in result.stderr
    assert not (tmp_path / ".runyard").exists()  # not created silently


def test_server_serves_the_local_workspace_without_tokens(tmp_path: Path) -> None:
    folder = tmp_path / "My Project"
    Workspace.create(folder).close()
    server = start(tmp_path, data=False, cwd=folder)
    try:
        assert "RUNYARD_TRACKING_URI=http://127.0.0.1:" in server.output()
        store = HttpStore(f"{server.url}/my_project")  # no token: --auth none is the default
        run = store.create_runs([NewRun("r", "exp")])[0]
        store.put_artifact("r", "x.txt", io.BytesIO(b"bytes"))
        store.close()
    finally:
        server.stop()
    local = Workspace.from_config(folder)
    assert Experiment(local, "exp").name == "exp"
    assert local.store.get_run(run.run_id).experiment_name == "exp"
    with local.store.open_artifact("r", "x.txt") as stream:
        assert stream.read() == b"bytes"
    local.close()
    assert (folder / ".runyard" / "server.db").is_file()


def test_server_tokens_create_list_revoke(cli: Invoke, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert cli("server", "workspaces", "create", "team_a", "--data", data).exit_code == 0
    created = cli(
        "server", "tokens", "create", "--data", data, "--workspace", "team_a", "--role", "writer"
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("ryd_") and len(secret) > 40
    assert "shown once" in created.stderr
    token_id = created.stderr.split()[1].rstrip(":")
    listed = cli("server", "--data", data, "tokens", "list")
    assert token_id in listed.stdout and "writer" in listed.stdout
    assert secret not in listed.stdout
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("server.db*"))
    assert secret.encode() not in stored  # only its SHA-256 is kept
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored
    revoked = cli("server", "tokens", "revoke", token_id, "--data", data)
    assert revoked.exit_code == 0 and "Revoked" in revoked.stdout
    assert "team_a" in cli("server", "workspaces", "list", "--data", data).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tokens", "create", "--workspace", "absent", "--role", "reader"), "does not exist"),
        (("workspaces", "create", "Bad Name"), "Invalid workspace name"),
        (("tokens", "revoke", "nope"), "no token"),
    ],
)
def test_server_commands_refuse_with_a_message(
    cli: Invoke, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = cli("server", "--data", str(tmp_path / "data"), *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_server_store_must_be_postgresql(cli: Invoke, tmp_path: Path) -> None:
    result = cli("server", "--store", f"sqlite:///{tmp_path}/x.db", "workspaces", "list")
    assert result.exit_code == 1
    assert "not a PostgreSQL URL" in result.stderr


@pytest.mark.parametrize(
    ("auth", "host", "warned"),
    [
        ("none", "0.0.0.0", True),
        ("none", "10.1.2.3", True),
        ("none", "127.0.0.1", False),
        ("none", "localhost", False),
        ("token", "0.0.0.0", False),
    ],
)
def test_server_open_access_warning(auth: str, host: str, warned: bool) -> None:
    warning = open_access_warning(auth, host)
    assert (warning is not None) == warned
    if warning:
        assert "ANYONE" in warning and host in warning
