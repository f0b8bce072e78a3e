"""Logged models (MLflow 3's) and what runs use and make: datasets and models."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from runyard.entities import LoggedModelInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("logged models")

MODEL = "/logged-models/{model_id}"


@router.post("/logged-models", response_model=LoggedModelInfo)
def create_logged_model(
    body: schemas.NewLoggedModelBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.create_logged_model`: Pending, its files under its run's ``models/<model_id>/``.
    Sent again with the same request id, it creates nothing and returns the model."""
    created = access.store.create_logged_model(body.model, request_id=request_id)
    return json(wire.to_json(created))


@router.post("/logged-models/search", response_model=schemas.LoggedModelPageBody)
def search_logged_models(query: schemas.StrictLoggedModelQuery, access: Reader) -> Response:
    """`Store.search_logged_models`: one page, newest first; pass ``next_page_token`` back as
    ``page_token``."""
    return json(wire.logged_model_page_to_json(access.store.search_logged_models(query)))


@router.get(MODEL, response_model=LoggedModelInfo)
def get_logged_model(model_id: str, access: Reader) -> Response:
    """`Store.get_logged_model` (a deleted model too)."""
    return json(wire.to_json(access.store.get_logged_model(model_id)))


@router.patch(MODEL, response_model=LoggedModelInfo)
def update_logged_model(model_id: str, body: schemas.ModelStatusBody, access: Writer) -> Response:
    """`Store.update_logged_model`: finish the model, ``ready`` or ``failed`` (final)."""
    updated = access.store.update_logged_model(model_id, body.status, body.status_message)
    return json(wire.to_json(updated))


@router.delete(MODEL, response_model=LoggedModelInfo)
def delete_logged_model(model_id: str, access: Writer) -> Response:
    """`Store.delete_logged_model`: a soft delete; the model's files stay with its run."""
    return json(wire.to_json(access.store.delete_logged_model(model_id)))


@router.patch(MODEL + "/tags", status_code=204)
def set_logged_model_tags(model_id: str, body: schemas.ModelTagsBody, access: Writer) -> Response:
    """`Store.set_logged_model_tags`: merge the tags."""
    access.store.set_logged_model_tags(model_id, body.tags)
    return no_content()


@router.delete(MODEL + "/tags", status_code=204)
def delete_logged_model_tag(
    model_id: str, access: Writer, key: Annotated[str, Query()]
) -> Response:
    """`Store.delete_logged_model_tag`: 404 when the model has no such tag."""
    access.store.delete_logged_model_tag(model_id, key)
    return no_content()


@router.patch(MODEL + "/params", status_code=204)
def add_logged_model_params(
    model_id: str, body: schemas.ModelParamsBody, access: Writer
) -> Response:
    """`Store.add_logged_model_params`: immutable once set (409 on another value)."""
    access.store.add_logged_model_params(model_id, body.params)
    return no_content()


@router.post(MODEL + "/metrics", status_code=204)
def add_logged_model_metrics(
    model_id: str, body: schemas.ModelMetricsBody, access: Writer
) -> Response:
    """`Store.add_logged_model_metrics`: a value recorded already is not recorded twice."""
    access.store.add_logged_model_metrics(model_id, body.metrics)
    return no_content()


@router.post("/runs/{run_id}/inputs", status_code=204)
def log_run_inputs(run_id: str, body: schemas.RunInputsBody, access: Writer) -> Response:
    """`Store.log_run_inputs`: datasets (one per name and digest) and models the run used."""
    access.store.log_run_inputs(run_id, body.datasets, body.model_ids)
    return no_content()


@router.post("/runs/{run_id}/outputs", status_code=204)
def log_run_outputs(run_id: str, body: schemas.RunOutputsBody, access: Writer) -> Response:
    """`Store.log_run_outputs`: models the run made, each at its step."""
    access.store.log_run_outputs(run_id, body.outputs)
    return no_content()


@router.post("/runs/io/query", response_model=schemas.RunIOBody)
def get_run_io(body: schemas.RunIdsBody, access: Reader) -> Response:
    """`Store.get_run_io`: what each run used and made, by run id."""
    found = access.store.get_run_io(body.run_ids)
    return json({"runs": {run_id: wire.to_json(io) for run_id, io in found.items()}})
