"""The Store contract on PostgreSQL: a schema of its own per test, in the test server's database.

A schema per test is what the server does per workspace, and ten times cheaper than a database
per test. Needs ``$RUNYARD_TEST_POSTGRES_URL`` (``make test`` starts the server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store import Store
from runyard.store.sql import SqlStore
from tests.store.contract import StoreContract


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(
        self, postgres_server_url: str, postgres_schema: str, tmp_path: Path
    ) -> Iterator[Store]:
        store = SqlStore(postgres_server_url, str(tmp_path / "artifacts"), schema=postgres_schema)
        yield store
        store.close()
