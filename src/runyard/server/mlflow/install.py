"""``install_mlflow(app, ...)``: MLflow's tracking and artifact routes beside the server's app.

They are an app of their own (``mlflow_app``), reached through ``MlflowDispatch``, a pure ASGI
middleware that sends a request to it when its path is an MLflow path
(``errors.is_mlflow_path``): a call of MLflow's client is matched against MLflow's routes only,
and runyard's own calls never try MLflow's ~100 route patterns. The request-body guards
(``server.bodies.RequestBodies``) wrap both apps.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.server.errors import install_error_handlers
from runyard.server.mlflow import artifacts, experiments, models, registry, runs
from runyard.server.mlflow.errors import (
    ENDPOINT_NOT_FOUND,
    is_mlflow_path,
    mlflow_error_response,
)
from runyard.server.state import ServerState
from runyard.server.streams import UploadSlots

TRACKING = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"


def _router(prefix: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=["mlflow"], include_in_schema=False)


class MlflowDispatch:
    """Sends MLflow's calls to the MLflow app, everything else on to the server's app."""

    def __init__(self, app: ASGIApp, mlflow: ASGIApp) -> None:
        self.app = app
        self.mlflow = mlflow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_mlflow_path(scope["path"]):
            await self.mlflow(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_mlflow(app: FastAPI, state: ServerState, uploads: UploadSlots) -> None:
    """Serve MLflow's routes beside ``app``, sharing its state and upload slots. Call it
    before adding the middleware that must also guard MLflow's calls (added later = outside)."""
    app.add_middleware(MlflowDispatch, mlflow=mlflow_app(state, uploads))


def mlflow_app(state: ServerState, uploads: UploadSlots) -> FastAPI:
    """The app of MLflow's tracking and artifact routes (not documented in runyard's OpenAPI:
    MLflow documents its API), its failures in MLflow's shape."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runyard = state
    app.state.uploads = uploads
    install_error_handlers(app)
    for root in ("/{workspace}", ""):
        tracking = _router(root + TRACKING)
        experiments.add_routes(tracking)
        runs.add_routes(tracking)
        models.add_routes(tracking)
        registry.add_routes(tracking)
        app.include_router(tracking)
        proxy = _router(root + ARTIFACTS)
        artifacts.add_routes(proxy)
        app.include_router(proxy)

    for root in ("/{workspace}", ""):

        @app.api_route(
            root + TRACKING + "/{rest:path}",
            methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
            include_in_schema=False,
        )
        def unsupported(rest: str) -> object:
            """MLflow calls runyard does not serve (traces, prompts, webhooks...):
            ENDPOINT_NOT_FOUND, which MLflow's client knows."""
            return mlflow_error_response(
                ENDPOINT_NOT_FOUND,
                f"runyard does not serve MLflow's {rest!r} API (docs/mlflow.md lists what it "
                "serves).",
            )

    return app


__all__ = ["MlflowDispatch", "install_mlflow", "mlflow_app"]
