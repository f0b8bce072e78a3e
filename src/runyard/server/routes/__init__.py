"""The API's routes, one module per resource family; each route is one Store verb.

Routes are plain functions (run in the thread pool: the store is synchronous) except uploads,
which stream. They return ``Response`` objects built by ``json`` (the ``wire`` JSON, NaN
allowed), so a route's ``response_model`` only documents the shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from starlette.responses import Response

from runyard.server.errors import ERROR_RESPONSES
from runyard.store import wire

WORKSPACE_PREFIX = wire.API_PREFIX + "/workspaces/{workspace}"

RequestId = Annotated[
    str | None,
    Header(
        alias=wire.REQUEST_ID_HEADER,
        description="Names this write: a request id the store has applied already is ignored, "
        "so a retried request is applied exactly once (1 to 128 characters, new per request).",
    ),
]
"""The request id of a write that is not naturally idempotent, passed on to the store."""


def workspace_router(tag: str) -> APIRouter:
    """A router for the routes of one resource family under ``/api/v1/workspaces/{workspace}``."""
    return APIRouter(prefix=WORKSPACE_PREFIX, tags=[tag], responses=ERROR_RESPONSES)


def json(content: Any, status: int = 200) -> Response:
    return Response(wire.dumps(content), status, media_type=wire.JSON_TYPE)


def no_content() -> Response:
    return Response(status_code=204)
