"""Who is looking at the UI: a session cookie holding the caller's token, and anti-CSRF tokens.

With ``--auth token`` the login page takes a token (checked like any API call's) and keeps it in
an HttpOnly, SameSite=Strict cookie scoped to ``/ui``; every UI request re-checks it, so a
revoked token ends its sessions at once. With ``--auth none`` there is no login.

A change (a tag, a cancel) must carry the ``X-Runyard-CSRF`` header holding the token the page
was served with: an HMAC of the session under the server's ``ui_secret``. Another site can make
a browser send the cookie (not with SameSite=Strict, but defence in depth), never that header.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from runyard.errors import AuthenticationError, PermissionDeniedError
from runyard.server.auth import Caller, check_role
from runyard.server.config import AuthMode
from runyard.server.control import Role
from runyard.server.state import server_state
from runyard.store import Store

SESSION_COOKIE = "runyard_session"
CSRF_HEADER = "X-Runyard-CSRF"
UI_PREFIX = "/ui"


class LoginRequired(AuthenticationError):
    """A UI page asked for without a valid session: pages redirect to the login page."""


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def ui_caller(request: Request) -> Caller:
    """The caller of a UI request, from its session cookie.

    Raises:
        LoginRequired: tokens are on and the cookie is missing, unknown or revoked.
    """
    state = server_state(request)
    if state.config.auth is AuthMode.NONE:
        return Caller(None)
    token = session_token(request)
    info = state.control.authenticate(token) if token else None
    if info is None:
        raise LoginRequired("Sign in with a token to use the UI.")
    return Caller(info)


def csrf_token(request: Request) -> str:
    """The anti-CSRF token of this request's session (what pages put in their meta tag)."""
    secret = server_state(request).config.ui_secret.encode()
    session = session_token(request) or ""
    return hmac.new(secret, f"csrf:{session}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request) -> None:
    """Refuse a change whose ``X-Runyard-CSRF`` header is not this session's token.

    Raises:
        PermissionDeniedError: the header is missing or wrong (403).
    """
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, csrf_token(request)):
        raise PermissionDeniedError(
            "This change did not come from a runyard page (missing or wrong anti-CSRF token): "
            "reload the page and try again."
        )


@dataclass(frozen=True, slots=True)
class UiAccess:
    """A UI request's workspace, store and role."""

    workspace: str
    role: Role
    store: Store
    caller: Caller


def _ui_access(needed: Role, *, change: bool) -> object:
    def dependency(request: Request, workspace: str) -> UiAccess:
        who = ui_caller(request)
        role = check_role(who, workspace, needed)
        if change:
            check_csrf(request)
        return UiAccess(workspace, role, server_state(request).registry.store(workspace), who)

    dependency.__name__ = f"ui_{needed.value}_access"
    return Depends(dependency)


UiReader = Annotated[UiAccess, _ui_access(Role.READER, change=False)]
"""A UI page or read: a session with any role in the workspace."""
UiWriter = Annotated[UiAccess, _ui_access(Role.WRITER, change=True)]
"""A UI change (tags, cancel): a writer's session and this session's anti-CSRF header."""
