"""The Store contract on SQLite: a real database file and artifact folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store import Store, open_store
from tests.store.contract import StoreContract
from tests.store.sql_workers import SqlTarget


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def backing(self, tmp_path: Path) -> SqlTarget:
        return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))

    @pytest.fixture
    def store(self, backing: SqlTarget) -> Iterator[Store]:
        store = open_store(backing.url, backing.artifact_root)
        yield store
        store.close()
