"""Runs: create, get, update, status, reopen, tags, properties, search, count, delete and
restore."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from starlette.responses import Response

from runyard.entities import RunInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("runs")


@router.post("/runs", response_model=schemas.RunList)
def create_runs(
    body: schemas.CreateRunsBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.create_runs`: every run in one transaction, returned in the same order. Sent again
    with the same request id, it creates nothing and returns the runs it created."""
    created = access.store.create_runs(body.runs, request_id=request_id)
    return json({"runs": [wire.to_json(r) for r in created]})


@router.post("/runs/search", response_model=schemas.RunPageBody)
def search_runs(query: schemas.StrictRunQuery, access: Reader) -> Response:
    """`Store.search_runs`: one page, newest first; pass ``next_page_token`` back as
    ``page_token``."""
    return json(wire.page_to_json(access.store.search_runs(query)))


@router.post("/runs/count", response_model=schemas.CountBody)
def count_runs(query: schemas.StrictRunQuery, access: Reader) -> Response:
    """`Store.count_runs`."""
    return json({"count": access.store.count_runs(query)})


@router.get("/runs/{run_id}", response_model=RunInfo)
def get_run(run_id: str, access: Reader) -> Response:
    """`Store.get_run`."""
    return json(wire.to_json(access.store.get_run(run_id)))


@router.patch("/runs/{run_id}", response_model=RunInfo)
def update_run(run_id: str, body: schemas.UpdateRunBody, access: Writer) -> Response:
    """`Store.update_run`: the fields present in the body change (null clears one)."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return json(wire.to_json(access.store.update_run(run_id, **changes)))


@router.put("/runs/{run_id}/status", response_model=RunInfo)
def set_run_status(run_id: str, body: schemas.StatusBody, access: Writer) -> Response:
    """`Store.set_run_status`: terminal statuses are final; returns the run as it now is."""
    return json(wire.to_json(access.store.set_run_status(run_id, body.status, body.error)))


@router.post("/runs/{run_id}/reopen", response_model=RunInfo)
def reopen_run(run_id: str, access: Writer) -> Response:
    """`Store.reopen_run` (for MLflow's ``start_run(run_id=...)``): an ended run is Running
    again; a Running one is returned unchanged; any other status is refused (409 `RunState`)."""
    return json(wire.to_json(access.store.reopen_run(run_id)))


@router.patch("/runs/{run_id}/tags", status_code=204)
def set_tags(run_id: str, body: schemas.TagsBody, access: Writer) -> Response:
    """`Store.set_tags`: merge the tags (null: a value-less tag)."""
    access.store.set_tags(run_id, body.tags)
    return no_content()


@router.delete("/runs/{run_id}/tags", status_code=204)
def remove_tags(
    run_id: str, access: Writer, key: Annotated[list[str] | None, Query()] = None
) -> Response:
    """`Store.remove_tags`: drop the tags named by the ``key`` parameters (missing: ignored)."""
    access.store.remove_tags(run_id, key or [])
    return no_content()


@router.patch("/runs/{run_id}/properties", status_code=204)
def add_properties(run_id: str, body: schemas.PropertiesBody, access: Writer) -> Response:
    """`Store.add_properties`: properties are immutable once set (409 on another value)."""
    access.store.add_properties(run_id, body.properties)
    return no_content()


@router.put("/runs/{run_id}/deleted", response_model=RunInfo)
def set_run_deleted(run_id: str, body: schemas.DeletedBody, access: Writer) -> Response:
    """`Store.set_run_deleted`: delete the run (``true``: hidden from searches unless they ask
    for deleted runs, nothing of it removed) or restore it (``false``); returns the run."""
    return json(wire.to_json(access.store.set_run_deleted(run_id, body.deleted)))
