"""Every ``RUNYARD_*`` environment variable, and the tracking URI, parsed once.

The variables' names are written here and nowhere else: other modules import the constants
(``runners/bootstrap.py`` alone keeps a copy, since it runs before the package may be imported;
a test checks that the two agree). An empty variable counts as unset (``env_value``).

A tracking URI is parsed once, at the edge where it enters (``Workspace``, ``open_store``,
``HttpStore``, the supervisor), into a frozen ``TrackingUri`` that the layers below are handed.

Runner settings are documented in docs/script-runs.md; tests and users shorten the timeouts
through the same variables. This module imports only ``errors``: the store imports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from runyard.errors import WorkspaceConfigError

# -- where the workspace is ---------------------------------------------------------------------

TRACKING_URI_ENV = "RUNYARD_TRACKING_URI"
"""The workspace's tracking URI; wins over a config file."""
ARTIFACT_ROOT_ENV = "RUNYARD_ARTIFACT_ROOT"
"""Where artifact bytes go (a folder or an fsspec URL); default: beside an SQLite file."""
TOKEN_ENV = "RUNYARD_TOKEN"
"""The token sent to a tracking server (http(s) tracking URIs)."""
JOURNAL_DIR_ENV = "RUNYARD_JOURNAL_DIR"
"""The root of the journals an HttpStore keeps while its server is away."""
UI_URL_ENV = "RUNYARD_UI_URL"
"""The workspace's page in a runyard web UI (``http://127.0.0.1:8765/ui/w/<workspace>/``): where
a notebook's run and experiment tables link (a tracking server's UI is known without it)."""
JOB_PYTHON_ENV = "RUNYARD_JOB_PYTHON"
"""The ``major.minor`` Python a Ray job's environment asks for (the job checks it runs that)."""
SERVER_CONFIG_ENV = "RUNYARD_SERVER_CONFIG"
"""The tracking server's configuration, as JSON, for its worker processes."""
EXPERIMENT_ENV = "RUNYARD_EXPERIMENT"
"""Set to an experiment's name: ``Run.get_context()`` outside a submitted run starts a real run
of that experiment (once per process, ended at exit) instead of returning an offline run."""

# -- set by a supervisor for the script it runs -------------------------------------------------

RUN_ID_ENV = "RUNYARD_RUN_ID"
"""The run of a submitted script (``Run.get_context()``)."""
EXPERIMENT_NAME_ENV = "RUNYARD_EXPERIMENT_NAME"
OUTPUT_DIRECTORY_ENV = "RUNYARD_OUTPUT_DIRECTORY"
"""The script's ``outputs/`` folder, uploaded when the run ends."""
ERROR_FILE_ENV = "RUNYARD_ERROR_FILE"
"""Where ``runners/bootstrap.py`` writes the script's uncaught exception."""
KEEP_WORKDIR_ENV = "RUNYARD_KEEP_WORKDIR"
"""Set (non-empty): a supervisor leaves the run's working copy behind (for debugging)."""

# -- how local script runs are supervised (RunnerSettings) --------------------------------------

LOCAL_MAX_RUNS_ENV = "RUNYARD_LOCAL_MAX_RUNS"
HEARTBEAT_SECONDS_ENV = "RUNYARD_HEARTBEAT_SECONDS"
NOT_RESPONDING_SECONDS_ENV = "RUNYARD_NOT_RESPONDING_SECONDS"
DEAD_RUN_SECONDS_ENV = "RUNYARD_DEAD_RUN_SECONDS"
CANCEL_GRACE_SECONDS_ENV = "RUNYARD_CANCEL_GRACE_SECONDS"
POLL_SECONDS_ENV = "RUNYARD_POLL_SECONDS"

# -- how declared environments are built (runners/environments.py) ------------------------------

ENV_CACHE_ENV = "RUNYARD_ENV_CACHE"
"""Where built environments are kept (default: ``$XDG_CACHE_HOME/runyard/envs``, else
``~/.cache/runyard/envs``): one virtual environment per specification hash."""
ENV_BUILDER_ENV = "RUNYARD_ENV_BUILDER"
"""``auto`` (default: uv when available, else venv and pip), ``uv`` or ``pip``."""
ENV_BUILDERS = ("auto", "uv", "pip")


def env_cache_dir() -> Path:
    """Where built environments are kept (``ENV_CACHE_ENV``)."""
    given = env_value(ENV_CACHE_ENV)
    if given:
        return Path(given).expanduser()
    base = env_value("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "runyard" / "envs"


def env_builder() -> str:
    """The environment builder asked for (``ENV_BUILDER_ENV``).

    Raises:
        WorkspaceConfigError: it is none of ``ENV_BUILDERS``.
    """
    value = (env_value(ENV_BUILDER_ENV) or "auto").lower()
    if value not in ENV_BUILDERS:
        raise WorkspaceConfigError(
            f"{ENV_BUILDER_ENV}={value!r} is not valid: use one of {', '.join(ENV_BUILDERS)}."
        )
    return value


# -- how a tracking server guards itself (ServerSettings) ----------------------------------------

SERVER_READ_TIMEOUT_ENV = "RUNYARD_SERVER_READ_TIMEOUT"
SERVER_MAX_UPLOADS_ENV = "RUNYARD_SERVER_MAX_UPLOADS"
SERVER_MAX_BODY_ENV = "RUNYARD_SERVER_MAX_BODY_BYTES"


# -- artifact uploads ----------------------------------------------------------------------------

UPLOAD_STALE_SECONDS_ENV = "RUNYARD_UPLOAD_STALE_SECONDS"
"""An artifact upload silent this long may be taken over by another upload of its path."""
DEFAULT_UPLOAD_STALE_SECONDS = 300.0


def env_value(name: str) -> str | None:
    """The environment variable ``name``; None when it is unset or empty."""
    return os.environ.get(name) or None


# -- the tracking URI ---------------------------------------------------------------------------


class Scheme(StrEnum):
    """The kinds of store a tracking URI can name."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    """``postgresql`` with any driver (``postgresql+psycopg``)."""
    HTTP = "http"
    HTTPS = "https"


SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class TrackingUri:
    """A tracking URI, parsed (``TrackingUri.parse``): which store it names, and how to reach it.

    ``uri`` is the URI as given (with a relative SQLite path made absolute by ``resolved``);
    ``server_root`` and ``workspace`` are set for a tracking server only (http/https), and so
    is ``token``, which a repr never shows.
    """

    uri: str
    scheme: Scheme
    server_root: str | None = None
    """http(s): the server's URL, ``scheme://host[:port][/prefix]``, without the workspace."""
    workspace: str | None = None
    """http(s): the name of the server's workspace, the URI's last path segment."""
    token: str | None = field(default=None, repr=False)
    """http(s): the token sent to the server (None: none)."""

    @classmethod
    def parse(cls, uri: str, token: str | None = None) -> TrackingUri:
        """Parse ``uri``: ``sqlite:///path/to/runyard.db``,
        ``postgresql+psycopg://user:password@host/database``, or a tracking server's workspace,
        ``http(s)://host:port[/prefix]/<workspace>``. ``token`` is kept for a server only.

        Raises:
            WorkspaceConfigError: the scheme is none of these, or an http(s) URI names no
                workspace.
        """
        scheme = uri.split(":", 1)[0].lower()
        if scheme == Scheme.SQLITE:
            return cls(uri, Scheme.SQLITE)
        if scheme.startswith(Scheme.POSTGRESQL):
            return cls(uri, Scheme.POSTGRESQL)
        if scheme in (Scheme.HTTP, Scheme.HTTPS):
            parts = urlsplit(uri)
            root, _, workspace = parts.path.rstrip("/").rpartition("/")
            if not parts.netloc or not workspace:
                raise no_workspace_error(uri)
            server_root = f"{parts.scheme}://{parts.netloc}{root}"
            return cls(uri, Scheme(scheme), server_root, workspace, token)
        raise WorkspaceConfigError(
            f"Unsupported tracking URI {uri!r}: runyard stores are sqlite:///path/to/runyard.db, "
            "postgresql+psycopg://user:password@host/database, or a tracking server's workspace, "
            "http(s)://host:port/<workspace>."
        )

    @property
    def is_server(self) -> bool:
        """The URI names a workspace of a tracking server (http or https)."""
        return self.scheme in (Scheme.HTTP, Scheme.HTTPS)

    @property
    def sqlite_path(self) -> str | None:
        """``sqlite:///<path>``: the path as written (None for other URIs and ``sqlite://``)."""
        return self.uri[len(SQLITE_PREFIX) :] if self.uri.startswith(SQLITE_PREFIX) else None

    def resolved(self, base: Path) -> TrackingUri:
        """This URI with a relative SQLite path made absolute against ``base`` (a config file's
        folder, or the current one); any other URI, and ``:memory:``, as it is."""
        path = self.sqlite_path
        # ":memory:" is not a file name: left alone, the store refuses it with a clear error.
        if path is None or path.startswith("/") or path == ":memory:":
            return self
        return replace(self, uri=SQLITE_PREFIX + str((base / path).resolve()))


def no_workspace_error(uri: str) -> WorkspaceConfigError:
    """The error for a URI given where a tracking server's workspace is needed."""
    return WorkspaceConfigError(
        f"Unsupported tracking URI {uri!r}: it names no workspace. A tracking "
        "server's URI ends with the workspace, http(s)://host:port/<workspace> (e.g. "
        "http://127.0.0.1:5000/my-team); a local store is sqlite:///path/to/runyard.db."
    )


def parse_with_env_token(uri: str) -> TrackingUri:
    """``uri`` parsed with the token of the environment (``TOKEN_ENV``): how a URI a user gives
    is read.

    Raises:
        WorkspaceConfigError: the URI is not valid (``TrackingUri.parse``).
    """
    return TrackingUri.parse(uri, env_value(TOKEN_ENV))


def tracking_uri_from_env() -> TrackingUri | None:
    """The tracking URI of the environment (``TRACKING_URI_ENV``) parsed with its token; None
    when it is not set.

    Raises:
        WorkspaceConfigError: the URI is not valid (``TrackingUri.parse``).
    """
    uri = env_value(TRACKING_URI_ENV)
    return None if uri is None else parse_with_env_token(uri)


# -- runner settings ----------------------------------------------------------------------------


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WorkspaceConfigError(
            f"{name}={raw!r} is not a number; unset it or give seconds."
        ) from None
    if value < 0:
        raise WorkspaceConfigError(f"{name}={raw!r} must not be negative.")
    return value


def upload_stale_seconds() -> float:
    """``UPLOAD_STALE_SECONDS_ENV`` (default 300): how long an artifact upload may make no
    progress before another upload of the same path, or a process opening the store, may take
    its place. Read at each upload, so tests and users can shorten it at any time.

    Raises:
        WorkspaceConfigError: the value is not a number, or is negative.
    """
    return _number(UPLOAD_STALE_SECONDS_ENV, DEFAULT_UPLOAD_STALE_SECONDS)


@dataclass(frozen=True)
class RunnerSettings:
    """How local script runs are supervised."""

    max_concurrent_runs: int
    """RUNYARD_LOCAL_MAX_RUNS: scripts running at once on the local target (default: CPUs)."""
    heartbeat_seconds: float = 5.0
    """RUNYARD_HEARTBEAT_SECONDS: how often a supervisor says it is alive."""
    not_responding_seconds: float = 30.0
    """RUNYARD_NOT_RESPONDING_SECONDS: a run without heartbeat this long is NotResponding."""
    dead_seconds: float = 300.0
    """RUNYARD_DEAD_RUN_SECONDS: a run without heartbeat this long is Failed."""
    cancel_grace_seconds: float = 10.0
    """RUNYARD_CANCEL_GRACE_SECONDS: between SIGTERM and SIGKILL when a run is stopped."""
    poll_seconds: float = 0.1
    """RUNYARD_POLL_SECONDS: how often a supervisor looks for a cancel request or its turn."""

    @classmethod
    def from_env(cls) -> RunnerSettings:
        """The settings of the environment, defaults for those unset.

        Raises:
            WorkspaceConfigError: a value is not a number, or is negative.
        """
        return cls(
            max_concurrent_runs=max(
                1, int(_number(LOCAL_MAX_RUNS_ENV, float(os.cpu_count() or 1)))
            ),
            heartbeat_seconds=_number(HEARTBEAT_SECONDS_ENV, 5.0),
            not_responding_seconds=_number(NOT_RESPONDING_SECONDS_ENV, 30.0),
            dead_seconds=_number(DEAD_RUN_SECONDS_ENV, 300.0),
            cancel_grace_seconds=_number(CANCEL_GRACE_SECONDS_ENV, 10.0),
            poll_seconds=_number(POLL_SECONDS_ENV, 0.1),
        )


@dataclass(frozen=True)
class ServerSettings:
    """How a tracking server process guards itself against clients that send too much or
    stall (docs/server.md, "Limits and timeouts")."""

    read_timeout_seconds: float = 60.0
    """RUNYARD_SERVER_READ_TIMEOUT: a request body that sends nothing for this long is given up
    (408; an upload stores nothing). Also the longest an upload waits for a slot (then 503)."""
    max_uploads: int = 16
    """RUNYARD_SERVER_MAX_UPLOADS: artifact and blob uploads streamed at once by one process,
    each in a thread of its own, apart from the threads of the other routes."""
    max_body_bytes: int = 64 * 1024 * 1024
    """RUNYARD_SERVER_MAX_BODY_BYTES: the largest request body of a route other than the
    streamed uploads (which have no limit); larger ones are refused with 413."""

    @classmethod
    def from_env(cls) -> ServerSettings:
        """The settings of the environment, defaults for those unset.

        Raises:
            WorkspaceConfigError: a value is not a number, is negative, or is zero where a
                positive number is needed.
        """
        settings = cls(
            read_timeout_seconds=_number(SERVER_READ_TIMEOUT_ENV, cls.read_timeout_seconds),
            max_uploads=int(_number(SERVER_MAX_UPLOADS_ENV, cls.max_uploads)),
            max_body_bytes=int(_number(SERVER_MAX_BODY_ENV, cls.max_body_bytes)),
        )
        if settings.read_timeout_seconds <= 0 or settings.max_uploads < 1:
            raise WorkspaceConfigError(
                f"{SERVER_READ_TIMEOUT_ENV} must be more than 0 seconds and "
                f"{SERVER_MAX_UPLOADS_ENV} at least 1; unset them for the defaults."
            )
        return settings
