"""Experiments: get-or-create, get, list, archive, tags; by id, create, rename."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from runyard.entities import ExperimentInfo, ViewType
from runyard.errors import ExperimentNotFoundError, PermissionDeniedError
from runyard.limits import check_experiment_name
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.control import Role
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("experiments")


@router.post("/experiments", response_model=ExperimentInfo)
def get_or_create_experiment(body: schemas.NameBody, access: Reader) -> Response:
    """`Store.get_or_create_experiment`. A reader gets an existing experiment; creating one
    needs a writer."""
    if access.role.rank >= Role.WRITER.rank:
        return json(wire.to_json(access.store.get_or_create_experiment(body.name)))
    check_experiment_name(body.name)
    try:
        return json(wire.to_json(access.store.get_experiment(body.name)))
    except ExperimentNotFoundError:
        raise PermissionDeniedError(
            f"Experiment {body.name!r} does not exist, and creating it needs a writer of "
            f"workspace {access.workspace!r}; the {access.caller.label} is a reader."
        ) from None


@router.get("/experiments/{name}", response_model=ExperimentInfo)
def get_experiment(name: str, access: Reader) -> Response:
    """`Store.get_experiment`."""
    return json(wire.to_json(access.store.get_experiment(name)))


@router.get("/experiments", response_model=schemas.ExperimentList)
def list_experiments(
    access: Reader,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    name: Annotated[str | None, Query()] = None,
) -> Response:
    """`Store.list_experiments`."""
    found = access.store.list_experiments(view_type, name)
    return json({"experiments": [wire.to_json(e) for e in found]})


@router.put("/experiments/{name}/archived", response_model=ExperimentInfo)
def set_experiment_archived(name: str, body: schemas.ArchivedBody, access: Writer) -> Response:
    """`Store.set_experiment_archived`."""
    return json(wire.to_json(access.store.set_experiment_archived(name, body.archived)))


@router.patch("/experiments/{name}/tags", response_model=ExperimentInfo)
def set_experiment_tags(name: str, body: schemas.ExperimentTagsBody, access: Writer) -> Response:
    """`Store.set_experiment_tags`: merge ``tags``, then drop the keys in ``remove``."""
    info = access.store.set_experiment_tags(name, body.tags, body.remove)
    return json(wire.to_json(info))


# Experiments by id, created (never got) and renamed: what MLflow's experiment calls need.


@router.get("/experiments/by-id/{experiment_id}", response_model=ExperimentInfo)
def get_experiment_by_id(experiment_id: str, access: Reader) -> Response:
    """`Store.get_experiment_by_id`."""
    return json(wire.to_json(access.store.get_experiment_by_id(experiment_id)))


@router.delete("/experiments/by-id/{experiment_id}", status_code=204)
def delete_experiment(experiment_id: str, access: Writer) -> Response:
    """`Store.delete_experiment`: only an experiment without runs (409 `ExperimentNotEmpty`)."""
    access.store.delete_experiment(experiment_id)
    return no_content()


@router.post("/experiments/new", response_model=ExperimentInfo)
def create_experiment(
    body: schemas.CreateExperimentBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.create_experiment`: never gets an existing one (409 `ExperimentExists`). Sent again
    with the same request id, it creates nothing and returns the experiment it created."""
    info = access.store.create_experiment(
        body.name, experiment_id=body.experiment_id, tags=body.tags, request_id=request_id
    )
    return json(wire.to_json(info))


@router.put("/experiments/{name}/name", response_model=ExperimentInfo)
def rename_experiment(
    name: str, body: schemas.NameBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.rename_experiment` to ``body.name``. Sent again with the same request id, it
    changes nothing and returns the experiment as it is."""
    info = access.store.rename_experiment(name, body.name, request_id=request_id)
    return json(wire.to_json(info))
