"""The HTTP store's verbs of registered environments: ``HttpEnvironmentVerbs``, inherited by
``HttpStore``. Each verb is one request to the server's ``/environments`` routes, through
``HttpStore._call`` (what the journal holds is sent first); none is kept in the journal.
Registering is retried freely: the same definition again registers nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.entities import EnvironmentInfo
from runyard.errors import EnvironmentNotFoundError
from runyard.limits import check_environment_name
from runyard.store import wire
from runyard.store.http.hooks import HttpHooks


class HttpEnvironmentVerbs(HttpHooks):
    """Registered environments over HTTP; ``HttpStore`` provides the hooks (HttpHooks)."""

    def register_environment(self, name: str, definition: Mapping[str, Any]) -> EnvironmentInfo:
        check_environment_name(name)
        body = {"name": name, "definition": definition}
        return wire.environment_from_json(self._json("POST", "/environments", json=body))

    def get_environment(self, name: str, version: str | None = None) -> EnvironmentInfo:
        from runyard.store.http.store import _segment

        def missing() -> EnvironmentNotFoundError:
            return EnvironmentNotFoundError(f"There is no environment {name!r:.80} here.")

        params = {} if version is None else {"version": str(version)}
        path = "/environments/" + _segment(name, missing)
        return wire.environment_from_json(self._json("GET", path, params=params))

    def list_environments(self, name: str | None = None) -> list[EnvironmentInfo]:
        params = {} if name is None else {"name": name}
        found = self._json("GET", "/environments", params=params)["environments"]
        return [wire.environment_from_json(e) for e in found]


__all__ = ["HttpEnvironmentVerbs"]
