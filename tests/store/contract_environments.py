"""The Store contract for registered environments (``Environment.register``, ``get``,
``list``). Mixed into ``StoreContract``, so it runs on every backend (SQLite, PostgreSQL, S3
artifacts, HTTP)."""

from __future__ import annotations

import time

import pytest

from runyard.errors import (
    EnvironmentNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
    LimitExceededError,
)
from runyard.limits import MAX_ENVIRONMENT_DEFINITION_LENGTH
from runyard.store.base import Store

SIX = {"name": "six", "python": {"condaDependencies": {"dependencies": [{"pip": ["six"]}]}}}
SIX2 = {"name": "six", "python": {"condaDependencies": {"dependencies": [{"pip": ["six==1"]}]}}}


class EnvironmentContract:
    def test_register_environment_versions_count_per_name(self, store: Store) -> None:
        before = time.time()
        first = store.register_environment("six", SIX)
        assert (first.name, first.version, dict(first.definition)) == ("six", "1", SIX)
        assert before - 1 <= first.created_time <= time.time() + 1
        second = store.register_environment("six", SIX2)
        assert second.version == "2"
        other = store.register_environment("other", SIX)
        assert other.version == "1"

    def test_register_environment_same_definition_registers_nothing_new(self, store: Store) -> None:
        first = store.register_environment("six", SIX)
        again = store.register_environment("six", SIX)
        assert again == first
        assert [e.version for e in store.list_environments("six")] == ["1"]

    def test_get_environment_latest_or_version(self, store: Store) -> None:
        store.register_environment("six", SIX)
        store.register_environment("six", SIX2)
        assert store.get_environment("six").version == "2"
        assert dict(store.get_environment("six").definition) == SIX2
        assert dict(store.get_environment("six", "1").definition) == SIX

    @pytest.mark.parametrize(
        ("name", "version"),
        [
            ("nope", None),
            ("six", "3"),
            ("six", "x"),
            ("six", "-1"),
            ("six", "²"),
            ("six", "١"),
            ("", None),
        ],
    )
    def test_get_environment_missing_raises(
        self, store: Store, name: str, version: str | None
    ) -> None:
        store.register_environment("six", SIX)
        with pytest.raises(EnvironmentNotFoundError):
            store.get_environment(name, version)

    def test_list_environments_latest_by_name_or_versions_newest_first(self, store: Store) -> None:
        assert store.list_environments() == []
        store.register_environment("zeta", SIX)
        store.register_environment("alpha", SIX)
        store.register_environment("alpha", SIX2)
        assert [(e.name, e.version) for e in store.list_environments()] == [
            ("alpha", "2"),
            ("zeta", "1"),
        ]
        assert [e.version for e in store.list_environments("alpha")] == ["2", "1"]
        assert store.list_environments("missing") == []

    @pytest.mark.parametrize("name", ["", "a/b", " lead", "x" * 256, "a\x00b", "\ud800"])
    def test_register_environment_bad_name_raises_and_writes_nothing(
        self, store: Store, name: str
    ) -> None:
        with pytest.raises(InvalidNameError):
            store.register_environment(name, SIX)
        assert store.list_environments() == []

    def test_register_environment_bad_definition_raises_and_writes_nothing(
        self, store: Store
    ) -> None:
        with pytest.raises(LimitExceededError):
            store.register_environment("big", {"x": "y" * MAX_ENVIRONMENT_DEFINITION_LENGTH})
        with pytest.raises(InvalidArgumentError):
            store.register_environment("bad", {"x": "a\ud800"})
        assert store.list_environments() == []
