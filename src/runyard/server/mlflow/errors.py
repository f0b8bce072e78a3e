"""Errors in MLflow's shape: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}``.

The MLflow client reads ``error_code`` (``get_experiment_by_name`` turns a 404
``RESOURCE_DOES_NOT_EXIST`` into None), so every answer under an MLflow route, failures of the
HTTP layer included, has this shape and the status MLflow's server uses for the code. The
message is runyard's own: it says what was wrong and what to do.
"""

from __future__ import annotations

from starlette.responses import Response

from runyard.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RunyardError,
    StoreError,
    UserError,
)
from runyard.store import wire

API_MARKERS = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow")
"""A request whose path holds one of these is an MLflow call and gets MLflow's error shape."""

RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
BAD_REQUEST = "BAD_REQUEST"
UNAUTHENTICATED = "UNAUTHENTICATED"
PERMISSION_DENIED = "PERMISSION_DENIED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"

_STATUS = {
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    UNAUTHENTICATED: 401,
    PERMISSION_DENIED: 403,
    TEMPORARILY_UNAVAILABLE: 503,
    INTERNAL_ERROR: 500,
}

_ALREADY_EXISTS_CODES = frozenset(
    {"ExperimentExists", "ArtifactExists", "LoggedModelExists", "RegisteredModelExists"}
)
"""runyard error codes MLflow calls RESOURCE_ALREADY_EXISTS."""


def is_mlflow_path(path: str) -> bool:
    return any(marker in path for marker in API_MARKERS)


def mlflow_code(exc: RunyardError) -> tuple[str, int]:
    """MLflow's error code for a runyard error, and the HTTP status to answer with.

    A status runyard uses and MLflow has no code for (408, 413) is kept, so the client's retry
    rules see what happened."""
    if isinstance(exc, AuthenticationError):
        return UNAUTHENTICATED, 401
    if isinstance(exc, PermissionDeniedError):
        return PERMISSION_DENIED, 403
    if isinstance(exc, NotFoundError):
        return RESOURCE_DOES_NOT_EXIST, 404
    if exc.code in _ALREADY_EXISTS_CODES:
        return RESOURCE_ALREADY_EXISTS, 400
    if isinstance(exc, UserError):
        return INVALID_PARAMETER_VALUE, exc.http_status if exc.http_status in (408, 413) else 400
    if isinstance(exc, StoreError):
        return TEMPORARILY_UNAVAILABLE, exc.http_status if exc.http_status >= 500 else 503
    return INTERNAL_ERROR, 500


def mlflow_error_response(
    code: str, message: str, status: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error_code": code, "message": message}
    return Response(
        wire.dumps(body), status or _STATUS.get(code, 400), headers, media_type=wire.JSON_TYPE
    )


def runyard_error_response(exc: RunyardError) -> Response:
    code, status = mlflow_code(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return mlflow_error_response(code, exc.message, status, headers)
