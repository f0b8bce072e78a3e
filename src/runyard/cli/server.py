"""``runyard server``: run the tracking server, and manage its workspaces and tokens.

``runyard server`` alone serves the local workspace of the current folder (or of
``--workspace PATH``), unauthenticated, on 127.0.0.1:5000. ``--data DIR`` (SQLite files) or
``--store URL`` (PostgreSQL) serve many workspaces, with tokens. The ``tokens`` and
``workspaces`` commands act on the server's own tables directly, found with the same options.
FastAPI and uvicorn are imported only when one of these commands runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from runyard.cli._context import EXIT_USAGE, CliError, CliState, open_workspace
from runyard.cli._output import (
    add_row,
    local_time,
    new_table,
    out_console,
    print_line,
    print_note,
    print_warning,
    with_env_names,
)
from runyard.settings import SERVER_CONFIG_ENV, TOKEN_ENV, TRACKING_URI_ENV

if TYPE_CHECKING:
    from runyard.server.config import ServerConfig
    from runyard.server.state import ServerState

F = TypeVar("F", bound=Callable[..., Any])
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_LOCATION = "runyard.server.location"


class UsageError(CliError):
    exit_code = EXIT_USAGE


def _location_options(command: F) -> F:
    """--store, --artifacts and --data: where the server's workspaces and tables are."""
    options = [
        click.option(
            "--data",
            type=click.Path(file_okay=False, path_type=Path),
            metavar="DIR",
            help="The server's data folder: one SQLite file per workspace (DIR/<name>.db), the "
            "server's tables (DIR/server.db) and, unless --artifacts, the artifacts.",
        ),
        click.option(
            "--store",
            metavar="URL",
            help="A PostgreSQL URL: each workspace is a schema ws_<name> of that database, the "
            "server's tables are in schema runyard_server.",
        ),
        click.option(
            "--artifacts",
            metavar="URL",
            help="Where artifacts go (a folder or an fsspec URL such as s3://bucket/prefix); "
            "workspace <name> uses <URL>/<name>/. Default: DIR/artifacts.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config(ctx: click.Context, auth: str | None = None, **given: Any) -> ServerConfig:
    """The server configuration the options (this command's, else the group's) describe."""
    from runyard.server import require_server_extra
    from runyard.server.config import AuthMode, LocalWorkspace, ServerConfig, workspace_name_for

    require_server_extra()
    inherited: dict[str, Any] = ctx.meta.get(_LOCATION, {})
    where = {k: given.get(k) or inherited.get(k) for k in ("data", "store", "artifacts")}
    data = str(where["data"].resolve()) if where["data"] else None
    if data or where["store"]:
        mode = AuthMode(auth or AuthMode.TOKEN)
        return ServerConfig(mode, data, where["store"], where["artifacts"])
    if where["artifacts"]:
        raise UsageError("--artifacts goes with --data or --store.")
    state = ctx.find_object(CliState)
    workspace = open_workspace(state.workspace_path if state else None)
    try:
        tracking, root, name = workspace.tracking, workspace.artifact_root, workspace.name
    finally:
        workspace.close()
    uri = tracking.uri
    if tracking.is_server:
        raise UsageError(
            f"The workspace here is itself on a tracking server ({uri}); serve a local "
            "workspace, or a data folder with --data DIR."
        )
    local = LocalWorkspace(workspace_name_for(name), uri, root)
    return ServerConfig(AuthMode(auth or AuthMode.NONE), local=local)


def _open(
    ctx: click.Context, data: Path | None, store: str | None, artifacts: str | None
) -> ServerState:
    from runyard.server.state import ServerState

    return ServerState.open(_config(ctx, data=data, store=store, artifacts=artifacts))


@click.group("server", invoke_without_command=True)
@_location_options
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="The port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Server processes; they share nothing but the stores.",
)
@click.option(
    "--artifacts-endpoint",
    metavar="URL",
    help="The endpoint of an S3-compatible store for --artifacts s3://... (MinIO, Ceph...); "
    "by default the AWS settings of the environment decide (AWS_ENDPOINT_URL_S3).",
)
@click.option(
    "--auth",
    type=click.Choice(["token", "none"]),
    help="token: every request needs a token (default with --data/--store); none: no tokens "
    "at all (default for the local workspace).",
)
@click.pass_context
@with_env_names
def server(
    ctx: click.Context,
    data: Path | None,
    store: str | None,
    artifacts: str | None,
    host: str,
    port: int,
    workers: int,
    artifacts_endpoint: str | None,
    auth: str | None,
) -> None:
    """Run the tracking server: workspaces over HTTP for the SDK and the command line.

    With no options, serves the local workspace of the current folder (unauthenticated, on
    127.0.0.1:5000). With --data DIR or --store URL, serves every workspace created there,
    each request needing a token. Clients set {TRACKING_URI_ENV}=http://HOST:PORT/<workspace>
    and {TOKEN_ENV}.
    """
    ctx.meta[_LOCATION] = {"data": data, "store": store, "artifacts": artifacts}
    if ctx.invoked_subcommand is not None:
        return
    config = _config(ctx, auth)
    if artifacts_endpoint:
        config = dataclasses.replace(config, artifacts_endpoint=artifacts_endpoint)
    _serve(config, host, port, workers)


def open_access_warning(auth: str, host: str) -> str | None:
    """The warning ``--auth none`` deserves on an address other machines may reach."""
    if auth != "none" or host in LOCAL_HOSTS:
        return None
    return (
        f"WARNING: --auth none on {host}: ANYONE who can reach this address can read and "
        "change every run of every workspace served, without a token. Use --auth token (with "
        "`runyard server tokens create`), or bind to 127.0.0.1."
    )


def _serve(config: ServerConfig, host: str, port: int, workers: int) -> None:
    import uvicorn

    from runyard.server.config import AuthMode
    from runyard.server.state import ServerState

    state = ServerState.open(config)  # migrates the tables once, before the workers start
    try:
        names = [w.name for w in state.control.list_workspaces()]
        tokens = [t for t in state.control.list_tokens() if t.revoked_time is None]
    finally:
        state.close()
    shown = "[::1]" if host == "::1" else host
    warning = open_access_warning(config.auth, host)
    if warning:
        print_warning(warning)
    if config.auth is AuthMode.TOKEN and not tokens:
        print_note(
            "No tokens yet: every request will be refused (401). Create one with "
            "`runyard server tokens create --workspace NAME --role writer` (same --data/--store)."
        )
    for name in names or ["(none yet: runyard server workspaces create NAME)"]:
        print_note(f"workspace: {TRACKING_URI_ENV}=http://{shown}:{port}/{name}")
    os.environ[SERVER_CONFIG_ENV] = config.to_env()
    uvicorn.run(
        "runyard.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_keep_alive=30,  # longer than the HTTP store keeps idle connections (4 s)
        log_level="info",
    )


# -- tokens --------------------------------------------------------------------------------------


@server.group()
def tokens() -> None:
    """Tokens of the server: create (shown once), list, revoke."""


@tokens.command("create")
@_location_options
@click.option(
    "--workspace",
    "workspace_name",
    required=True,
    metavar="NAME",
    help="The workspace the token is for; '*' for every workspace (an admin of '*' may create "
    "workspaces).",
)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["reader", "writer", "admin"]),
    help="reader: read; writer: also write runs, metrics, artifacts; admin: also manage tokens.",
)
@click.option("--name", "label", metavar="LABEL", help="A label to recognise the token by.")
@click.pass_context
def create_token(
    ctx: click.Context,
    workspace_name: str,
    role: str,
    label: str | None,
    data: Path | None,
    store: str | None,
    artifacts: str | None,
) -> None:
    """Create a token and print it; it is shown this once and stored only as a hash.

    The token goes alone on stdout (TOKEN=$(runyard server tokens create ...)); its id, used to
    revoke it, goes to stderr.
    """
    from runyard.server.control import Role

    state = _open(ctx, data, store, artifacts)
    try:
        info, secret = state.control.create_token(workspace_name, Role(role), label)
    finally:
        state.close()
    print_note(
        f"Token {info.token_id}: {info.role.value} of workspace {info.workspace!r}. It is shown "
        f"once; keep it secret (set {TOKEN_ENV} to it)."
    )
    print_line(secret)


@tokens.command("list")
@_location_options
@click.option("--workspace", "workspace_name", metavar="NAME", help="Only this workspace's tokens.")
@click.pass_context
def list_tokens(
    ctx: click.Context,
    workspace_name: str | None,
    data: Path | None,
    store: str | None,
    artifacts: str | None,
) -> None:
    """List tokens (never their secrets): id, label, workspace, role, created, revoked."""
    state = _open(ctx, data, store, artifacts)
    try:
        found = state.control.list_tokens(workspace_name)
    finally:
        state.close()
    table = new_table("ID", "Name", "Workspace", "Role", "Created", "Revoked")
    for info in found:
        revoked = local_time(info.revoked_time) if info.revoked_time else ""
        add_row(
            table,
            info.token_id,
            info.name or "",
            info.workspace,
            info.role.value,
            local_time(info.created_time),
            revoked,
        )
    out_console().print(table)


@tokens.command("revoke")
@_location_options
@click.argument("token_id", metavar="ID")
@click.pass_context
def revoke_token(
    ctx: click.Context, token_id: str, data: Path | None, store: str | None, artifacts: str | None
) -> None:
    """Revoke the token ID for good: its next request is refused (401)."""
    state = _open(ctx, data, store, artifacts)
    try:
        info = state.control.revoke_token(token_id)
    finally:
        state.close()
    print_line(f"Revoked token {info.token_id} ({info.role.value} of {info.workspace!r}).")


# -- workspaces ----------------------------------------------------------------------------------


@server.group()
def workspaces() -> None:
    """Workspaces of the server: create, list."""


@workspaces.command("create")
@_location_options
@click.argument("name")
@click.pass_context
def create_workspace(
    ctx: click.Context, name: str, data: Path | None, store: str | None, artifacts: str | None
) -> None:
    """Create the workspace NAME (an empty store) on the server."""
    state = _open(ctx, data, store, artifacts)
    try:
        info = state.registry.create(name)
    finally:
        state.close()
    print_line(f"Created workspace {info.name!r}: {TRACKING_URI_ENV}=http://HOST:PORT/{name}")


@workspaces.command("list")
@_location_options
@click.pass_context
def list_workspaces(
    ctx: click.Context, data: Path | None, store: str | None, artifacts: str | None
) -> None:
    """List the server's workspaces."""
    state = _open(ctx, data, store, artifacts)
    try:
        found = state.control.list_workspaces()
    finally:
        state.close()
    table = new_table("Name", "Created")
    for info in found:
        add_row(table, info.name, local_time(info.created_time))
    out_console().print(table)
