"""The Store contract for input no store can keep (issue 8, items 6 and 7): lone surrogates and
NUL characters, integers beyond 64 bits, inconsistent metric chunks, values past the documented
limits. Every backend refuses them with the same runyard error (a server answers 400 with it),
and writes nothing. Mixed into ``StoreContract``, so it runs on every backend.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewModelVersion,
    NewRun,
    RunQuery,
    SnapshotFile,
    ValueType,
)
from runyard.errors import (
    InvalidNameError,
    LimitExceededError,
    MetricValueError,
    RunNotFoundError,
    UserError,
)
from runyard.limits import (
    MAX_ERROR_LENGTH,
    MAX_RUN_DEFINITION_LENGTH,
    MAX_STRING_METRIC_LENGTH,
)
from runyard.store.base import Store

SURROGATE = "\ud800"
NUL = "\x00"
BAD_TEXTS = [f"a{SURROGATE}b", f"a{NUL}b"]
UNSTORABLE = r"NUL|surrogate|Unicode"
"""What the message of a refused text says (the HTTP client cannot even encode a surrogate in
a URL: it says it is not Unicode)."""


def _points(
    run_id: str,
    name: str,
    values: list[Any],
    times: list[float] | None = None,
    steps: list[int | None] | None = None,
    value_type: ValueType = ValueType.NUMBER,
    kind: MetricKind = MetricKind.VECTOR,
) -> MetricChunk:
    times = [1000.0 + i for i in range(len(values))] if times is None else times
    return MetricChunk(run_id, name, kind, value_type, values, times, steps)


class InputContract:
    """Refusals every backend shares; subclasses provide the ``store`` fixture."""

    def _run(self, store: Store) -> str:
        store.create_runs([NewRun("r", "exp", tags={"kept": "yes"})])
        return "r"

    @pytest.mark.parametrize("text", BAD_TEXTS)
    def test_tags_with_unstorable_text_are_refused(self, store: Store, text: str) -> None:
        run_id = self._run(store)
        for tags in ({text: "v"}, {"k": text}):
            with pytest.raises(UserError, match=UNSTORABLE):
                store.set_tags(run_id, tags)
            with pytest.raises(UserError, match=UNSTORABLE):
                store.add_properties(run_id, tags)
            with pytest.raises(UserError, match=UNSTORABLE):
                store.set_experiment_tags("exp", tags)
        with pytest.raises(UserError, match=UNSTORABLE):
            store.create_runs([NewRun("other", "exp", tags={text: "v"})])
        info = store.get_run(run_id)
        assert (info.tags, info.properties) == ({"kept": "yes"}, {})
        assert store.get_experiment("exp").tags == {}
        assert [r.run_id for r in store.search_runs(RunQuery()).runs] == [run_id]

    @pytest.mark.parametrize("text", BAD_TEXTS)
    def test_metric_names_with_unstorable_text_are_refused(self, store: Store, text: str) -> None:
        run_id = self._run(store)
        with pytest.raises(UserError, match=UNSTORABLE):
            store.log_metrics([_points(run_id, "fine", [1.0]), _points(run_id, text, [1.0])])
        assert store.list_metric_series([run_id]) == []

    @pytest.mark.parametrize("text", BAD_TEXTS)
    def test_artifact_paths_with_unstorable_text_are_refused(self, store: Store, text: str) -> None:
        run_id = self._run(store)
        with pytest.raises(UserError, match=UNSTORABLE):
            store.put_artifact(run_id, f"outputs/{text}", io.BytesIO(b"x"))
        assert store.list_artifacts(run_id) == []

    @pytest.mark.parametrize("text", BAD_TEXTS)
    def test_lookups_with_unstorable_text_find_nothing_or_refuse(
        self, store: Store, text: str
    ) -> None:
        run_id = self._run(store)
        with pytest.raises(RunNotFoundError):
            store.get_run(f"r{text}")
        with pytest.raises((UserError, RunNotFoundError)):
            store.read_log(run_id, f"log{text}")
        with pytest.raises(UserError):
            store.search_runs(RunQuery(experiment_name=f"exp{text}"))

    @pytest.mark.parametrize("offset", [2**70, 2**63, -1])
    def test_read_log_offset_outside_64_bits_or_negative_is_refused(
        self, store: Store, offset: int
    ) -> None:
        run_id = self._run(store)
        store.append_log(run_id, "log.txt", b"line\n")
        with pytest.raises(UserError, match="offset"):
            store.read_log(run_id, "log.txt", offset)
        assert store.read_log(run_id, "log.txt", 2**63 - 1) == b""

    @pytest.mark.parametrize("token", [str(2**70), str(2**63), "0", "-5", "１２"])
    def test_search_page_token_outside_64_bits_is_refused(self, store: Store, token: str) -> None:
        self._run(store)
        with pytest.raises(UserError, match="page token"):
            store.search_runs(RunQuery(page_token=token))

    def test_log_metrics_lengths_must_agree(self, store: Store) -> None:
        run_id = self._run(store)
        bad = [
            _points(run_id, "m", [1.0, 2.0], times=[1.0]),
            _points(run_id, "m", [1.0], times=[1.0, 2.0]),
            _points(run_id, "m", [1.0, 2.0], steps=[1]),
        ]
        for chunk in bad:
            with pytest.raises(UserError, match="one time"):
                store.log_metrics([_points(run_id, "fine", [1.0]), chunk])
        assert store.list_metric_series([run_id]) == []

    @pytest.mark.parametrize(
        ("values", "value_type", "error"),
        [
            (["text"], ValueType.NUMBER, MetricValueError),
            ([1.5], ValueType.STRING, MetricValueError),
            ([2**70], ValueType.NUMBER, MetricValueError),
            ([True], ValueType.NUMBER, MetricValueError),
            ([{"a": 1}], ValueType.NUMBER, MetricValueError),
            (["x" * (MAX_STRING_METRIC_LENGTH + 1)], ValueType.STRING, LimitExceededError),
            ([f"a{SURROGATE}"], ValueType.STRING, MetricValueError),
        ],
    )
    def test_log_metrics_values_must_fit_their_series(
        self, store: Store, values: list[Any], value_type: ValueType, error: type[Exception]
    ) -> None:
        run_id = self._run(store)
        with pytest.raises(error):
            store.log_metrics([_points(run_id, "m", values, value_type=value_type)])
        assert store.list_metric_series([run_id]) == []

    def test_log_metrics_rows_and_steps_are_checked(self, store: Store) -> None:
        run_id = self._run(store)
        table = {"kind": MetricKind.TABLE, "value_type": ValueType.ROW}
        with pytest.raises(MetricValueError):
            store.log_metrics([_points(run_id, "t", [{"a": [1, 2]}], **table)])
        with pytest.raises(LimitExceededError):
            store.log_metrics([_points(run_id, "t", [{str(i): i for i in range(101)}], **table)])
        with pytest.raises(MetricValueError):
            store.log_metrics([_points(run_id, "m", [1.0], steps=[2**64])])
        with pytest.raises(UserError):
            store.log_metrics([_points(run_id, "m", [1.0], **table)])  # a table of numbers
        assert store.list_metric_series([run_id]) == []
        longest = "x" * MAX_STRING_METRIC_LENGTH
        store.log_metrics([_points(run_id, "m", [longest, None], value_type=ValueType.STRING)])
        assert [s.count for s in store.list_metric_series([run_id])] == [2]

    def test_run_definition_and_error_over_limit_are_refused(self, store: Store) -> None:
        run_id = self._run(store)
        huge_definition = {"script": "x" * MAX_RUN_DEFINITION_LENGTH}
        huge_error = {"error": {"message": "x" * MAX_ERROR_LENGTH}}
        with pytest.raises(LimitExceededError, match="run definition"):
            store.update_run(run_id, run_definition=huge_definition)
        with pytest.raises(LimitExceededError, match="run definition"):
            store.create_runs([NewRun("big", "exp", run_definition=huge_definition)])
        with pytest.raises(LimitExceededError, match="error"):
            store.record_error(run_id, huge_error)
        with pytest.raises(LimitExceededError, match="error"):
            store.set_run_status(run_id, store.get_run(run_id).status, huge_error)
        with pytest.raises(UserError, match="surrogate"):
            store.update_run(run_id, run_definition={"script": SURROGATE})
        info = store.get_run(run_id)
        assert (info.run_definition, info.error) == (None, None)
        assert [r.run_id for r in store.search_runs(RunQuery()).runs] == [run_id]

    def test_snapshot_with_unstorable_path_is_refused(self, store: Store) -> None:
        with pytest.raises(UserError):
            store.create_snapshot("snap", [SnapshotFile(f"a{NUL}", "0" * 64, 1)])
        with pytest.raises(UserError):
            store.create_snapshot("s" * 65, [])

    @pytest.mark.parametrize(
        "path",
        [
            "outputs/" + "é" * 128,  # one name of 256 bytes in UTF-8 (128 characters)
            "outputs/" + "🙂" * 64 + ".txt",
            "/".join(["中" * 80] * 9),  # every name fits; 728 characters, 2,168 bytes
        ],
        ids=["name-256-bytes", "emoji-name", "path-2168-bytes"],
    )
    def test_paths_too_long_for_a_file_system_are_refused(
        self, store: Store, tmp_path: Path, path: str
    ) -> None:
        run_id = self._run(store)
        with pytest.raises(InvalidNameError, match="bytes"):
            store.put_artifact(run_id, path, io.BytesIO(b"x"))
        local = tmp_path / "f.txt"
        local.write_bytes(b"x")
        with pytest.raises(InvalidNameError, match="bytes"):
            store.put_new_artifacts(run_id, {path: local})
        with pytest.raises(InvalidNameError, match="bytes"):
            store.append_log(run_id, path, b"x")
        digest = hashlib.sha256(b"x").hexdigest()
        store.put_blob(digest, io.BytesIO(b"x"))
        with pytest.raises(InvalidNameError, match="bytes"):
            store.create_snapshot("snap", [SnapshotFile(path, digest, 1)])
        with pytest.raises(InvalidNameError, match="bytes"):
            store.create_model_version(NewModelVersion("m", files=[SnapshotFile(path, digest, 1)]))
        assert store.list_artifacts(run_id) == [] and store.list_logs(run_id) == {}

    def test_path_names_of_255_bytes_are_kept(self, store: Store) -> None:
        run_id = self._run(store)
        path = "outputs/" + "é" * 127 + "x"  # 255 bytes in UTF-8
        store.put_artifact(run_id, path, io.BytesIO(b"x"))
        with store.open_artifact(run_id, path) as stream:
            assert stream.read() == b"x"
        store.append_log(run_id, "logs/" + "é" * 120, b"log")
        assert store.read_log(run_id, "logs/" + "é" * 120) == b"log"
