"""The HTTP store's verbs of attached compute targets: ``HttpComputeVerbs``, inherited by
``HttpStore``. Each verb is one request to the server's ``/compute`` routes, through
``HttpStore._call``; none is kept in the journal. Attaching is retried freely: the same target
again attaches nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from runyard.entities import ComputeTargetInfo
from runyard.limits import (
    MAX_COMPUTE_CONFIG_LENGTH,
    check_compute_config,
    check_compute_kind,
    check_compute_name,
    check_json,
)
from runyard.store import base, wire
from runyard.store.checks import compute_missing


class HttpComputeVerbs(base.Store):
    """Attached compute targets over HTTP; ``HttpStore`` provides the hooks."""

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        raise NotImplementedError

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        raise NotImplementedError

    def _compute_path(self, name: str) -> str:
        from runyard.store.http.store import _segment

        return "/compute/" + _segment(name, lambda: compute_missing(str(name)))

    def attach_compute(self, name: str, kind: str, config: Mapping[str, Any]) -> ComputeTargetInfo:
        check_compute_name(name)
        check_compute_kind(kind)
        check_json("compute target configuration", config, MAX_COMPUTE_CONFIG_LENGTH)
        check_compute_config(kind, config)
        body = {"name": name, "kind": kind, "config": config}
        return wire.compute_from_json(self._json("POST", "/compute", json=body))

    def get_compute(self, name: str) -> ComputeTargetInfo:
        return wire.compute_from_json(self._json("GET", self._compute_path(name)))

    def list_compute(self) -> list[ComputeTargetInfo]:
        found = self._json("GET", "/compute")["targets"]
        return [wire.compute_from_json(t) for t in found]

    def detach_compute(self, name: str) -> None:
        self._call("DELETE", self._compute_path(name))


__all__ = ["HttpComputeVerbs"]
