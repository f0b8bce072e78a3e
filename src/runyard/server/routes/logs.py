"""Run logs (a script's output): appended by the supervisor, read by offset."""

from __future__ import annotations

import functools
from typing import Annotated

import anyio.to_thread
from fastapi import Query, Request
from starlette.responses import Response

from runyard.limits import INT64_MAX
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("logs")

LogName = Annotated[str, Query(description="the log's name, e.g. user_logs/std_log.txt")]
LogOffset = Annotated[int, Query(ge=0, le=INT64_MAX, description="the first byte to read")]


@router.post("/runs/{run_id}/logs/content", status_code=204)
async def append_log(
    run_id: str, name: LogName, request: Request, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.append_log`: the body's bytes are appended to the log ``name`` (once per request
    id)."""
    data = await request.body()  # a few lines of output: small, read after the access check
    append = functools.partial(access.store.append_log, request_id=request_id)
    await anyio.to_thread.run_sync(append, run_id, name, data)
    return no_content()


@router.get(
    "/runs/{run_id}/logs/content",
    response_class=Response,
    responses={200: {"content": {wire.BINARY_TYPE: {}}}},
)
def read_log(run_id: str, name: LogName, access: Reader, offset: LogOffset = 0) -> Response:
    """`Store.read_log`: the log's bytes from ``offset`` on (empty when there are none)."""
    data = access.store.read_log(run_id, name, offset)
    return Response(data, media_type=wire.BINARY_TYPE)


@router.get("/runs/{run_id}/logs", response_model=schemas.LogList)
def list_logs(run_id: str, access: Reader) -> Response:
    """`Store.list_logs`: name to size in bytes."""
    return json({"logs": access.store.list_logs(run_id)})
