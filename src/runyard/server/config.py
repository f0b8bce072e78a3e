"""What a server serves: where its workspaces and its own tables live, and how it authenticates.

A ``ServerConfig`` travels to every worker process as JSON in the variable
``settings.SERVER_CONFIG_ENV`` (uvicorn starts workers by importing
``runyard.server.app:app_from_env``), so the workers need nothing but the environment. Three
layouts:

- ``data``: a folder; workspace ``<name>`` is ``<data>/<name>.db``, the server's own tables are
  ``<data>/server.db``, artifacts go under ``<artifacts or data/artifacts>/<name>/``;
- ``store``: a PostgreSQL URL; workspace ``<name>`` is schema ``ws_<name>``, the server's tables
  are in schema ``runyard_server``, artifacts under ``<artifacts>/<name>/``;
- ``local``: one existing workspace (a ``.runyard/`` folder) served under its name; the server's
  tables are ``server.db`` beside its database.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from runyard.errors import InvalidNameError, WorkspaceConfigError
from runyard.settings import SERVER_CONFIG_ENV, env_value

CONTROL_FILE = "server.db"
CONTROL_SCHEMA = "runyard_server"
WORKSPACE_SCHEMA_PREFIX = "ws_"

WORKSPACE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,59}")
"""Lowercase letters, digits and '_': ``ws_<name>`` is then a PostgreSQL schema name that needs
no quoting (at most 63 bytes), and names stay distinct on case-insensitive file systems."""


def check_workspace_name(name: object) -> str:
    """Return ``name`` if it is a valid workspace name; raise ``InvalidNameError`` otherwise."""
    if not isinstance(name, str) or not WORKSPACE_NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"Invalid workspace name {name!r}: use 1 to 60 lowercase letters, digits or '_', "
            "starting with a letter or digit (such as 'team_a')."
        )
    return name


def workspace_name_for(text: str) -> str:
    """The nearest valid workspace name to ``text`` (a folder name, say): ``My Project-2`` ->
    ``my_project_2``."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60].strip("_")
    return slug or "workspace"


class AuthMode(StrEnum):
    TOKEN = "token"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LocalWorkspace:
    """One existing workspace served as it is (``runyard server`` in a workspace folder)."""

    name: str
    uri: str
    artifact_root: str | None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    auth: AuthMode = AuthMode.TOKEN
    data: str | None = None
    store: str | None = None
    artifacts: str | None = None
    local: LocalWorkspace | None = None
    artifacts_endpoint: str | None = None
    """The S3-compatible endpoint of an s3:// artifact root (else the AWS settings decide)."""
    max_open_stores: int = 64
    """Workspace stores a process keeps open (least recently used closed beyond). An SQLite
    workspace holds its file and a few connections; on PostgreSQL every workspace of a process
    shares one connection pool, so this bounds memory, not connections."""
    ui_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    """Keys the web UI's anti-CSRF tokens; made once per ``runyard server`` and handed to its
    workers with the rest of the configuration, so that every worker accepts every page's."""

    def __post_init__(self) -> None:
        chosen = [x for x in (self.data or self.store, self.local) if x]
        if len(chosen) != 1:
            raise WorkspaceConfigError(
                "A server serves either a data folder (--data), a PostgreSQL database (--store) "
                "or the local workspace of the current folder (neither option)."
            )
        if self.store is not None and not make_url(self.store).get_backend_name().startswith(
            "postgresql"
        ):
            raise WorkspaceConfigError(
                f"--store {self.store!r} is not a PostgreSQL URL. Keep SQLite workspaces in a "
                "folder with --data DIR (one file per workspace)."
            )
        if self.store is not None and self.artifacts is None and self.data is None:
            raise WorkspaceConfigError(
                "A PostgreSQL server needs an artifact root: pass --artifacts URL (a folder or "
                "an s3:// URL) or --data DIR (artifacts then go to DIR/artifacts)."
            )

    @property
    def storage_options(self) -> dict[str, Any] | None:
        """fsspec options of the artifact root."""
        return {"endpoint_url": self.artifacts_endpoint} if self.artifacts_endpoint else None

    @property
    def artifact_root(self) -> str | None:
        """The root under which workspace ``<name>`` keeps its artifacts in ``<root>/<name>``."""
        if self.artifacts is not None:
            return self.artifacts.rstrip("/")
        if self.data is not None:
            return str(Path(self.data).resolve() / "artifacts")
        return None

    def control_location(self) -> tuple[str, str | None]:
        """(database URL, schema) of the server's own tables."""
        if self.store is not None:
            return self.store, CONTROL_SCHEMA
        if self.data is not None:
            return f"sqlite:///{Path(self.data).resolve() / CONTROL_FILE}", None
        assert self.local is not None
        database = make_url(self.local.uri).database
        if self.local.uri.startswith("sqlite:") and database:
            return f"sqlite:///{Path(database).resolve().parent / CONTROL_FILE}", None
        return self.local.uri, CONTROL_SCHEMA

    # -- the environment of worker processes -----------------------------------------------------

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        data: dict[str, Any] = json.loads(text)
        local = data.pop("local", None)
        return cls(
            auth=AuthMode(data.pop("auth")),
            local=LocalWorkspace(**local) if local else None,
            **data,
        )

    @classmethod
    def from_env(cls) -> ServerConfig:
        text = env_value(SERVER_CONFIG_ENV)
        if not text:
            raise WorkspaceConfigError(
                f"{SERVER_CONFIG_ENV} is not set: start the server with `runyard server`, or build "
                "the app with runyard.server.app.create_app(config)."
            )
        return cls.from_json(text)
