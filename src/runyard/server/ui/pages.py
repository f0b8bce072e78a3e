"""The UI's HTML pages (Jinja2, autoescaped): login, workspaces, experiments, runs, a run,
compare. Pages hold the data they open with; their scripts fetch the rest from ``api``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from runyard.entities import RunQuery
from runyard.errors import MissingExtraError
from runyard.server.auth import Caller
from runyard.server.config import AuthMode
from runyard.server.errors import error_response
from runyard.server.state import server_state
from runyard.server.ui.access import (
    SESSION_COOKIE,
    UI_PREFIX,
    LoginRequired,
    UiReader,
    csrf_token,
    ui_caller,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html


def plotly_js() -> Path:
    """``plotly.min.js`` as the ``plotly`` package ships it.

    Raises:
        MissingExtraError: plotly is not installed (it comes with ``runyard[server]``).
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("The UI's charts need plotly: pip install 'runyard[server]'.")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """The template ``name`` with what every page needs (anti-CSRF token, auth mode)."""
    state = server_state(request)
    context.update(
        csrf_token=csrf_token(request),
        auth_on=state.config.auth is not AuthMode.NONE,
        ui=UI_PREFIX,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def visible_workspaces(request: Request, caller: Caller) -> list[str]:
    names = [w.name for w in server_state(request).control.list_workspaces()]
    return [n for n in names if caller.role_in(n) is not None]


def install(app: FastAPI) -> None:
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="ui-static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(f"{UI_PREFIX}/api/"):
            return error_response(401, "Unauthenticated", str(exc))
        target = quote(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        )
        return RedirectResponse(f"{UI_PREFIX}/login?next={target}", status_code=303)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(f"{UI_PREFIX}/", status_code=307)

    @app.get(f"{UI_PREFIX}/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return FileResponse(
            plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get(f"{UI_PREFIX}/login", include_in_schema=False)
    def login_page(request: Request, next: str = f"{UI_PREFIX}/") -> Response:
        return render(request, "login.html", next=_local(next), error=None)

    @app.post(f"{UI_PREFIX}/login", include_in_schema=False)
    def login(
        request: Request,
        token: Annotated[str, Form()],
        next: Annotated[str, Form()] = f"{UI_PREFIX}/",
    ) -> Response:
        state = server_state(request)
        if state.config.auth is not AuthMode.NONE and state.control.authenticate(token) is None:
            return render(
                request,
                "login.html",
                status_code=401,
                next=_local(next),
                error="This token is not valid on this server (unknown or revoked).",
            )
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=UI_PREFIX,
        )
        return response

    @app.post(f"{UI_PREFIX}/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse(f"{UI_PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
        return response

    @app.get(f"{UI_PREFIX}/", include_in_schema=False)
    def workspaces(request: Request) -> Response:
        names = visible_workspaces(request, ui_caller(request))
        if len(names) == 1:
            return RedirectResponse(f"{UI_PREFIX}/w/{quote(names[0])}/", status_code=303)
        return render(request, "workspaces.html", workspaces=names)

    @app.get(f"{UI_PREFIX}/w/{{workspace}}/", include_in_schema=False)
    def experiments(request: Request, access: UiReader) -> Response:
        rows = []
        store = access.store
        for info in store.list_experiments():
            query = RunQuery(experiment_name=info.name, include_children=False)
            latest = store.search_runs(RunQuery(experiment_name=info.name, page_size=1)).runs
            rows.append(
                {
                    "name": info.name,
                    "runs": store.count_runs(query),
                    "latest": latest[0] if latest else None,
                }
            )
        return render(request, "experiments.html", workspace=access.workspace, experiments=rows)


def _local(target: str) -> str:
    """``target`` if it is a path of the UI (never another site: no open redirect)."""
    if target.startswith(f"{UI_PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{UI_PREFIX}/"
