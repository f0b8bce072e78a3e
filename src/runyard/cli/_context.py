"""The workspace a command works on, and the errors a command exits with.

The CLI never creates a workspace (``Workspace.from_config()`` would): a command run in the wrong
folder must say so rather than leave an empty ``.runyard/`` behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy.engine import make_url

from runyard.cli._output import print_error
from runyard.sdk.workspace import CONFIG_DIR, CONFIG_FILE, Workspace, find_config
from runyard.settings import TRACKING_URI_ENV, Scheme, TrackingUri, tracking_uri_from_env

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, as shells report it."""

CREATE_HINT = (
    "Create one with: python -c \"import runyard; runyard.Workspace.create('.')\", or pass "
    f"--workspace PATH, or set {TRACKING_URI_ENV}."
)


class CliError(click.ClickException):
    """A failure shown as one red line on stderr, with exit code 1."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def show(self, file: IO[Any] | None = None) -> None:
        print_error(self.message)


class NoWorkspaceError(CliError):
    """No workspace where the command looked; exit code 2, as for a usage error."""

    exit_code = EXIT_USAGE


def _config_at(path: Path) -> Path | None:
    """The config file ``--workspace PATH`` names: the file itself, or the one in the folder."""
    if path.is_file():
        return path
    candidates = [path / CONFIG_DIR / CONFIG_FILE]
    if path.name == CONFIG_DIR:
        candidates.append(path / CONFIG_FILE)
    return next((c for c in candidates if c.is_file()), None)


def _check_sqlite_exists(tracking: TrackingUri) -> None:
    """Refuse a tracking URI naming a missing SQLite file: opening it would create a database."""
    if tracking.scheme is not Scheme.SQLITE:
        return
    database = make_url(tracking.uri).database
    if database and database != ":memory:" and not Path(database).exists():
        raise NoWorkspaceError(
            f"{TRACKING_URI_ENV} is {tracking.uri!r}, but {Path(database).resolve()} does not "
            "exist; the command line does not create workspaces. Check the variable, or unset it."
        )


def open_workspace(path: Path | None) -> Workspace:
    """The workspace of the environment's tracking URI (``TRACKING_URI_ENV``, which wins),
    ``path``, or the current folder.

    Raises:
        NoWorkspaceError: no workspace was found (exit code 2); the message says where it looked.
            A tracking URI naming a missing SQLite file counts as none.
        WorkspaceConfigError: the configuration found is not valid.
    """
    tracking = tracking_uri_from_env()
    if tracking is not None:
        _check_sqlite_exists(tracking)
        return Workspace(tracking)
    if path is not None:
        config = _config_at(path)
        if config is None:
            raise NoWorkspaceError(
                f"No runyard workspace at {path}: expected a config file or a folder containing "
                f"{CONFIG_DIR}/{CONFIG_FILE}. {CREATE_HINT}"
            )
    else:
        here = Path.cwd()
        config = find_config(here)
        if config is None:
            raise NoWorkspaceError(
                f"No runyard workspace found: looked for {CONFIG_DIR}/{CONFIG_FILE} in {here} and "
                f"every folder above it. {CREATE_HINT}"
            )
    return Workspace.from_config(config)


class CliState:
    """What the top-level options chose; the workspace is opened on first use only."""

    def __init__(self, workspace_path: Path | None) -> None:
        self.workspace_path = workspace_path
        self._workspace: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = open_workspace(self.workspace_path)
        return self._workspace

    def close(self) -> None:
        """Flush and release the workspace if a command opened it."""
        workspace, self._workspace = self._workspace, None
        if workspace is not None:
            workspace.close()


pass_state = click.make_pass_decorator(CliState)
