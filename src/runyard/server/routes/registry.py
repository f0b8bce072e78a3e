"""Registered models (Azure ML's model registry): versions counted from 1 per name."""

from __future__ import annotations

from starlette.responses import Response

from runyard.entities import ModelVersionInfo, RegisteredModelInfo
from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("registered models")

VERSION = "/registered-models/{name}/versions/{version}"


@router.post("/registered-models/versions", response_model=ModelVersionInfo)
def create_model_version(
    body: schemas.NewModelVersionBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.create_model_version`: the next version of the name, its files copied from blobs
    or from its run's artifacts. Sent again with the same request id, it registers nothing and
    returns the version."""
    created = access.store.create_model_version(body.model, request_id=request_id)
    return json(wire.to_json(created))


@router.post("/registered-models/versions/search", response_model=schemas.ModelVersionList)
def search_model_versions(query: schemas.StrictModelVersionQuery, access: Reader) -> Response:
    """`Store.search_model_versions`: by name, then newest version first."""
    found = access.store.search_model_versions(query)
    return json({"versions": [wire.to_json(v) for v in found]})


@router.get("/registered-models/{name}/latest", response_model=ModelVersionInfo)
def get_latest_model_version(name: str, access: Reader) -> Response:
    """`Store.get_model_version` without a version: the latest one."""
    return json(wire.to_json(access.store.get_model_version(name)))


@router.get(VERSION, response_model=ModelVersionInfo)
def get_model_version(name: str, version: int, access: Reader) -> Response:
    """`Store.get_model_version`."""
    return json(wire.to_json(access.store.get_model_version(name, version)))


@router.patch(VERSION + "/tags", response_model=ModelVersionInfo)
def set_model_version_tags(
    name: str, version: int, body: schemas.ModelVersionTagsBody, access: Writer
) -> Response:
    """`Store.set_model_version_tags`: merge ``tags``, then drop the keys in ``remove``."""
    updated = access.store.set_model_version_tags(name, version, body.tags, body.remove)
    return json(wire.to_json(updated))


@router.patch(VERSION + "/properties", response_model=ModelVersionInfo)
def add_model_version_properties(
    name: str, version: int, body: schemas.ModelVersionPropertiesBody, access: Writer
) -> Response:
    """`Store.add_model_version_properties`: immutable once set (409 on another value)."""
    updated = access.store.add_model_version_properties(name, version, body.properties)
    return json(wire.to_json(updated))


@router.delete(VERSION, status_code=204)
def delete_model_version(name: str, version: int, access: Writer) -> Response:
    """`Store.delete_model_version`: the version and its file list (blobs stay)."""
    access.store.delete_model_version(name, version)
    return no_content()


@router.patch(VERSION + "/description", response_model=ModelVersionInfo)
def set_model_version_description(
    name: str, version: int, body: schemas.ModelVersionDescriptionBody, access: Writer
) -> Response:
    """`Store.set_model_version_description`: null or "" clears it."""
    updated = access.store.set_model_version_description(name, version, body.description)
    return json(wire.to_json(updated))


# -- model names (MLflow's registered models) ----------------------------------------------------

NAME = "/model-names/{name}"


@router.post("/model-names", response_model=RegisteredModelInfo)
def create_registered_model(body: schemas.NewRegisteredModelBody, access: Writer) -> Response:
    """`Store.create_registered_model`: a model name with no version yet (409 if it exists)."""
    created = access.store.create_registered_model(body.name, body.description, body.tags)
    return json(wire.to_json(created))


@router.get("/model-names", response_model=schemas.RegisteredModelList)
def list_registered_models(access: Reader) -> Response:
    """`Store.list_registered_models`: every model name, by name."""
    found = access.store.list_registered_models()
    return json({"models": [wire.to_json(m) for m in found]})


@router.get(NAME, response_model=RegisteredModelInfo)
def get_registered_model(name: str, access: Reader) -> Response:
    """`Store.get_registered_model`: the name's description, tags and aliases."""
    return json(wire.to_json(access.store.get_registered_model(name)))


@router.patch(NAME, response_model=RegisteredModelInfo)
def update_registered_model(
    name: str, body: schemas.StrictRegisteredModelUpdate, access: Writer
) -> Response:
    """`Store.update_registered_model`: description, tags and aliases at once."""
    return json(wire.to_json(access.store.update_registered_model(name, body)))


@router.delete(NAME, status_code=204)
def delete_registered_model(name: str, access: Writer) -> Response:
    """`Store.delete_registered_model`: the name with every version."""
    access.store.delete_registered_model(name)
    return no_content()
