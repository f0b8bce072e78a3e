"""Workspaces and tokens: listing and creating workspaces, a workspace's tokens.

A workspace's admins manage its tokens; creating a workspace needs an admin token of ``*`` (or
``--auth none``). Tokens valid in every workspace (``*``) are made with the command line only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.errors import PermissionDeniedError
from runyard.server import schemas
from runyard.server.auth import Admin, AnyCaller, Reader
from runyard.server.control import TokenInfo, WorkspaceInfo
from runyard.server.errors import ERROR_RESPONSES
from runyard.server.routes import WORKSPACE_PREFIX, json
from runyard.server.state import server_state
from runyard.store import wire

router = APIRouter(prefix=wire.API_PREFIX, tags=["workspaces"], responses=ERROR_RESPONSES)


def _workspace(info: WorkspaceInfo, role: str | None) -> dict[str, object]:
    return {"name": info.name, "created_time": info.created_time, "role": role}


def _token(info: TokenInfo) -> dict[str, object]:
    return wire.to_json(info)


@router.get("/workspaces", response_model=schemas.WorkspaceList)
def list_workspaces(request: Request, caller: AnyCaller) -> Response:
    """The workspaces the caller has a role in, with that role."""
    state = server_state(request)
    listed = []
    for info in state.control.list_workspaces():
        role = caller.role_in(info.name)
        if role is not None and state.registry.exists(info.name):
            listed.append(_workspace(info, role.value))
    return json({"workspaces": listed})


@router.post("/workspaces", status_code=201, response_model=schemas.WorkspaceDoc)
def create_workspace(body: schemas.NameBody, request: Request, caller: AnyCaller) -> Response:
    """Create a workspace (its store with it). Needs an admin token of every workspace (``*``)."""
    if not caller.is_server_admin:
        raise PermissionDeniedError(
            f"Creating a workspace needs an admin token of every workspace ('*'); the "
            f"{caller.label} is not one."
        )
    info = server_state(request).registry.create(body.name)
    return json(_workspace(info, "admin"), 201)


@router.get(WORKSPACE_PREFIX.removeprefix(wire.API_PREFIX), response_model=schemas.WorkspaceDoc)
def get_workspace(request: Request, access: Reader) -> Response:
    """The workspace, with the caller's role in it."""
    info = server_state(request).control.get_workspace(access.workspace)
    assert info is not None  # the access check opened its store
    return json(_workspace(info, access.role.value))


TOKENS = WORKSPACE_PREFIX.removeprefix(wire.API_PREFIX) + "/tokens"


@router.post(TOKENS, status_code=201, response_model=schemas.NewTokenDoc)
def create_token(body: schemas.NewTokenBody, request: Request, access: Admin) -> Response:
    """A new token of this workspace. The secret (``token``) is in this response only."""
    info, secret = server_state(request).control.create_token(
        access.workspace, body.role, body.name
    )
    return json({**_token(info), "token": secret}, 201)


@router.get(TOKENS, response_model=schemas.TokenList)
def list_tokens(request: Request, access: Admin) -> Response:
    """The workspace's tokens (revoked ones too), never their secrets."""
    found = server_state(request).control.list_tokens(access.workspace)
    return json({"tokens": [_token(t) for t in found]})


@router.delete(TOKENS + "/{token_id}", response_model=schemas.TokenDoc)
def revoke_token(token_id: str, request: Request, access: Admin) -> Response:
    """Revoke one of the workspace's tokens for good; its next request gets 401."""
    info = server_state(request).control.revoke_token(token_id, access.workspace)
    return json(_token(info))
