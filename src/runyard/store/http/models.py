"""The HTTP store's verbs of logged models (MLflow 3's) and of what runs use and make.

``HttpModelVerbs`` holds them, and ``HttpStore`` inherits them (kept out of ``store.py``): each
verb is one request to the server's ``/logged-models`` and ``/runs/{run_id}/inputs|outputs``
routes, through ``HttpStore._call`` (what the journal holds is sent first). None is kept in
the journal while the server is away: MLflow's client, their only user, reaches the server
directly. Exactly once: ``create_logged_model`` carries a request id; the other writes change
nothing when repeated (tags merge, params are immutable, values and inputs recorded already
are not recorded again), except ``delete_logged_model_tag``, which is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from runyard.entities import (
    DatasetInput,
    LoggedModelInfo,
    LoggedModelPage,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelMetric,
    ModelOutput,
    NewLoggedModel,
    RunIO,
)
from runyard.errors import LoggedModelNotFoundError, RunyardError
from runyard.store import base, wire
from runyard.store.http.client import Retry
from runyard.store.http.hooks import HttpHooks


class HttpModelVerbs(HttpHooks):
    """Logged models and run inputs/outputs over HTTP; ``HttpStore`` provides the hooks."""

    def _model(self, model_id: str) -> str:
        """The URL path of a model; an id no URL segment can carry names no model."""
        from runyard.store.http.store import _segment

        def missing() -> RunyardError:
            return LoggedModelNotFoundError(f"Logged model {model_id!r:.80} was not found.")

        return "/logged-models/" + _segment(model_id, missing)

    def create_logged_model(
        self, model: NewLoggedModel, *, request_id: str | None = None
    ) -> LoggedModelInfo:
        base.check_request_id(request_id)
        rid = self._request_id() if request_id is None else request_id
        body = {"model": wire.to_json(model)}
        created = self._json("POST", "/logged-models", json=body, request_id=rid)
        return wire.logged_model_from_json(created)

    def get_logged_model(self, model_id: str) -> LoggedModelInfo:
        return wire.logged_model_from_json(self._json("GET", self._model(model_id)))

    def update_logged_model(
        self, model_id: str, status: LoggedModelStatus, status_message: str | None = None
    ) -> LoggedModelInfo:
        body = {"status": status, "status_message": status_message}
        return wire.logged_model_from_json(self._json("PATCH", self._model(model_id), json=body))

    def search_logged_models(self, query: LoggedModelQuery) -> LoggedModelPage:
        found = self._json("POST", "/logged-models/search", json=wire.to_json(query))
        return wire.logged_model_page_from_json(found)

    def delete_logged_model(self, model_id: str) -> LoggedModelInfo:
        return wire.logged_model_from_json(self._json("DELETE", self._model(model_id)))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        self._call("PATCH", self._model(model_id) + "/tags", json={"tags": dict(tags)})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        # Sent once: a retry after the tag was deleted would be answered "no such tag".
        path = self._model(model_id) + "/tags"
        self._call("DELETE", path, params={"key": key}, retry=Retry.IF_NOT_SENT)

    def add_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        self._call("PATCH", self._model(model_id) + "/params", json={"params": dict(params)})

    def add_logged_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        body = {"metrics": [wire.to_json(m) for m in metrics]}
        self._call("POST", self._model(model_id) + "/metrics", json=body)

    def log_run_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), model_ids: Sequence[str] = ()
    ) -> None:
        body = {"datasets": [wire.to_json(d) for d in datasets], "model_ids": list(model_ids)}
        self._call("POST", self._run(run_id) + "/inputs", json=body)

    def log_run_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        body = {"outputs": [wire.to_json(o) for o in outputs]}
        self._call("POST", self._run(run_id) + "/outputs", json=body)

    def get_run_io(self, run_ids: Sequence[str]) -> dict[str, RunIO]:
        found = self._json("POST", "/runs/io/query", json={"run_ids": list(run_ids)})["runs"]
        return {run_id: wire.run_io_from_json(io) for run_id, io in found.items()}


__all__ = ["HttpModelVerbs"]
