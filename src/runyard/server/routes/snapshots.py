"""Snapshots: content-addressed blobs (streamed) and the manifests that name them."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response, StreamingResponse

from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import json, no_content, workspace_router
from runyard.server.routes.artifacts import BINARY_BODY
from runyard.server.streams import ClientDisconnect, iter_file, upload_slots
from runyard.store import wire

router = workspace_router("snapshots")


@router.post("/blobs/missing", response_model=schemas.MissingBody)
def missing_blobs(body: schemas.DigestsBody, access: Reader) -> Response:
    """`Store.missing_blobs`: which of these sha256 digests the store does not hold yet."""
    return json({"missing": sorted(access.store.missing_blobs(body.digests))})


@router.put("/blobs/{digest}", status_code=204, openapi_extra=BINARY_BODY)
async def put_blob(digest: str, request: Request, access: Writer) -> Response:
    """`Store.put_blob`: the request body, streamed; it must hash to ``digest`` (400 if not)."""
    try:
        await upload_slots(request).store_upload(
            request, lambda source: access.store.put_blob(digest, source)
        )
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to read it; nothing was stored
    return no_content()


@router.get(
    "/blobs/{digest}",
    response_class=StreamingResponse,
    responses={200: {"content": {wire.BINARY_TYPE: {}}}},
)
def open_blob(digest: str, access: Reader) -> Response:
    """`Store.open_blob`: the blob's bytes, streamed."""
    return StreamingResponse(iter_file(access.store.open_blob(digest)), media_type=wire.BINARY_TYPE)


@router.post("/snapshots", status_code=204)
def create_snapshot(body: schemas.SnapshotBody, access: Writer) -> Response:
    """`Store.create_snapshot`: record a manifest; every blob it names must be stored."""
    access.store.create_snapshot(body.snapshot_id, body.files)
    return no_content()


@router.get("/snapshots/{snapshot_id}", response_model=schemas.SnapshotFiles)
def get_snapshot(snapshot_id: str, access: Reader) -> Response:
    """`Store.get_snapshot`: the manifest, sorted by path."""
    return json({"files": [wire.to_json(f) for f in access.store.get_snapshot(snapshot_id)]})
