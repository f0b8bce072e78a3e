"""The Store contract on PostgreSQL: a schema of its own per test, in the test server's database.

A schema per test is what the server does per workspace, and ten times cheaper than a database
per test. Needs ``$RUNYARD_TEST_POSTGRES_URL`` (``make test`` starts the server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store import Store
from tests.store.contract import StoreContract
from tests.store.sql_workers import SqlTarget


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def backing(self, postgres_server_url: str, postgres_schema: str, tmp_path: Path) -> SqlTarget:
        return SqlTarget(postgres_server_url, str(tmp_path / "artifacts"), postgres_schema)

    @pytest.fixture
    def store(self, backing: SqlTarget) -> Iterator[Store]:
        store = backing.open()
        yield store
        store.close()
