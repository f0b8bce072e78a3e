"""Every failure as one JSON shape: ``{"error": {"code", "message"}}`` with the right status.

The table is the error tree itself: each ``RunyardError`` class carries its ``http_status`` and
``code`` (``runyard.errors``; 401 and 403 are ``AuthenticationError`` and
``PermissionDeniedError``), and the client maps the code back to the same class. Failures of the
HTTP layer get the same shape: a malformed request (400, ``InvalidArgument``), an unknown route
(404, ``NotFound``), a body too large (413, ``PayloadTooLarge``) or that stopped arriving (408,
``RequestTimeout``; the connection is closed), and anything unexpected (500, ``InternalError``;
the traceback goes to the server's log, not to the client).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

from runyard.errors import (
    AuthenticationError,
    InvalidArgumentError,
    PayloadTooLargeError,
    RequestTimeoutError,
    RunyardError,
)
from runyard.server.mlflow.errors import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    is_mlflow_path,
    mlflow_error_response,
    runyard_error_response,
)
from runyard.store import wire


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "The call was wrong (UserError and its subclasses); nothing was written."),
        (401, "No token, or an invalid or revoked one."),
        (403, "The token has no access to this workspace, or its role is too low."),
        (404, "The workspace, experiment, run, artifact or snapshot does not exist."),
        (408, "The request body stopped arriving; nothing was stored. Send it again."),
        (409, "A property, artifact path or run status conflicts with what is stored."),
        (413, "The request body is larger than the server takes (see docs/server.md)."),
        (503, "The store could not be reached or written, or too many uploads; retry."),
    ]
}
"""Documents the error shape of every route in the OpenAPI document."""


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message}}
    return Response(wire.dumps(body), status, headers, media_type=wire.JSON_TYPE)


async def _runyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RunyardError)
    if is_mlflow_path(request.url.path):
        return runyard_error_response(exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return Response(wire.dumps(exc.to_dict()), exc.http_status, headers, media_type=wire.JSON_TYPE)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    if is_mlflow_path(request.url.path):
        return mlflow_error_response(INVALID_PARAMETER_VALUE, f"Invalid request: {problems}.")
    return error_response(400, InvalidArgumentError.code, f"Invalid request: {problems}.")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if is_mlflow_path(request.url.path):
        mlflow_code = ENDPOINT_NOT_FOUND if exc.status_code in (404, 405) else BAD_REQUEST
        return mlflow_error_response(
            mlflow_code, str(exc.detail), exc.status_code, dict(exc.headers or {})
        )
    codes = {
        404: "NotFound",
        405: "MethodNotAllowed",
        408: RequestTimeoutError.code,
        413: PayloadTooLargeError.code,
    }
    code = codes.get(exc.status_code, "HttpError")
    message = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = "No such route. The API is under /api/v1."
    elif exc.status_code == 408:
        headers["Connection"] = "close"  # the client stalled: do not wait for the rest
    return error_response(exc.status_code, code, message, headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises the exception after this response, so uvicorn logs the traceback.
    if is_mlflow_path(request.url.path):
        return mlflow_error_response(
            INTERNAL_ERROR,
            f"The server failed unexpectedly ({type(exc).__name__}); see its log.",
            500,
        )
    return error_response(
        500, "InternalError", f"The server failed unexpectedly ({type(exc).__name__}); see its log."
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RunyardError, _runyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
