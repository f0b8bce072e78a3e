"""MLflow's experiment routes: create, get, get-by-name, search, update (rename), delete and
restore (runyard's archive), experiment tags.

Every workspace has MLflow's ``Default`` experiment, id ``"0"``: made on first use by any of
these routes (or a run created in experiment "0").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.entities import ExperimentInfo, ViewType
from runyard.errors import ExperimentExistsError, ExperimentNotFoundError, InvalidArgumentError
from runyard.server.mlflow import bodies
from runyard.server.mlflow.access import Reader, Writer
from runyard.server.mlflow.convert import experiment_json
from runyard.server.mlflow.search import (
    EXPERIMENT_VIEWS,
    experiment_filter,
    offset_token,
    sort_experiments,
    token_offset,
    view_type,
)
from runyard.server.routes import json
from runyard.store import Store

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"
MAX_EXPERIMENTS_PAGE = 50_000
"""MLflow's own limit on search_experiments' max_results."""


def default_experiment(store: Store) -> ExperimentInfo:
    """The workspace's ``Default`` experiment (id "0"), made when missing (safe when two
    callers race). A workspace that had a runyard experiment named ``Default`` before its first
    MLflow call keeps it as its default."""
    try:
        return store.get_experiment_by_id(DEFAULT_ID)
    except ExperimentNotFoundError:
        pass
    try:
        return store.create_experiment(DEFAULT_NAME, experiment_id=DEFAULT_ID)
    except ExperimentExistsError:
        try:
            return store.get_experiment_by_id(DEFAULT_ID)
        except ExperimentNotFoundError:
            return store.get_experiment(DEFAULT_NAME)


def experiment_by_id(store: Store, experiment_id: str) -> ExperimentInfo:
    """Raises ExperimentNotFoundError (404, RESOURCE_DOES_NOT_EXIST)."""
    if experiment_id == DEFAULT_ID:
        return default_experiment(store)
    return store.get_experiment_by_id(experiment_id)


def add_routes(router: APIRouter) -> None:
    @router.post("/experiments/create")
    def create_experiment(payload: bodies.Payload, call: Writer) -> Response:
        """A new experiment (RESOURCE_ALREADY_EXISTS when the name is taken, deleted ones
        included). ``artifact_location`` is not taken: artifacts go where the workspace keeps
        them."""
        name = bodies.text(payload, "name")
        if name == DEFAULT_NAME:
            default_experiment(call.store)  # "Default" is taken by the default experiment
        tags = dict(bodies.key_values(payload, "tags"))
        created = call.store.create_experiment(name, tags=tags or None)
        return json({"experiment_id": created.experiment_id})

    @router.get("/experiments/get")
    def get_experiment(request: Request, call: Reader) -> Response:
        found = experiment_by_id(call.store, bodies.text(request.query_params, "experiment_id"))
        return json({"experiment": experiment_json(found, call.workspace)})

    @router.get("/experiments/get-by-name")
    def get_experiment_by_name(request: Request, call: Reader) -> Response:
        name = bodies.text(request.query_params, "experiment_name")
        if name == DEFAULT_NAME:
            default_experiment(call.store)
        found = call.store.get_experiment(name)
        return json({"experiment": experiment_json(found, call.workspace)})

    @router.post("/experiments/search")
    def search_experiments(payload: bodies.Payload, call: Reader) -> Response:
        return _search(call.store, call.workspace, payload)

    @router.get("/experiments/search")
    def search_experiments_get(request: Request, call: Reader) -> Response:
        fields: dict[str, object] = dict(request.query_params)
        fields["order_by"] = request.query_params.getlist("order_by")
        return _search(call.store, call.workspace, fields)

    @router.post("/experiments/update")
    def update_experiment(payload: bodies.Payload, call: Writer) -> Response:
        """Rename (``new_name``); the experiment keeps its id and runs."""
        found = experiment_by_id(call.store, bodies.text(payload, "experiment_id"))
        new_name = bodies.optional_text(payload, "new_name")
        if new_name is not None and new_name != found.name:
            call.store.rename_experiment(found.name, new_name)
        return json({})

    @router.post("/experiments/delete")
    def delete_experiment(payload: bodies.Payload, call: Writer) -> Response:
        """runyard archives it: hidden from active listings, restorable, runs kept."""
        found = experiment_by_id(call.store, bodies.text(payload, "experiment_id"))
        call.store.set_experiment_archived(found.name, True)
        return json({})

    @router.post("/experiments/restore")
    def restore_experiment(payload: bodies.Payload, call: Writer) -> Response:
        found = experiment_by_id(call.store, bodies.text(payload, "experiment_id"))
        call.store.set_experiment_archived(found.name, False)
        return json({})

    @router.post("/experiments/set-experiment-tag")
    def set_experiment_tag(payload: bodies.Payload, call: Writer) -> Response:
        found = experiment_by_id(call.store, bodies.text(payload, "experiment_id"))
        key = bodies.text(payload, "key")
        call.store.set_experiment_tags(found.name, {key: bodies.value_of(payload, "value")})
        return json({})

    @router.post("/experiments/delete-experiment-tag")
    def delete_experiment_tag(payload: bodies.Payload, call: Writer) -> Response:
        found = experiment_by_id(call.store, bodies.text(payload, "experiment_id"))
        key = bodies.text(payload, "key")
        if key not in found.tags:
            raise ExperimentNotFoundError(
                f"Experiment {found.experiment_id!r} ({found.name}) has no tag {key!r}."
            )
        call.store.set_experiment_tags(found.name, {}, remove=[key])
        return json({})


def _search(store: Store, workspace: str, fields: Mapping[str, Any]) -> Response:
    view = EXPERIMENT_VIEWS[view_type(fields.get("view_type"), "view_type")]
    test = experiment_filter(bodies.optional_text(fields, "filter"))
    limit = bodies.integer(fields, "max_results", 1000)
    if not 1 <= limit <= MAX_EXPERIMENTS_PAGE:
        raise InvalidArgumentError(
            f"max_results must be between 1 and {MAX_EXPERIMENTS_PAGE}, got {limit}."
        )
    offset = token_offset(bodies.optional_text(fields, "page_token"))
    if view is not ViewType.ARCHIVED_ONLY:
        default_experiment(store)
    found = [e for e in store.list_experiments(view) if test(e)]
    sort_experiments(found, bodies.strings(fields, "order_by"))
    page = found[offset : offset + limit]
    body: dict[str, object] = {"experiments": [experiment_json(e, workspace) for e in page]}
    if offset + limit < len(found):
        body["next_page_token"] = offset_token(offset + limit)
    return json(body)
