"""Stores at an older revision, for the upgrade tests: where one lives (a SQLite file, or a
fresh PostgreSQL schema) and an engine on it that is disposed of after use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from runyard.store.sql.engine import create_sql_engine
from tests.store.sql_workers import SqlTarget


def old_target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    """The store of a test parametrized with "sqlite" or "postgresql"."""
    if request.param == "sqlite":
        return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
    return SqlTarget(
        request.getfixturevalue("postgres_server_url"),
        str(tmp_path / "artifacts"),
        request.getfixturevalue("postgres_schema"),
    )


@contextmanager
def raw_engine(target: SqlTarget) -> Iterator[Engine]:
    """An engine on the target that does not migrate it (to build an old revision)."""
    engine = create_sql_engine(target.url, target.schema)
    try:
        yield engine
    finally:
        engine.dispose()
