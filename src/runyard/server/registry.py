"""Workspace name -> Store: each workspace a complete store, opened on first use and kept.

Which workspaces exist is the control store's business (``control.py``); where a workspace's
data lives is the layout's (see ``config.py``). Stores are opened lazily, once per process, and
shared by the request threads (a ``SqlStore`` is thread-safe). Workspaces are never deleted by
the server, so a cached store never goes stale. At most ``config.max_open_stores`` stay open:
the least recently used is closed beyond that (closing releases its idle connections; a request
still using it goes on, as an engine reopens its pool when used after ``dispose``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from runyard.errors import NotFoundError, UserError
from runyard.server.config import (
    WORKSPACE_NAME_RE,
    WORKSPACE_SCHEMA_PREFIX,
    ServerConfig,
    check_workspace_name,
)
from runyard.server.control import ControlStore, WorkspaceInfo
from runyard.store import Store, open_store


class WorkspaceRegistry:
    """The stores of the workspaces this server serves."""

    def __init__(self, config: ServerConfig, control: ControlStore) -> None:
        self.config = config
        self.control = control
        self._stores: OrderedDict[str, Store] = OrderedDict()
        self._lock = threading.Lock()
        if config.local is not None:
            control.ensure_workspace(config.local.name)

    def store(self, name: str) -> Store:
        """The store of workspace ``name``, opened on first use.

        Raises:
            NotFoundError: the server has no such workspace.
        """
        with self._lock:
            store = self._stores.get(name)
            if store is not None:
                self._stores.move_to_end(name)
                return store
        if not self.exists(name):
            raise NotFoundError(
                f"Workspace {name!r} does not exist on this server. An administrator creates "
                f"it: runyard server workspaces create {name} (or POST /api/v1/workspaces)."
            )
        opened = self._open(name)  # outside the lock: migrating one store does not stall all
        with self._lock:
            store = self._stores.setdefault(name, opened)
            self._stores.move_to_end(name)
            evicted = (
                [self._stores.popitem(last=False)[1]]
                if len(self._stores) > self.config.max_open_stores
                else []
            )
        if store is not opened:
            evicted.append(opened)  # another thread opened it first
        for old in evicted:
            old.close()
        return store

    def exists(self, name: str) -> bool:
        if self.config.local is not None and name != self.config.local.name:
            return False
        if not WORKSPACE_NAME_RE.fullmatch(name):
            return False  # no workspace has such a name: not worth a query (nor a DataError)
        return self.control.get_workspace(name) is not None

    def create(self, name: str) -> WorkspaceInfo:
        """Record workspace ``name`` and create its store (database, tables).

        Raises:
            InvalidNameError: the name breaks the workspace naming rule.
            UserError: it exists already, or this server serves only its local workspace.
        """
        check_workspace_name(name)
        if self.config.local is not None:
            raise UserError(
                f"This server serves the local workspace {self.config.local.name!r} only; "
                "serve a data folder (runyard server --data DIR) to host several workspaces."
            )
        if self.control.get_workspace(name) is not None:
            raise UserError(f"Workspace {name!r} exists already.")
        # The store first (its tables, now rather than in the first user's request), then the
        # record: a store that cannot be created leaves no workspace behind.
        store = self._open(name)
        try:
            info = self.control.create_workspace(name)
        finally:
            store.close()
        return info

    def _open(self, name: str) -> Store:
        config = self.config
        if config.local is not None:
            return open_store(config.local.uri, config.local.artifact_root)
        root = config.artifact_root
        assert root is not None
        artifacts = f"{root}/{name}"
        if config.data is not None and config.store is None:
            database = Path(config.data).resolve() / f"{name}.db"
            return open_store(f"sqlite:///{database}", artifacts, config.storage_options)
        assert config.store is not None
        return _schema_store(
            config.store, artifacts, WORKSPACE_SCHEMA_PREFIX + name, config.storage_options
        )

    def close(self) -> None:
        with self._lock:
            stores, self._stores = self._stores, OrderedDict()
        for store in stores.values():
            store.close()


def _schema_store(
    url: str, artifact_root: str, schema: str, storage_options: dict[str, Any] | None
) -> Store:
    """A PostgreSQL workspace: the store's tables in their own schema."""
    from runyard.store.sql import SqlStore

    return SqlStore(url, artifact_root, schema=schema, storage_options=storage_options)
