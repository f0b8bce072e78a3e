"""The HTTP store's verbs of registered models (Azure ML's model registry).

``HttpRegistryVerbs`` holds them, and ``HttpStore`` inherits them (kept out of ``store.py``):
each verb is one request to the server's ``/registered-models`` routes, through
``HttpStore._call`` (what the journal holds is sent first). None is kept in the journal while
the server is away: registering a model is the caller's to retry. Exactly once:
``create_model_version`` carries a request id; tags and properties change nothing when
repeated; ``delete_model_version``, ``create_registered_model`` and
``delete_registered_model`` are sent once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runyard.entities import (
    ModelVersionInfo,
    ModelVersionQuery,
    NewModelVersion,
    RegisteredModelInfo,
    RegisteredModelUpdate,
)
from runyard.store import base, wire
from runyard.store import registry as rules
from runyard.store.http.client import Retry
from runyard.store.http.hooks import HttpHooks

MODELS = "/registered-models"
NAMES = "/model-names"
"""A model name's own routes: apart from its versions' (``/registered-models/{name}/...``),
so that no version path, however mangled, reaches a whole name's DELETE."""


class HttpRegistryVerbs(HttpHooks):
    """Registered models over HTTP; ``HttpStore`` provides the hooks (HttpHooks)."""

    @staticmethod
    def _version_path(name: str, version: int) -> str:
        """The URL path of a version; the name's rule keeps it one URL segment."""
        return f"{MODELS}/{rules.check_model_name(name)}/versions/{rules.check_version(version)}"

    def create_model_version(
        self, model: NewModelVersion, *, request_id: str | None = None
    ) -> ModelVersionInfo:
        base.check_request_id(request_id)
        rules.check_new_version(model)
        rid = self._request_id() if request_id is None else request_id
        body = {"model": wire.to_json(model)}
        return wire.model_version_from_json(
            self._json("POST", MODELS + "/versions", json=body, request_id=rid)
        )

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersionInfo:
        if version is None:
            path = f"{MODELS}/{rules.check_model_name(name)}/latest"
        else:
            path = self._version_path(name, version)
        return wire.model_version_from_json(self._json("GET", path))

    def search_model_versions(self, query: ModelVersionQuery) -> list[ModelVersionInfo]:
        rules.check_query(query)
        found = self._json("POST", MODELS + "/versions/search", json=wire.to_json(query))
        return [wire.model_version_from_json(v) for v in found["versions"]]

    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], remove: Iterable[str] = ()
    ) -> ModelVersionInfo:
        body = {"tags": dict(tags), "remove": list(remove)}
        path = self._version_path(name, version) + "/tags"
        return wire.model_version_from_json(self._json("PATCH", path, json=body))

    def add_model_version_properties(
        self, name: str, version: int, properties: Mapping[str, str]
    ) -> ModelVersionInfo:
        path = self._version_path(name, version) + "/properties"
        body = {"properties": dict(properties)}
        return wire.model_version_from_json(self._json("PATCH", path, json=body))

    def delete_model_version(self, name: str, version: int) -> None:
        # Sent once: a retry after the version was deleted would be answered "not found".
        self._call("DELETE", self._version_path(name, version), retry=Retry.IF_NOT_SENT)

    def set_model_version_description(
        self, name: str, version: int, description: str | None
    ) -> ModelVersionInfo:
        path = self._version_path(name, version) + "/description"
        body = {"description": description}
        return wire.model_version_from_json(self._json("PATCH", path, json=body))

    # -- model names (MLflow's registered models) ------------------------------------------------

    @staticmethod
    def _name_path(name: str) -> str:
        return f"{NAMES}/{rules.check_model_name(name)}"

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModelInfo:
        rules.check_model_update(name, description, RegisteredModelUpdate(tags=tags or {}))
        body = {"name": name, "description": description, "tags": dict(tags or {})}
        # Sent once: a retry after the name was made would be answered "exists".
        found = self._json("POST", NAMES, json=body, retry=Retry.IF_NOT_SENT)
        return wire.registered_model_from_json(found)

    def get_registered_model(self, name: str) -> RegisteredModelInfo:
        return wire.registered_model_from_json(self._json("GET", self._name_path(name)))

    def list_registered_models(self) -> list[RegisteredModelInfo]:
        found = self._json("GET", NAMES)
        return [wire.registered_model_from_json(m) for m in found["models"]]

    def update_registered_model(
        self, name: str, update: RegisteredModelUpdate
    ) -> RegisteredModelInfo:
        rules.check_model_update(name, update.description, update)
        body = wire.to_json(update)
        return wire.registered_model_from_json(
            self._json("PATCH", self._name_path(name), json=body)
        )

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", self._name_path(name), retry=Retry.IF_NOT_SENT)


__all__ = ["HttpRegistryVerbs"]
