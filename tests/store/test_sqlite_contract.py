"""The Store contract on SQLite: a real database file and artifact folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store import Store, open_store
from tests.store.contract import StoreContract


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = open_store(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
        yield store
        store.close()
