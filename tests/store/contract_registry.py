"""The Store contract for registered models (Azure ML's model registry). Mixed into
``StoreContract``, so it runs on every backend (SQLite, PostgreSQL, S3 artifacts, HTTP)."""

from __future__ import annotations

import hashlib
import io
import threading

import pytest

from runyard.entities import (
    ModelVersionQuery,
    NewModelVersion,
    NewRun,
    RegisteredModelUpdate,
    SnapshotFile,
    TagFilter,
)
from runyard.errors import (
    InvalidArgumentError,
    InvalidNameError,
    ModelPathNotFoundError,
    PropertyConflictError,
    RegisteredModelExistsError,
    RegisteredModelNotFoundError,
    RunNotFoundError,
    UserError,
)
from runyard.store.base import Store


def _blob(store: Store, path: str, data: bytes) -> SnapshotFile:
    digest = hashlib.sha256(data).hexdigest()
    store.put_blob(digest, io.BytesIO(data))
    return SnapshotFile(path, digest, len(data))


def _register(store: Store, name: str = "mnist", data: bytes = b"weights", **fields: object) -> int:
    model = NewModelVersion(name, files=[_blob(store, "model.pkl", data)], **fields)  # type: ignore[arg-type]
    return store.create_model_version(model).version


def _ids(store: Store, **query: object) -> list[str]:
    return [v.id for v in store.search_model_versions(ModelVersionQuery(**query))]  # type: ignore[arg-type]


def _read(store: Store, file: SnapshotFile) -> bytes:
    with store.open_blob(file.digest) as stream:
        return stream.read()


class RegistryContract:
    def test_model_version_counts_from_one_per_name(self, store: Store) -> None:
        assert [_register(store), _register(store), _register(store, "other")] == [1, 2, 1]
        latest = store.get_model_version("mnist")
        assert (latest.id, latest.version, latest.root) == ("mnist:2", 2, "model.pkl")
        assert store.get_model_version("mnist", 1).version == 1

    def test_model_version_keeps_fields_and_files(self, store: Store) -> None:
        files = [_blob(store, "net/a.bin", b"a"), _blob(store, "net/sub/b.bin", b"bb")]
        created = store.create_model_version(
            NewModelVersion(
                "net", files=files, description="d", tags={"t": "1"}, properties={"p": "x"}
            )
        )
        got = store.get_model_version("net", 1)
        assert got == created
        assert (got.root, got.description, dict(got.tags), dict(got.properties)) == (
            "net",
            "d",
            {"t": "1"},
            {"p": "x"},
        )
        assert [(f.path, _read(store, f)) for f in got.files] == [
            ("net/a.bin", b"a"),
            ("net/sub/b.bin", b"bb"),
        ]

    def test_model_version_copies_run_artifacts_as_azure_paths(self, store: Store) -> None:
        store.create_runs([NewRun(run_id="r", experiment_name="exp")])
        store.put_artifact("r", "outputs/model.pkl", io.BytesIO(b"pkl"))
        store.put_artifact("r", "outputs/net/w.bin", io.BytesIO(b"w"))
        one = store.create_model_version(
            NewModelVersion("m", run_id="r", run_path="outputs/model.pkl")
        )
        folder = store.create_model_version(
            NewModelVersion("m", run_id="r", run_path="outputs/net/")
        )
        assert (one.root, [f.path for f in one.files], _read(store, one.files[0])) == (
            "model.pkl",
            ["model.pkl"],
            b"pkl",
        )
        assert (folder.root, [f.path for f in folder.files]) == ("net", ["net/w.bin"])
        assert (one.run_id, one.experiment_name) == ("r", "exp")
        assert _ids(store, run_id="r") == ["m:2", "m:1"]
        store.set_run_deleted("r", True)
        assert _read(store, store.get_model_version("m", 1).files[0]) == b"pkl"

    def test_model_version_missing_run_path_is_refused(self, store: Store) -> None:
        store.create_runs([NewRun(run_id="r", experiment_name="exp")])
        store.put_artifact("r", "outputs/model.pkl", io.BytesIO(b"pkl"))
        with pytest.raises(ModelPathNotFoundError, match=r"outputs/model\.pkl"):
            store.create_model_version(NewModelVersion("m", run_id="r", run_path="outputs/mod"))
        with pytest.raises(RunNotFoundError):
            store.create_model_version(NewModelVersion("m", run_id="nope", run_path="x"))
        assert _ids(store) == []

    def test_model_version_concurrent_registrations_get_distinct_versions(
        self, store: Store
    ) -> None:
        file = _blob(store, "model.pkl", b"w")
        versions: list[int] = []
        errors: list[BaseException] = []

        def register() -> None:
            try:
                for _ in range(3):
                    model = NewModelVersion("race", files=[file])
                    versions.append(store.create_model_version(model).version)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=register) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(versions) == list(range(1, 10))

    def test_model_version_request_id_registers_once(self, store: Store) -> None:
        file = _blob(store, "model.pkl", b"w")
        first = store.create_model_version(NewModelVersion("m", files=[file]), request_id="req-1")
        again = store.create_model_version(NewModelVersion("m", files=[file]), request_id="req-1")
        assert (first.version, again.version, _ids(store)) == (1, 1, ["m:1"])

    def test_search_model_versions_filters(self, store: Store) -> None:
        _register(store, "a", tags={"stage": "prod", "k": "1"}, properties={"fw": "torch"})
        _register(store, "a", tags={"stage": "dev"})
        _register(store, "b", properties={"fw": "sklearn"})
        assert _ids(store) == ["a:2", "a:1", "b:1"]
        assert _ids(store, name="a") == ["a:2", "a:1"]
        assert _ids(store, latest=True) == ["a:2", "b:1"]
        assert _ids(store, tags=[TagFilter("k")]) == ["a:1"]
        assert _ids(store, tags=[TagFilter("stage", "dev", match_value=True)]) == ["a:2"]
        assert _ids(store, properties=[TagFilter("fw", "sklearn", match_value=True)]) == ["b:1"]
        assert _ids(store, properties=[TagFilter("fw")], latest=True) == ["a:1", "b:1"]
        assert _ids(store, name="zzz") == []

    def test_model_version_tags_add_and_remove(self, store: Store) -> None:
        _register(store, tags={"a": "1", "b": "2"})
        changed = store.set_model_version_tags("mnist", 1, {"a": "9", "c": "3"}, remove=["b", "x"])
        assert dict(changed.tags) == {"a": "9", "c": "3"}
        assert dict(store.get_model_version("mnist", 1).tags) == {"a": "9", "c": "3"}

    def test_model_version_properties_are_add_only(self, store: Store) -> None:
        _register(store, properties={"a": "1"})
        assert dict(
            store.add_model_version_properties("mnist", 1, {"a": "1", "b": "2"}).properties
        ) == {
            "a": "1",
            "b": "2",
        }
        with pytest.raises(PropertyConflictError, match="immutable"):
            store.add_model_version_properties("mnist", 1, {"b": "3", "c": "4"})
        assert dict(store.get_model_version("mnist", 1).properties) == {"a": "1", "b": "2"}

    def test_delete_model_version_removes_it_and_keeps_shared_bytes(self, store: Store) -> None:
        _register(store, data=b"one")
        _register(store, data=b"two")
        shared = store.get_model_version("mnist", 2).files[0]
        _register(store, data=b"two")
        only = store.get_model_version("mnist", 1).files[0]
        store.create_snapshot("s1", [SnapshotFile("w.bin", shared.digest, shared.size)])
        store.delete_model_version("mnist", 1)
        assert _ids(store) == ["mnist:3", "mnist:2"]
        with pytest.raises(RegisteredModelNotFoundError):
            store.get_model_version("mnist", 1)
        # Blobs are never deleted (a concurrent put_blob of the same content cannot lose them).
        assert store.missing_blobs([only.digest]) == set()
        assert _read(store, only) == b"one"
        store.delete_model_version("mnist", 3)
        store.delete_model_version("mnist", 2)
        # Content-addressed bytes are shared: the snapshot naming them still reads them.
        assert _read(store, store.get_snapshot("s1")[0]) == b"two"
        assert store.missing_blobs([shared.digest]) == set()
        with pytest.raises(RegisteredModelNotFoundError):
            store.get_model_version("mnist")
        assert _register(store) == 4  # a number is never given again
        with pytest.raises(RegisteredModelNotFoundError):
            store.delete_model_version("mnist", 1)

    def test_model_version_not_found(self, store: Store) -> None:
        with pytest.raises(RegisteredModelNotFoundError, match="nope"):
            store.get_model_version("nope")
        _register(store)
        with pytest.raises(RegisteredModelNotFoundError, match="no version 7"):
            store.get_model_version("mnist", 7)
        with pytest.raises(RegisteredModelNotFoundError):
            store.set_model_version_tags("mnist", 7, {"a": "b"})
        with pytest.raises(RegisteredModelNotFoundError):
            store.add_model_version_properties("mnist", 7, {"a": "b"})

    @pytest.mark.parametrize("name", ["", "-x", ".x", "has space", "a/b", "a:1", "x" * 256, "é"])
    def test_model_version_bad_name_is_refused(self, store: Store, name: str) -> None:
        with pytest.raises(InvalidNameError, match="model name"):
            _register(store, name)
        with pytest.raises(InvalidNameError):
            store.get_model_version(name)
        assert _ids(store) == []

    def test_model_version_bad_files_are_refused(self, store: Store) -> None:
        a, b = _blob(store, "a/x", b"x"), _blob(store, "b/y", b"y")
        with pytest.raises(InvalidNameError, match="one folder"):
            store.create_model_version(NewModelVersion("m", files=[a, b]))
        with pytest.raises(InvalidArgumentError):
            store.create_model_version(NewModelVersion("m"))
        unstored = SnapshotFile("model.pkl", "0" * 64, 1)
        with pytest.raises(UserError, match="not stored"):
            store.create_model_version(NewModelVersion("m", files=[unstored]))
        with pytest.raises(InvalidArgumentError):
            store.get_model_version("m", 0)
        assert _ids(store) == []

    # -- model names (MLflow's registered models) ---------------------------------------------

    def test_registered_model_fields_tags_and_aliases(self, store: Store) -> None:
        made = store.create_registered_model("empty", "first", {"team": "cv"})
        assert (made.name, made.description, dict(made.tags), dict(made.aliases)) == (
            "empty",
            "first",
            {"team": "cv"},
            {},
        )
        with pytest.raises(RegisteredModelExistsError, match="empty"):
            store.create_registered_model("empty")
        with pytest.raises(RegisteredModelNotFoundError):
            store.get_model_version("empty")  # a name without versions
        _register(store)  # a name made by its first version is listed too
        assert [m.name for m in store.list_registered_models()] == ["empty", "mnist"]
        assert _register(store, "empty") == 1
        _register(store, "empty")
        changed = store.update_registered_model(
            "empty",
            RegisteredModelUpdate(
                description="second", tags={"x": "1"}, remove_tags=["team"], aliases={"best": 1}
            ),
        )
        assert (changed.description, dict(changed.tags), dict(changed.aliases)) == (
            "second",
            {"x": "1"},
            {"best": 1},
        )
        assert changed.updated_time >= made.updated_time
        moved = store.update_registered_model(
            "empty", RegisteredModelUpdate(aliases={"best": 2, "old": 1}, remove_aliases=["no"])
        )
        assert (moved.description, dict(moved.aliases)) == ("second", {"best": 2, "old": 1})
        with pytest.raises(RegisteredModelNotFoundError, match="no version 9"):
            store.update_registered_model("empty", RegisteredModelUpdate(aliases={"a": 9}))
        with pytest.raises(InvalidNameError, match="alias"):
            store.update_registered_model("empty", RegisteredModelUpdate(aliases={"latest": 1}))
        store.delete_model_version("empty", 1)  # its alias goes with it
        assert dict(store.get_registered_model("empty").aliases) == {"best": 2}
        described = store.set_model_version_description("empty", 2, "v2")
        assert store.get_model_version("empty", 2).description == described.description == "v2"
        assert store.set_model_version_description("empty", 2, None).description is None

    def test_delete_registered_model_takes_its_versions(self, store: Store) -> None:
        _register(store, data=b"one")
        _register(store, data=b"two")
        files = [store.get_model_version("mnist", v).files[0] for v in (1, 2)]
        store.update_registered_model("mnist", RegisteredModelUpdate(aliases={"a": 1}))
        store.delete_registered_model("mnist")
        with pytest.raises(RegisteredModelNotFoundError):
            store.get_registered_model("mnist")
        assert _ids(store) == [] and store.list_registered_models() == []
        # The bytes stay (blobs are never deleted): registering them again needs no upload.
        assert store.missing_blobs([f.digest for f in files]) == set()
        again = store.create_model_version(NewModelVersion("mnist", files=files[:1]))
        assert again.version == 1  # a new name
        assert _read(store, again.files[0]) == b"one"
        assert dict(store.get_registered_model("mnist").aliases) == {}
        with pytest.raises(RegisteredModelNotFoundError):
            store.delete_registered_model("other")
        with pytest.raises(InvalidNameError):
            store.create_registered_model("a/b")
