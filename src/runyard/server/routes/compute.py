"""Attached compute targets (Azure ML's ``ComputeTarget.attach``, ``ws.compute_targets``,
``detach``)."""

from __future__ import annotations

from starlette.responses import Response

from runyard.entities import ComputeTargetInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import json, workspace_router
from runyard.store import wire

router = workspace_router("compute")


@router.post("/compute", response_model=ComputeTargetInfo)
def attach_compute(body: schemas.ComputeTargetBody, access: Writer) -> Response:
    """`Store.attach_compute`: attach a named target (the same one again attaches nothing)."""
    info = access.store.attach_compute(body.name, body.kind, body.config)
    return json(wire.to_json(info))


@router.get("/compute", response_model=schemas.ComputeTargetListBody)
def list_compute(access: Reader) -> Response:
    """`Store.list_compute`: the attached targets, by name (``local`` is not stored)."""
    return json({"targets": [wire.to_json(t) for t in access.store.list_compute()]})


@router.get("/compute/{name}", response_model=ComputeTargetInfo)
def get_compute(name: str, access: Reader) -> Response:
    """`Store.get_compute`."""
    return json(wire.to_json(access.store.get_compute(name)))


@router.delete("/compute/{name}", status_code=204)
def detach_compute(name: str, access: Writer) -> Response:
    """`Store.detach_compute`."""
    access.store.detach_compute(name)
    return Response(status_code=204)
