"""Bodies of the processes that ``test_sql_specifics`` starts (spawned: importable, top-level).

Each worker reports ``(worker, outcome)`` on ``results``: its result, or the traceback of the error
that stopped it, so the test shows what went wrong inside the process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from runyard.entities import MetricChunk, MetricKind, NewRun, ValueType
from runyard.errors import PropertyConflictError
from runyard.store.sql import SqlStore

SHARED_RUN = "shared-run"
"""One run that every writer logs to, so that they contend for the same series rows."""


@dataclasses.dataclass(frozen=True)
class SqlTarget:
    """Where a SQL store lives: what a process needs to open it (picklable)."""

    url: str
    artifact_root: str
    schema: str | None = None
    storage_options: dict[str, Any] | None = None
    """fsspec options of the artifact root (an ``s3://`` root's endpoint and keys)."""

    def open(self) -> SqlStore:
        return SqlStore(
            self.url, self.artifact_root, schema=self.schema, storage_options=self.storage_options
        )

    def migrate_to(self, revision: str) -> None:
        """Create the store at an older ``revision`` (as an older runyard left it)."""
        from runyard.store.sql import engine as sql_engine
        from runyard.store.sql import migrate

        engine = sql_engine.create_sql_engine(self.url, self.schema)
        try:
            migrate.upgrade(engine, migrate.STORE_MIGRATIONS, self.schema, revision=revision)
        finally:
            engine.dispose()


def _report(worker: int, results: Queue[tuple[int, Any]], body: Callable[[], Any]) -> None:
    try:
        results.put((worker, body()))
    except BaseException:
        results.put((worker, "FAILED\n" + traceback.format_exc()))


def write_runs(
    target: SqlTarget,
    worker: int,
    count: int,
    barrier: Barrier,
    results: Queue[tuple[int, Any]],
) -> None:
    """Create ``count`` runs in experiment ``shared`` and write tags, properties and metrics."""

    def body() -> list[int]:
        store = target.open()
        numbers = []
        try:
            barrier.wait(timeout=60)
            for i in range(count):
                run_id = f"w{worker}-{i:03d}"
                (run,) = store.create_runs([NewRun(run_id, "shared", tags={"worker": str(worker)})])
                numbers.append(run.number)
                store.set_tags(run_id, {"step": str(i)})
                store.add_properties(run_id, {"worker": str(worker), "index": str(i)})
                store.log_metrics(
                    [
                        MetricChunk(
                            run_id,
                            "loss",
                            MetricKind.VECTOR,
                            ValueType.NUMBER,
                            [i, i + 0.5],
                            [i, i],
                        ),
                        MetricChunk(
                            SHARED_RUN,
                            "progress",
                            MetricKind.VECTOR,
                            ValueType.NUMBER,
                            [worker * 1000 + i],
                            [float(i)],
                        ),
                    ]
                )
                store.heartbeat(run_id)
        finally:
            store.close()
        return numbers

    _report(worker, results, body)


def add_raced_property(
    target: SqlTarget,
    worker: int,
    run_id: str,
    barrier: Barrier,
    results: Queue[tuple[int, Any]],
) -> None:
    """Set property ``winner`` of ``run_id`` to this worker's number, all at once: report
    ``"won"``, or ``"conflict: <message>"`` for a PropertyConflictError."""

    def body() -> str:
        store = target.open()
        try:
            barrier.wait(timeout=60)
            try:
                store.add_properties(run_id, {"winner": str(worker), f"w{worker}": "x"})
            except PropertyConflictError as exc:
                return f"conflict: {exc.message}"
            return "won"
        finally:
            store.close()

    _report(worker, results, body)


def get_or_create_experiment(
    target: SqlTarget,
    worker: int,
    name: str,
    barrier: Barrier,
    results: Queue[tuple[int, Any]],
) -> None:
    """Open the store (migrating it, if first) and get or create ``name``, all at once."""

    def body() -> str:
        barrier.wait(timeout=60)
        store = target.open()
        try:
            experiment_id = store.get_or_create_experiment(name).experiment_id
            (run,) = store.create_runs([NewRun(f"run-{worker}", name)])
            assert run.experiment_id == experiment_id
            return experiment_id
        finally:
            store.close()

    _report(worker, results, body)


def blob_content() -> bytes:
    return random.Random(11).randbytes(8 * 1024 * 1024)


def put_same_blob(
    target: SqlTarget,
    worker: int,
    barrier: Barrier,
    results: Queue[tuple[int, Any]],
) -> None:
    """Store the same blob as every other worker, at the same moment."""

    def body() -> None:
        data = blob_content()
        store = target.open()
        try:
            barrier.wait(timeout=60)
            store.put_blob(hashlib.sha256(data).hexdigest(), io.BytesIO(data))
        finally:
            store.close()

    _report(worker, results, body)
