"""What ``HttpStore`` gives the groups of verbs it inherits (``HttpModelVerbs``,
``HttpRegistryVerbs``, ``HttpEnvironmentVerbs``): declared once here, so each group is a module
of its own that type-checks alone, and ``HttpStore`` defines them."""

from __future__ import annotations

from typing import Any

import httpx

from runyard.store import base


class HttpHooks(base.Store):
    """The requests of an ``HttpStore`` to its workspace on the server."""

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send a request to ``path`` of the workspace (retried as the store's rules say)."""
        raise NotImplementedError

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        """``_call`` and its JSON body."""
        raise NotImplementedError

    def _request_id(self) -> str:
        """A new request id (a retried write is applied once)."""
        raise NotImplementedError

    def _run(self, run_id: str) -> str:
        """The URL path of run ``run_id``."""
        raise NotImplementedError
