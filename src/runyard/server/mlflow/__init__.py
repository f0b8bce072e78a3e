"""MLflow's REST API over runyard's stores, so the stock MLflow client logs into runyard.

``MLFLOW_TRACKING_URI=http://host:port/<workspace>`` (the URI the runyard SDK uses) and
``MLFLOW_TRACKING_TOKEN=<a runyard token>``; the routes answer under
``/<workspace>/api/2.0/mlflow/`` (tracking) and ``/<workspace>/api/2.0/mlflow-artifacts/``
(the artifact proxy), and at the root too for the artifact proxy (older clients drop the
tracking URI's path) and, when the server serves one local workspace, for tracking. The
mapping between MLflow's entities and runyard's is docs/mlflow.md.

Modules: ``access`` (workspace, token, role), ``bodies`` (request fields), ``convert``
(entities as MLflow's JSON), ``search`` (MLflow's filters and sort keys as runyard's),
``errors`` (MLflow's error shape), and the routes: ``experiments``, ``runs``, ``artifacts``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from runyard.server.mlflow import artifacts, experiments, runs
from runyard.server.mlflow.errors import ENDPOINT_NOT_FOUND, mlflow_error_response

TRACKING = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"


def _router(prefix: str, documented: bool) -> APIRouter:
    return APIRouter(prefix=prefix, tags=["mlflow"], include_in_schema=documented)


def install_mlflow(app: FastAPI) -> None:
    """Add MLflow's tracking and artifact routes to the server's app."""
    for root, documented in (("/{workspace}", True), ("", False)):
        tracking = _router(root + TRACKING, documented)
        experiments.add_routes(tracking)
        runs.add_routes(tracking)
        app.include_router(tracking)
        proxy = _router(root + ARTIFACTS, documented)
        artifacts.add_routes(proxy)
        app.include_router(proxy)

    for root in ("/{workspace}", ""):

        @app.api_route(
            root + TRACKING + "/{rest:path}",
            methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
            include_in_schema=False,
        )
        def unsupported(rest: str) -> object:
            """MLflow calls runyard does not serve (the model registry, traces, logged
            models...): ENDPOINT_NOT_FOUND, which MLflow's client knows."""
            return mlflow_error_response(
                ENDPOINT_NOT_FOUND,
                f"runyard does not serve MLflow's {rest!r} API (docs/mlflow.md lists what it "
                "serves).",
            )


__all__ = ["install_mlflow"]
