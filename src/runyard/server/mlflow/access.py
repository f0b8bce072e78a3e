"""Who calls an MLflow route, in which workspace, and what they may do.

The MLflow client appends ``/api/2.0/mlflow/...`` to its tracking URI, so with
``MLFLOW_TRACKING_URI=http://host:port/<workspace>`` (the URI the runyard SDK uses) the
workspace is the first segment of the path. A server serving one local workspace
(``runyard server`` in a workspace folder) also answers at the root, for
``MLFLOW_TRACKING_URI=http://host:port``. Tokens and roles are runyard's own
(``runyard.server.auth``): MLflow's client sends ``MLFLOW_TRACKING_TOKEN`` as a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from runyard.errors import InvalidArgumentError
from runyard.server.auth import Caller, Credentials, authenticate, check_role
from runyard.server.control import Role
from runyard.server.state import server_state
from runyard.store import Store


@dataclass(frozen=True, slots=True)
class Call:
    """What an MLflow route works with: the workspace, its store, the caller."""

    workspace: str
    store: Store
    caller: Caller


def workspace_of(request: Request) -> str:
    """The workspace a request names in its path, or the server's local workspace."""
    named = request.path_params.get("workspace")
    if named:
        return str(named)
    local = server_state(request).config.local
    if local is None:
        raise InvalidArgumentError(
            "This server serves several workspaces: put the workspace in the tracking URI, "
            "MLFLOW_TRACKING_URI=http://HOST:PORT/<workspace>."
        )
    return local.name


def open_call(request: Request, credentials: Any, workspace: str, needed: Role) -> Call:
    """Authenticate, check the caller's role in ``workspace``, then open its store (401, 403,
    404 in that order; nothing is read or written before)."""
    state = server_state(request)
    who = authenticate(state, credentials)
    check_role(who, workspace, needed)
    return Call(workspace, state.registry.store(workspace), who)


def _dependency(needed: Role) -> Callable[..., Call]:
    def dependency(request: Request, credentials: Credentials) -> Call:
        return open_call(request, credentials, workspace_of(request), needed)

    dependency.__name__ = f"mlflow_{needed.value}"
    return dependency


Reader = Annotated[Call, Depends(_dependency(Role.READER))]
Writer = Annotated[Call, Depends(_dependency(Role.WRITER))]
