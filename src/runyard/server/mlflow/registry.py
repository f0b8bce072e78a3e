"""MLflow's model registry (``registered-models/*``, ``model-versions/*``) on runyard's model
registry: what ``mlflow.register_model``, ``log_model(registered_model_name=...)``, the
``MlflowClient`` registry calls and ``load_model("models:/name/1")`` call.

A registered model is a runyard model name, a model version a runyard version (its files
copied into blobs when registered: ``versions.new_version``), so ``Model.list`` shows what
MLflow registers and MLflow what the runyard SDK registers. A version's files are downloaded
through the artifact proxy (``artifacts.version_uri``). Names follow Azure's rule (runyard's);
a name is never renamed (versions' ids are ``name:version``); stages are answered "None".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.entities import ModelVersionInfo, ModelVersionQuery, RegisteredModelUpdate
from runyard.errors import InvalidArgumentError, RegisteredModelNotFoundError
from runyard.server.mlflow import bodies
from runyard.server.mlflow.access import Call, Reader, Writer
from runyard.server.mlflow.artifacts import version_uri
from runyard.server.mlflow.search import offset_token, token_offset
from runyard.server.mlflow.versions import (
    STAGE,
    aliases_of,
    by_alias,
    model_filter,
    new_version,
    registered_json,
    sort,
    version_filter,
    version_json,
    version_number,
)
from runyard.server.routes import json
from runyard.store import Store

MODELS = "/registered-models"
VERSIONS = "/model-versions"
MAX_MODEL_RESULTS = 1_000
MAX_VERSION_RESULTS = 200_000


def _fields(request: Request, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A DELETE's fields: MLflow's client sends them as JSON, others in the query string."""
    return {**request.query_params, **payload}


def _latest(store: Store, name: str) -> ModelVersionInfo | None:
    try:
        return store.get_model_version(name)
    except RegisteredModelNotFoundError:
        return None  # a name without versions


def _registered(call: Call, name: str) -> dict[str, Any]:
    model = call.store.get_registered_model(name)
    return {"registered_model": registered_json(model, call.workspace, _latest(call.store, name))}


def _version(call: Call, version: ModelVersionInfo) -> dict[str, Any]:
    model = call.store.get_registered_model(version.name)
    return {
        "model_version": version_json(version, call.workspace, aliases_of(model, version.version))
    }


def _change(call: Call, fields: Mapping[str, Any], change: RegisteredModelUpdate) -> Response:
    """Apply ``change`` to the name the request's ``name`` field gives."""
    call.store.update_registered_model(bodies.text(fields, "name"), change)
    return json({})


def _drop(call: Call, fields: Mapping[str, Any], field: str) -> Response:
    """Drop the tag (``field`` "key") or the alias (``"alias"``) a DELETE names."""
    item = [bodies.text(fields, field)]
    if field == "key":
        return _change(call, fields, RegisteredModelUpdate(remove_tags=item))
    return _change(call, fields, RegisteredModelUpdate(remove_aliases=item))


def _page(
    found: list[Any], fields: Mapping[str, Any], default: int, limit: int
) -> tuple[list[Any], str | None]:
    size = bodies.integer(fields, "max_results", default)
    if not 1 <= size <= limit:
        raise InvalidArgumentError(f"max_results must be between 1 and {limit}, got {size}.")
    offset = token_offset(bodies.optional_text(fields, "page_token"))
    more = offset_token(offset + size) if offset + size < len(found) else None
    return found[offset : offset + size], more


def add_routes(router: APIRouter) -> None:
    _model_routes(router)
    _alias_routes(router)
    _version_routes(router)


def _model_routes(router: APIRouter) -> None:
    @router.post(MODELS + "/create")
    def create_registered_model(payload: bodies.Payload, call: Writer) -> Response:
        """A name without versions (RESOURCE_ALREADY_EXISTS if it exists)."""
        model = call.store.create_registered_model(
            bodies.text(payload, "name"),
            bodies.optional_text(payload, "description"),
            dict(bodies.key_values(payload, "tags")),
        )
        return json({"registered_model": registered_json(model, call.workspace, None)})

    @router.get(MODELS + "/get")
    def get_registered_model(request: Request, call: Reader) -> Response:
        return json(_registered(call, bodies.text(request.query_params, "name")))

    @router.patch(MODELS + "/update")
    def update_registered_model(payload: bodies.Payload, call: Writer) -> Response:
        name = bodies.text(payload, "name")
        if "description" in payload:
            change = RegisteredModelUpdate(description=bodies.value_of(payload, "description"))
            call.store.update_registered_model(name, change)
        return json(_registered(call, name))

    @router.post(MODELS + "/rename")
    def rename_registered_model(payload: bodies.Payload, call: Writer) -> Response:
        """Refused: a version's id is ``name:version`` (Azure's model id), named elsewhere."""
        name = bodies.text(payload, "name")
        call.store.get_registered_model(name)
        raise InvalidArgumentError(
            f"runyard does not rename registered models: the ids of {name!r}'s versions "
            f"({name}:1...) are Azure ML model ids that runs and deployments refer to. Register "
            f"its versions under the new name (create_model_version(new_name, "
            f"source='models:/{name}/<version>')), then delete {name!r}."
        )

    @router.delete(MODELS + "/delete")
    def delete_registered_model(
        request: Request, payload: bodies.Payload, call: Writer
    ) -> Response:
        call.store.delete_registered_model(bodies.text(_fields(request, payload), "name"))
        return json({})

    @router.get(MODELS + "/search")
    def search_registered_models(request: Request, call: Reader) -> Response:
        test = model_filter(bodies.optional_text(request.query_params, "filter"))
        found = [m for m in call.store.list_registered_models() if test(m)]
        sort(found, request.query_params.getlist("order_by"), ["name ASC"], versions=False)
        page, token = _page(found, request.query_params, 100, MAX_MODEL_RESULTS)
        models = [registered_json(m, call.workspace, _latest(call.store, m.name)) for m in page]
        body: dict[str, Any] = {"registered_models": models}
        if token is not None:
            body["next_page_token"] = token
        return json(body)

    @router.api_route(MODELS + "/get-latest-versions", methods=["GET", "POST"])
    def get_latest_versions(request: Request, payload: bodies.Payload, call: Reader) -> Response:
        """Every version is in stage "None": the latest version, unless only other stages
        are asked for."""
        fields = {**request.query_params, **payload}
        stages = {s.lower() for s in bodies.strings(fields, "stages")}
        name = bodies.text(fields, "name")
        model = call.store.get_registered_model(name)
        latest = _latest(call.store, name)
        found = []
        if latest is not None and (not stages or STAGE.lower() in stages):
            found = [version_json(latest, call.workspace, aliases_of(model, latest.version))]
        return json({"model_versions": found})

    @router.post(MODELS + "/set-tag")
    def set_registered_model_tag(payload: bodies.Payload, call: Writer) -> Response:
        tags = {bodies.text(payload, "key"): bodies.value_of(payload, "value")}
        return _change(call, payload, RegisteredModelUpdate(tags=tags))

    @router.delete(MODELS + "/delete-tag")
    def delete_registered_model_tag(
        request: Request, payload: bodies.Payload, call: Writer
    ) -> Response:
        return _drop(call, _fields(request, payload), "key")


def _alias_routes(router: APIRouter) -> None:
    @router.post(MODELS + "/alias")
    def set_registered_model_alias(payload: bodies.Payload, call: Writer) -> Response:
        """The alias names the version (moved from another one)."""
        aliases = {bodies.text(payload, "alias"): version_number(payload)}
        return _change(call, payload, RegisteredModelUpdate(aliases=aliases))

    @router.delete(MODELS + "/alias")
    def delete_registered_model_alias(
        request: Request, payload: bodies.Payload, call: Writer
    ) -> Response:
        return _drop(call, _fields(request, payload), "alias")

    @router.get(MODELS + "/alias")
    def get_model_version_by_alias(request: Request, call: Reader) -> Response:
        fields = request.query_params
        found = by_alias(call.store, bodies.text(fields, "name"), bodies.text(fields, "alias"))
        return json(_version(call, found))


def _version_routes(router: APIRouter) -> None:
    @router.post(VERSIONS + "/create")
    def create_model_version(payload: bodies.Payload, call: Writer) -> Response:
        """The next version of the name, its files copied from ``source``."""
        model = new_version(call.store, call.workspace, bodies.text(payload, "name"), payload)
        return json(_version(call, call.store.create_model_version(model)))

    @router.get(VERSIONS + "/get")
    def get_model_version(request: Request, call: Reader) -> Response:
        fields = request.query_params
        found = call.store.get_model_version(bodies.text(fields, "name"), version_number(fields))
        return json(_version(call, found))

    @router.patch(VERSIONS + "/update")
    def update_model_version(payload: bodies.Payload, call: Writer) -> Response:
        name, number = bodies.text(payload, "name"), version_number(payload)
        if "description" in payload:
            description = bodies.value_of(payload, "description")
            found = call.store.set_model_version_description(name, number, description)
        else:
            found = call.store.get_model_version(name, number)
        return json(_version(call, found))

    @router.post(VERSIONS + "/transition-stage")
    def transition_model_version_stage(payload: bodies.Payload, call: Writer) -> Response:
        call.store.get_model_version(bodies.text(payload, "name"), version_number(payload))
        raise InvalidArgumentError(
            "runyard keeps no model stages (MLflow 3 deprecates them; every version is in "
            "stage 'None'): point an alias at the version instead "
            "(set_registered_model_alias(name, 'production', version))."
        )

    @router.delete(VERSIONS + "/delete")
    def delete_model_version(request: Request, payload: bodies.Payload, call: Writer) -> Response:
        fields = _fields(request, payload)
        call.store.delete_model_version(bodies.text(fields, "name"), version_number(fields))
        return json({})

    @router.get(VERSIONS + "/search")
    def search_model_versions(request: Request, call: Reader) -> Response:
        fields = request.query_params
        test, exact = version_filter(bodies.optional_text(fields, "filter"))
        query = ModelVersionQuery(name=exact.get("name"), run_id=exact.get("run_id"))
        found = [v for v in call.store.search_model_versions(query) if test(v)]
        default = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
        sort(found, fields.getlist("order_by"), default, versions=True)
        page, token = _page(found, fields, 10_000, MAX_VERSION_RESULTS)
        aliases = {m.name: m for m in call.store.list_registered_models()} if page else {}
        versions = [
            version_json(v, call.workspace, aliases_of(aliases[v.name], v.version))
            if v.name in aliases
            else version_json(v, call.workspace)
            for v in page
        ]
        body: dict[str, Any] = {"model_versions": versions}
        if token is not None:
            body["next_page_token"] = token
        return json(body)

    @router.get(VERSIONS + "/get-download-uri")
    def get_model_version_download_uri(request: Request, call: Reader) -> Response:
        """The version's files through the artifact proxy (``artifacts.version_uri``)."""
        name, number = (
            bodies.text(request.query_params, "name"),
            version_number(request.query_params),
        )
        call.store.get_model_version(name, number)
        return json({"artifact_uri": version_uri(call.workspace, name, number)})

    @router.post(VERSIONS + "/set-tag")
    def set_model_version_tag(payload: bodies.Payload, call: Writer) -> Response:
        tags = {bodies.text(payload, "key"): bodies.value_of(payload, "value")}
        call.store.set_model_version_tags(
            bodies.text(payload, "name"), version_number(payload), tags
        )
        return json({})

    @router.delete(VERSIONS + "/delete-tag")
    def delete_model_version_tag(
        request: Request, payload: bodies.Payload, call: Writer
    ) -> Response:
        fields = _fields(request, payload)
        call.store.set_model_version_tags(
            bodies.text(fields, "name"), version_number(fields), {}, [bodies.text(fields, "key")]
        )
        return json({})


__all__ = ["add_routes"]
