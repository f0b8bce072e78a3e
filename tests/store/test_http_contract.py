"""The Store contract through HTTP: HttpStore against a real server, a new workspace per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.server.control import Role
from runyard.store import Store
from runyard.store.http.store import HttpStore
from tests.server.process import ServerProcess, start
from tests.store.contract import StoreContract


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


class TestHttpStore(StoreContract):
    @pytest.fixture
    def store(self, server: ServerProcess) -> Iterator[Store]:
        workspace = server.new_workspace([Role.WRITER])
        store = HttpStore(workspace.uri, token=workspace.writer)
        yield store
        store.close()
