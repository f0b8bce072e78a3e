"""What ``SqlStore`` gives the groups of verbs it inherits (``SqlModelVerbs``,
``SqlRegistryVerbs``, ``SqlEnvironmentVerbs``): declared once here, so each group is a module of
its own that type-checks alone, and ``SqlStore`` defines them."""

from __future__ import annotations

import contextlib

from sqlalchemy import Connection

from runyard.errors import RunNotFoundError
from runyard.store import base
from runyard.store.artifacts import ArtifactRepository


class SqlHooks(base.Store):
    """The transactions, run lookups and artifact repository of a ``SqlStore``."""

    artifacts: ArtifactRepository
    _run_pks: dict[str, int]

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection in a read transaction."""
        raise NotImplementedError

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection in a write transaction (committed when the block ends cleanly)."""
        raise NotImplementedError

    def _run_pk(self, conn: Connection, run_id: str) -> int:
        """The row key of run ``run_id`` (``RunNotFoundError`` if there is none)."""
        raise NotImplementedError

    def _locked_run_pk(self, conn: Connection, run_id: str) -> int:
        """``_run_pk`` with the run's row locked until the transaction ends."""
        raise NotImplementedError

    def _no_run(self, run_id: str) -> RunNotFoundError:
        """The error for a run that does not exist."""
        raise NotImplementedError

    def _forget_old_requests(self, request_id: str | None) -> None:
        """Drop request ids past their keeping time (after a write that recorded one)."""
        raise NotImplementedError
