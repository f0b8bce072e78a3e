"""Artifacts: streamed uploads (write-once paths), listings, streamed downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response, StreamingResponse

from runyard.entities import ArtifactInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import json, workspace_router
from runyard.server.streams import ClientDisconnect, iter_file, upload_slots
from runyard.store import wire

router = workspace_router("artifacts")

ArtifactPath = Annotated[str, Query(description="the artifact's path in the run, e.g. outputs/x")]
BINARY_BODY = {
    "requestBody": {"required": True, "content": {wire.BINARY_TYPE: {"schema": {}}}},
}


@router.post(
    "/runs/{run_id}/artifacts/content",
    response_model=ArtifactInfo,
    openapi_extra=BINARY_BODY,
)
async def put_artifact(
    run_id: str, path: ArtifactPath, request: Request, access: Writer
) -> Response:
    """`Store.put_artifact`: the request body, streamed to the artifact store. Paths are
    written once (409 when taken)."""
    try:
        info = await upload_slots(request).store_upload(
            request, lambda source: access.store.put_artifact(run_id, path, source)
        )
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to read it; nothing was stored
    return json(wire.to_json(info))


@router.get("/runs/{run_id}/artifacts", response_model=schemas.ArtifactList)
def list_artifacts(
    run_id: str, access: Reader, prefix: Annotated[str | None, Query()] = None
) -> Response:
    """`Store.list_artifacts`: sorted by path (those under ``prefix``, when given)."""
    found = access.store.list_artifacts(run_id, prefix)
    return json({"artifacts": [wire.to_json(a) for a in found]})


@router.get(
    "/runs/{run_id}/artifacts/content",
    response_class=StreamingResponse,
    responses={200: {"content": {wire.BINARY_TYPE: {}}}},
)
def open_artifact(run_id: str, path: ArtifactPath, access: Reader) -> Response:
    """`Store.open_artifact`: the artifact's bytes, streamed."""
    stream = access.store.open_artifact(run_id, path)
    return StreamingResponse(iter_file(stream), media_type=wire.BINARY_TYPE)
