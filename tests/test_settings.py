"""runyard.settings: the one home of the RUNYARD_* names, and the tracking URI parsed once."""

from __future__ import annotations

from pathlib import Path

import pytest

import runyard
from runyard import settings
from runyard.errors import WorkspaceConfigError
from runyard.runners import bootstrap
from runyard.settings import Scheme, TrackingUri, parse_with_env_token, tracking_uri_from_env

PACKAGE = Path(runyard.__file__).parent


def test_only_settings_spells_the_variable_names() -> None:
    # bootstrap.py runs as a script before the package may be imported: it keeps a copy.
    allowed = {PACKAGE / "settings.py", PACKAGE / "runners" / "bootstrap.py"}
    spelled = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "RUNYARD_" in line
    ]
    assert spelled == []


def test_bootstrap_copy_of_the_error_file_variable_matches() -> None:
    assert bootstrap.ERROR_FILE_ENV == settings.ERROR_FILE_ENV


def test_parse_sqlite_and_postgresql() -> None:
    local = TrackingUri.parse("sqlite:///tmp/runyard.db", token="ignored")
    assert (local.scheme, local.token, local.server_root, local.workspace) == (
        Scheme.SQLITE,
        None,
        None,
        None,
    )
    assert local.sqlite_path == "tmp/runyard.db"
    assert not local.is_server
    pg = TrackingUri.parse("postgresql+psycopg://u:p@host/db")
    assert pg.scheme is Scheme.POSTGRESQL
    assert pg.sqlite_path is None


@pytest.mark.parametrize(
    ("uri", "root", "workspace"),
    [
        ("http://127.0.0.1:5000/team", "http://127.0.0.1:5000", "team"),
        ("HTTPS://host/prefix/team/", "https://host/prefix", "team"),
    ],
)
def test_parse_server_uri(uri: str, root: str, workspace: str) -> None:
    parsed = TrackingUri.parse(uri, token="ryd_secret")
    assert parsed.is_server
    assert (parsed.uri, parsed.server_root, parsed.workspace) == (uri, root, workspace)
    assert parsed.token == "ryd_secret"
    assert "ryd_secret" not in repr(parsed)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "http://127.0.0.1:5000/", "http:/x"])
def test_parse_server_uri_without_workspace_is_refused(uri: str) -> None:
    with pytest.raises(WorkspaceConfigError, match="names no workspace"):
        TrackingUri.parse(uri)


@pytest.mark.parametrize("uri", ["", "mysql://host/db", "runyard.db"])
def test_parse_unknown_scheme_is_refused(uri: str) -> None:
    with pytest.raises(WorkspaceConfigError, match="Unsupported tracking URI"):
        TrackingUri.parse(uri)


def test_resolved_makes_a_relative_sqlite_path_absolute(tmp_path: Path) -> None:
    relative = TrackingUri.parse("sqlite:///runyard.db")
    assert relative.resolved(tmp_path).uri == f"sqlite:///{tmp_path.resolve()}/runyard.db"
    for unchanged in ("sqlite:////abs/runyard.db", "sqlite:///:memory:", "http://h/ws"):
        parsed = TrackingUri.parse(unchanged)
        assert parsed.resolved(tmp_path) == parsed


def test_the_environment_gives_uri_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.TRACKING_URI_ENV, raising=False)
    monkeypatch.setenv(settings.TOKEN_ENV, "")
    assert tracking_uri_from_env() is None
    monkeypatch.setenv(settings.TRACKING_URI_ENV, "http://h:1/ws")
    found = tracking_uri_from_env()
    assert found is not None and found.token is None  # empty counts as unset
    monkeypatch.setenv(settings.TOKEN_ENV, "ryd_x")
    assert tracking_uri_from_env() == TrackingUri.parse("http://h:1/ws", "ryd_x")
    assert parse_with_env_token("http://h:1/other").token == "ryd_x"
