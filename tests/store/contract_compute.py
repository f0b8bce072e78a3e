"""The Store contract for attached compute targets (``ws.attach_compute``, ``compute_targets``,
``detach_compute``). Mixed into ``StoreContract``, so it runs on every backend (SQLite,
PostgreSQL, S3 artifacts, HTTP)."""

from __future__ import annotations

import time

import pytest

from runyard.errors import (
    ComputeTargetExistsError,
    ComputeTargetNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
)
from runyard.store.base import Store

RAY = {"address": "http://127.0.0.1:8265"}


class ComputeContract:
    def test_attach_compute_lists_gets_and_detaches(self, store: Store) -> None:
        before = time.time()
        attached = store.attach_compute("ray", "ray", RAY)
        assert (attached.name, attached.kind, dict(attached.config)) == ("ray", "ray", RAY)
        assert before - 1 <= attached.created_time <= time.time() + 1
        store.attach_compute("b-cluster", "ray", {"address": "http://127.0.0.1:1"})
        assert [t.name for t in store.list_compute()] == ["b-cluster", "ray"]
        assert store.get_compute("ray") == attached
        store.detach_compute("ray")
        assert [t.name for t in store.list_compute()] == ["b-cluster"]
        with pytest.raises(ComputeTargetNotFoundError, match="no compute target 'ray'"):
            store.get_compute("ray")
        with pytest.raises(ComputeTargetNotFoundError):
            store.detach_compute("ray")

    def test_attach_compute_same_target_again_attaches_once(self, store: Store) -> None:
        first = store.attach_compute("ray", "ray", RAY)
        assert store.attach_compute("ray", "ray", RAY) == first
        with pytest.raises(ComputeTargetExistsError, match="detach it first"):
            store.attach_compute("ray", "ray", {"address": "http://127.0.0.1:9"})
        assert store.get_compute("ray") == first

    @pytest.mark.parametrize("name", ["local", "", "1abc", "a b", "a/b", "x" * 65, "é"])
    def test_attach_compute_refuses_bad_names(self, store: Store, name: str) -> None:
        with pytest.raises(InvalidNameError):
            store.attach_compute(name, "ray", RAY)
        assert store.list_compute() == []

    def test_attach_compute_refuses_unknown_kinds(self, store: Store) -> None:
        with pytest.raises(InvalidArgumentError, match="Unknown compute target kind"):
            store.attach_compute("k8s", "kubernetes", RAY)

    @pytest.mark.parametrize(
        "config",
        [
            {},
            {"address": None},
            {"address": 8265},
            {"address": ""},
            {"address": "127.0.0.1:8265"},
            {"address": "ray://127.0.0.1:10001"},
            {"address": "http://"},
            {"address": "http://[::1"},
            {"address": " http://127.0.0.1:8265"},
            {"address": "http://127.0.0.1:8265\n"},
        ],
    )
    def test_attach_compute_refuses_a_ray_config_without_an_http_address(
        self, store: Store, config: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidArgumentError, match="address"):
            store.attach_compute("ray", "ray", config)
        assert store.list_compute() == []
        https = store.attach_compute("tls", "ray", {"address": "https://ray.example:443"})
        assert https.config["address"] == "https://ray.example:443"

    @pytest.mark.parametrize("name", ["nothing", "a/b", "..", "local"])
    def test_get_compute_unknown_name_is_not_found(self, store: Store, name: str) -> None:
        with pytest.raises(ComputeTargetNotFoundError):
            store.get_compute(name)
