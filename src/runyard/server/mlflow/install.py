"""``install_mlflow(app)``: MLflow's tracking and artifact routes on the server's app."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from runyard.server.mlflow import artifacts, experiments, models, runs
from runyard.server.mlflow.errors import ENDPOINT_NOT_FOUND, mlflow_error_response

TRACKING = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"


def _router(prefix: str) -> APIRouter:
    # Not in runyard's OpenAPI document: this is MLflow's API, documented by MLflow (its REST
    # API reference) and docs/mlflow.md; runyard's document describes runyard's own routes.
    return APIRouter(prefix=prefix, tags=["mlflow"], include_in_schema=False)


def install_mlflow(app: FastAPI) -> None:
    """Add MLflow's tracking and artifact routes to the server's app."""
    for root in ("/{workspace}", ""):
        tracking = _router(root + TRACKING)
        experiments.add_routes(tracking)
        runs.add_routes(tracking)
        models.add_routes(tracking)
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
            """MLflow calls runyard does not serve (the model registry, traces, prompts...):
            ENDPOINT_NOT_FOUND, which MLflow's client knows."""
            return mlflow_error_response(
                ENDPOINT_NOT_FOUND,
                f"runyard does not serve MLflow's {rest!r} API (docs/mlflow.md lists what it "
                "serves).",
            )


__all__ = ["install_mlflow"]
