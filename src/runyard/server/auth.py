"""Who is calling, and what they may do: bearer tokens and roles, checked before any work.

Every workspace route depends on ``reader``, ``writer`` or ``admin``: the dependency resolves the
token (401 when it is missing, unknown or revoked), checks its role in the route's workspace
(403 when it has none or too low a one), and only then opens the workspace's store (404 when the
workspace does not exist). The route's body is not read, and nothing is written, before that.
With ``--auth none`` every caller is an administrator of every workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from runyard.errors import AuthenticationError, PermissionDeniedError
from runyard.server.config import AuthMode
from runyard.server.control import ALL_WORKSPACES, Role, TokenInfo
from runyard.server.state import ServerState, server_state
from runyard.settings import TOKEN_ENV
from runyard.store import Store

_bearer = HTTPBearer(
    auto_error=False,
    description="A runyard token: `Authorization: Bearer ryd_...` (runyard server tokens create).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The token of a request (None with ``--auth none``: an administrator of everything)."""

    token: TokenInfo | None

    def role_in(self, workspace: str) -> Role | None:
        return Role.ADMIN if self.token is None else self.token.role_in(workspace)

    @property
    def is_server_admin(self) -> bool:
        """May create workspaces: an admin token of ``*`` (or anyone, with ``--auth none``)."""
        token = self.token
        return token is None or (token.workspace == ALL_WORKSPACES and token.role is Role.ADMIN)

    @property
    def label(self) -> str:
        if self.token is None:
            return "anonymous caller"
        return f"token {self.token.token_id}" + (f" ({self.token.name})" if self.token.name else "")


@dataclass(frozen=True, slots=True)
class Access:
    """What a workspace route works with: the workspace's store and the caller's role there."""

    workspace: str
    role: Role
    store: Store
    caller: Caller


def authenticate(state: ServerState, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if state.config.auth is AuthMode.NONE:
        return Caller(None)
    if credentials is None:
        raise AuthenticationError(
            f"This server needs a token: send `Authorization: Bearer <token>` (set {TOKEN_ENV} "
            "for the SDK). An administrator creates one with `runyard server tokens create`."
        )
    token = state.control.authenticate(credentials.credentials)
    if token is None:
        raise AuthenticationError(
            "The token is not valid on this server (unknown or revoked). Ask an administrator "
            f"for a token (runyard server tokens create) and set {TOKEN_ENV} to it."
        )
    return Caller(token)


def caller(request: Request, credentials: Credentials) -> Caller:
    """The authenticated caller of a route outside any one workspace."""
    return authenticate(server_state(request), credentials)


def check_role(caller: Caller, workspace: str, needed: Role) -> Role:
    role = caller.role_in(workspace)
    if role is None:
        raise PermissionDeniedError(f"The {caller.label} has no access to workspace {workspace!r}.")
    if role.rank < needed.rank:
        raise PermissionDeniedError(
            f"The {caller.label} is a {role.value} of workspace {workspace!r}; this call needs "
            f"a {needed.value} (roles: reader < writer < admin)."
        )
    return role


def _access(needed: Role) -> object:
    def dependency(request: Request, workspace: str, credentials: Credentials) -> Access:
        state = server_state(request)
        who = authenticate(state, credentials)
        role = check_role(who, workspace, needed)
        return Access(workspace, role, state.registry.store(workspace), who)

    dependency.__name__ = f"{needed.value}_access"
    return Depends(dependency)


Reader = Annotated[Access, _access(Role.READER)]
"""A route any token of the workspace may call (read verbs)."""
Writer = Annotated[Access, _access(Role.WRITER)]
"""A route that writes runs, metrics, logs, artifacts or snapshots."""
Admin = Annotated[Access, _access(Role.ADMIN)]
"""A route that manages the workspace's tokens."""
AnyCaller = Annotated[Caller, Depends(caller)]
"""An authenticated caller, whatever its workspace (listing and creating workspaces)."""
