"""Registered environments (Azure ML's ``Environment.register``, ``get``, ``list``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from runyard.entities import EnvironmentInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import json, workspace_router
from runyard.store import wire

router = workspace_router("environments")


@router.post("/environments", response_model=EnvironmentInfo)
def register_environment(body: schemas.EnvironmentBody, access: Writer) -> Response:
    """`Store.register_environment`: the next version of the name (the latest again when its
    definition is the same)."""
    info = access.store.register_environment(body.name, body.definition)
    return json(wire.to_json(info))


@router.get("/environments", response_model=schemas.EnvironmentListBody)
def list_environments(
    access: Reader, name: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    """`Store.list_environments`: the latest version of each name, or every version of
    ``name``, newest first."""
    found = access.store.list_environments(name)
    return json({"environments": [wire.to_json(e) for e in found]})


@router.get("/environments/{name}", response_model=EnvironmentInfo)
def get_environment(
    name: str, access: Reader, version: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    """`Store.get_environment`: the latest version, or ``version``."""
    return json(wire.to_json(access.store.get_environment(name, version)))
