"""The upgrade fixtures: a small store at each released schema revision, as that runyard left it.

    python -m tests.reliability.make_fixtures      (from the repository's root)

writes ``tests/reliability/fixtures/store-<revision>.db`` for each of ``REVISIONS``: the store's
migrations run up to the revision (Alembic), then plain SQL inserts write the data below, in
the columns and encodings of that revision: experiments (one archived), runs (a child, a run
that failed, one running, one whose stop was requested), tags, properties, metric series and
their packed points, artifacts (one complete, one whose upload died half-way), a snapshot and
its blob, run logs (0002 on), an applied request id (0003 on), each metric series' last value
as a number (0005 on), a deleted run (0006 on), and a logged model of a run with its tag,
param and metric value, a dataset the run used and the model as its output (0007 on). Artifact
and blob bytes are not in the fixture: ``BYTES`` says what they are and where they go under an
artifact root.

``test_upgrades.py`` upgrades a copy of each file to the newest revision and checks the data
against the constants here; on PostgreSQL it runs ``create`` in a fresh schema instead. When a
new revision is released, add it to ``REVISIONS`` (with the data it introduced) and run this
again; the older files must not change (they are what that runyard wrote).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from runyard.store.sql.engine import create_sql_engine
from runyard.store.sql.migrate import STORE_MIGRATIONS, upgrade

REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
"""The released revisions of a store; the newest one (``STORE_MIGRATIONS.head``) is not here."""
FIXTURES = Path(__file__).with_name("fixtures")

T0 = 1_760_000_000.0
"""The fixtures' times: fixed, so a file made again holds the same data (not quite the same
bytes: Alembic's batch migrations of SQLite list a table's constraints in no fixed order)."""

EXPERIMENTS: list[dict[str, Any]] = [
    {
        "experiment_id": "6f1c2d4e-0000-4000-8000-000000000001",
        "name": "upgrades",
        "created_time": T0,
        "archived_time": None,
        "run_counter": 3,
        "tags_json": json.dumps({"team": "vision"}),
    },
    {
        "experiment_id": "6f1c2d4e-0000-4000-8000-000000000002",
        "name": "old-work",
        "created_time": T0 + 1,
        "archived_time": T0 + 2,
        "run_counter": 1,
        "tags_json": "{}",
    },
]

RUNS: list[dict[str, Any]] = [
    {
        "run_id": "run-1",
        "experiment": "upgrades",
        "parent": None,
        "number": 1,
        "status": "Completed",
        "run_type": "azureml.scriptrun",
        "display_name": "first",
        "description": "the baseline",
        "target": "local",
        "created_time": T0 + 10,
        "start_time": T0 + 11,
        "end_time": T0 + 20,
        "heartbeat_time": T0 + 19,
        "error": None,
        "run_definition": {"script": "train.py", "arguments": ["--lr", "0.1"]},
        "submitted_by": "alice",
    },
    {
        "run_id": "run-1-child",
        "experiment": "upgrades",
        "parent": "run-1",
        "number": 2,
        "status": "Failed",
        "run_type": None,
        "display_name": None,
        "description": None,
        "target": "local",
        "created_time": T0 + 12,
        "start_time": T0 + 12,
        "end_time": T0 + 13,
        "heartbeat_time": None,
        "error": {"error": {"code": "UserError", "message": "division by zero"}},
        "run_definition": None,
        "submitted_by": "alice",
    },
    {
        "run_id": "run-2",
        "experiment": "upgrades",
        "parent": None,
        "number": 3,
        "status": "Running",
        "run_type": None,
        "display_name": "second",
        "description": None,
        "target": "local",
        "created_time": T0 + 30,
        "start_time": T0 + 30,
        "end_time": None,
        "heartbeat_time": T0 + 40,
        "error": None,
        "run_definition": None,
        "submitted_by": "bob",
    },
    {
        "run_id": "old-run",
        "experiment": "old-work",
        "parent": None,
        "number": 1,
        "status": "Completed",
        "run_type": None,
        "display_name": None,
        "description": None,
        "target": "local",
        "created_time": T0 + 3,
        "start_time": T0 + 3,
        "end_time": T0 + 4,
        "heartbeat_time": None,
        "error": None,
        "run_definition": None,
        "submitted_by": None,
    },
]
STOPPING = {"run_id": "run-2", "status": "CancelRequested", "stop_status": "Canceled"}
"""From 0002 on (``stop_status``): run-2's stop was requested, and it ends Canceled."""
DELETED = {"run_id": "old-run", "deleted_time": T0 + 5}
"""From 0006 on (``deleted_time``): old-run was deleted."""
MODEL_ROW: dict[str, Any] = {
    "model_id": "m-0123456789abcdef0123456789abcdef",
    "run_id": "run-1",
    "name": "classifier",
    "model_type": "sklearn",
    "status": "ready",
    "created_time": T0 + 15,
    "updated_time": T0 + 16,
    "tags": {"stage": "candidate"},
    "params": {"alpha": "0.5"},
    "metric": {"key": "acc", "value": 0.75, "time": T0 + 17, "step": 3},
}
"""From 0007 on: a logged model that run-1 made (its output at step 3), its tag, param and
metric value (measured on ``DATASET``)."""
DATASET: dict[str, Any] = {
    "name": "iris",
    "digest": "a1b2c3d4",
    "source_type": "code",
    "source": "{}",
    "tags": {"mlflow.data.context": "train"},
}
"""From 0007 on: a dataset run-1 used."""

TAGS: dict[str, dict[str, str | None]] = {
    "run-1": {"lr": "0.1", "tuned": None},
    "run-1-child": {"kind": "child"},
}
PROPERTIES: dict[str, dict[str, str]] = {
    "run-1": {"azureml.git.commit": "0123abcd", "ContentSnapshotId": "snapshot-1"},
}

SERIES: list[dict[str, Any]] = [
    {
        "run_id": "run-1",
        "name": "loss",
        "kind": "vector",
        "value_type": "number",
        "description": "training loss",
        "chunks": [([0.5, 0.25], [0, 1]), ([0.125], [2])],
    },
    {
        "run_id": "run-1",
        "name": "epoch",
        "kind": "vector",
        "value_type": "number",
        "description": "",
        "chunks": [([1, 2, 3], None)],
    },
    {
        "run_id": "run-1",
        "name": "note",
        "kind": "vector",
        "value_type": "string",
        "description": "",
        "chunks": [(["start", "done"], None)],
    },
    {
        "run_id": "run-1",
        "name": "per_class",
        "kind": "table",
        "value_type": "row",
        "description": "",
        "chunks": [([{"class": "cat", "recall": 0.9}, {"class": "dog", "recall": 0.8}], None)],
    },
]
"""Each series' points as chunks of (values, steps); chunk ``c`` point ``i`` is at time
``T0 + 100 + 10 * c + i``."""

BYTES = {
    "runs/run-1/outputs/model.bin": b"\x00weights of run-1\xff",
    "blobs/{aa}/{digest}": b"print('train')\n",
}
"""The bytes behind the rows, by their place under an artifact root."""
MODEL = ("run-1", "outputs/model.bin")
DIED = ("run-2", "outputs/checkpoint.bin")
"""An upload that died half-way: its row pending (``complete`` 0) since long ago."""
BLOB = BYTES["blobs/{aa}/{digest}"]
BLOB_DIGEST = hashlib.sha256(BLOB).hexdigest()
SNAPSHOT = ("snapshot-1", [["train.py", BLOB_DIGEST, len(BLOB)]])

LOGS = {("run-1", "user_logs/std_log.txt"): [b"epoch 1\n", b"epoch 2\ndone\n"]}
"""From 0002 on: each log's appended pieces, in order."""
APPLIED = ("client-7-1", T0 + 50)
"""From 0003 on: a request id applied (a metric write of run-1 that the store must not apply
again)."""


def byte_places(digest: str = BLOB_DIGEST) -> dict[str, bytes]:
    return {place.format(aa=digest[:2], digest=digest): data for place, data in BYTES.items()}


def chunk_times(chunk: int, count: int) -> list[float]:
    return [T0 + 100 + 10 * chunk + i for i in range(count)]


def _packed(values: Sequence[Any]) -> tuple[str, bytes]:
    """The metric encoding of revisions 0001 to 0003 (``store/codec.py``): little-endian
    doubles, int64, or compact JSON."""
    if all(type(v) is float for v in values):
        return "f64", struct.pack(f"<{len(values)}d", *values)
    if all(type(v) is int for v in values):
        return "i64", struct.pack(f"<{len(values)}q", *values)
    return "json", json.dumps(list(values), separators=(",", ":")).encode()


def _pk(conn: Connection, table: str, column: str, value: str) -> int:
    return int(
        conn.execute(text(f"SELECT pk FROM {table} WHERE {column} = :v"), {"v": value}).one()[0]
    )


def insert(conn: Connection, revision: str) -> None:
    """Write the data into a store at ``revision``, with plain SQL."""
    for experiment in EXPERIMENTS:
        conn.execute(
            text(
                "INSERT INTO experiments (experiment_id, name, created_time, archived_time, "
                "run_counter, tags_json) VALUES (:experiment_id, :name, :created_time, "
                ":archived_time, :run_counter, :tags_json)"
            ),
            experiment,
        )
    for run in RUNS:
        parent = None if run["parent"] is None else _pk(conn, "runs", "run_id", run["parent"])
        values = {
            **{k: v for k, v in run.items() if k not in ("experiment", "parent", "error")},
            "experiment_pk": _pk(conn, "experiments", "name", run["experiment"]),
            "parent_pk": parent,
            "root_pk": parent,
            "error_json": None if run["error"] is None else json.dumps(run["error"]),
            "run_definition": None,
            "run_definition_json": (
                None if run["run_definition"] is None else json.dumps(run["run_definition"])
            ),
        }
        del values["run_definition"]
        conn.execute(
            text(
                "INSERT INTO runs (run_id, experiment_pk, parent_pk, root_pk, number, status, "
                "run_type, display_name, description, target, created_time, start_time, "
                "end_time, heartbeat_time, error_json, run_definition_json, submitted_by) "
                "VALUES (:run_id, :experiment_pk, :parent_pk, :root_pk, :number, :status, "
                ":run_type, :display_name, :description, :target, :created_time, :start_time, "
                ":end_time, :heartbeat_time, :error_json, :run_definition_json, :submitted_by)"
            ),
            values,
        )
    if revision >= "0002":
        conn.execute(
            text(
                "UPDATE runs SET status = :status, stop_status = :stop_status "
                "WHERE run_id = :run_id"
            ),
            STOPPING,
        )
    for table, rows in (("run_tags", TAGS), ("run_properties", PROPERTIES)):
        for run_id, pairs in rows.items():
            for key, value in pairs.items():
                conn.execute(
                    text(f"INSERT INTO {table} (run_pk, key, value) VALUES (:pk, :key, :value)"),
                    {"pk": _pk(conn, "runs", "run_id", run_id), "key": key, "value": value},
                )
    for series in SERIES:
        _insert_series(conn, series, revision)
    model_run, model_path = MODEL
    for (run_id, path), size, complete in (
        (MODEL, len(BYTES[f"runs/{model_run}/{model_path}"]), 1),
        (DIED, 0, 0),
    ):
        conn.execute(
            text(
                "INSERT INTO artifacts (run_pk, path, size, created_time, complete) "
                "VALUES (:pk, :path, :size, :created_time, :complete)"
            ),
            {
                "pk": _pk(conn, "runs", "run_id", run_id),
                "path": path,
                "size": size,
                "created_time": T0 + 60,
                "complete": complete,
            },
        )
    conn.execute(
        text("INSERT INTO blobs (digest, size, created_time) VALUES (:d, :s, :t)"),
        {"d": BLOB_DIGEST, "s": len(BLOB), "t": T0 + 5},
    )
    conn.execute(
        text(
            "INSERT INTO snapshots (snapshot_id, created_time, manifest_json) VALUES (:i, :t, :m)"
        ),
        {"i": SNAPSHOT[0], "t": T0 + 5, "m": json.dumps(SNAPSHOT[1])},
    )
    if revision >= "0002":
        for (run_id, name), pieces in LOGS.items():
            start = 0
            for piece in pieces:
                conn.execute(
                    text(
                        "INSERT INTO run_logs (run_pk, name, start, size, data) "
                        "VALUES (:pk, :name, :start, :size, :data)"
                    ),
                    {
                        "pk": _pk(conn, "runs", "run_id", run_id),
                        "name": name,
                        "start": start,
                        "size": len(piece),
                        "data": piece,
                    },
                )
                start += len(piece)
    if revision >= "0003":
        conn.execute(
            text("INSERT INTO applied_requests (request_id, applied_time) VALUES (:r, :t)"),
            {"r": APPLIED[0], "t": APPLIED[1]},
        )
    if revision >= "0006":
        conn.execute(
            text("UPDATE runs SET deleted_time = :deleted_time WHERE run_id = :run_id"), DELETED
        )
    if revision >= "0007":
        _insert_model(conn)


def _insert_model(conn: Connection) -> None:
    """The logged model of ``MODEL_ROW`` and ``DATASET``, as revision 0007 keeps them."""
    model, run_pk = MODEL_ROW, _pk(conn, "runs", "run_id", MODEL_ROW["run_id"])
    conn.execute(
        text(
            "INSERT INTO logged_models (model_id, run_pk, experiment_pk, name, model_type, "
            "status, created_time, updated_time) SELECT :model_id, pk, experiment_pk, :name, "
            ":model_type, :status, :created_time, :updated_time FROM runs WHERE pk = :run_pk"
        ),
        {**{k: v for k, v in model.items() if k not in ("run_id", "tags", "params", "metric")}}
        | {"run_pk": run_pk},
    )
    model_pk = _pk(conn, "logged_models", "model_id", model["model_id"])
    for table, pairs in (
        ("logged_model_tags", model["tags"]),
        ("logged_model_params", model["params"]),
    ):
        for key, value in pairs.items():
            conn.execute(
                text(f"INSERT INTO {table} (model_pk, key, value) VALUES (:pk, :key, :value)"),
                {"pk": model_pk, "key": key, "value": value},
            )
    conn.execute(
        text(
            "INSERT INTO logged_model_metrics (model_pk, key, value, time, step, run_pk, "
            "dataset_name, dataset_digest) VALUES (:model_pk, :key, :value, :time, :step, "
            ":run_pk, :dataset_name, :dataset_digest)"
        ),
        {
            **model["metric"],
            "model_pk": model_pk,
            "run_pk": run_pk,
            "dataset_name": DATASET["name"],
            "dataset_digest": DATASET["digest"],
        },
    )
    conn.execute(
        text(
            "INSERT INTO run_inputs (run_pk, name, digest, source_type, source, tags_json) "
            "VALUES (:run_pk, :name, :digest, :source_type, :source, :tags_json)"
        ),
        {
            **{k: v for k, v in DATASET.items() if k != "tags"},
            "run_pk": run_pk,
            "tags_json": json.dumps(DATASET["tags"]),
        },
    )
    conn.execute(
        text(
            "INSERT INTO run_models (run_pk, model_pk, role, step) "
            "VALUES (:run_pk, :model_pk, 'output', :step)"
        ),
        {"run_pk": run_pk, "model_pk": model_pk, "step": model["metric"]["step"]},
    )


def _insert_series(conn: Connection, series: dict[str, Any], revision: str) -> None:
    values = [v for chunk_values, _ in series["chunks"] for v in chunk_values]
    numbers = [v for v in values if type(v) in (int, float)]
    conn.execute(
        text(
            "INSERT INTO metric_series (run_pk, name, kind, value_type, description, count, "
            "last_value_json, min_value, max_value, updated_time) VALUES (:run_pk, :name, :kind, "
            ":value_type, :description, :count, :last, :min, :max, :updated)"
        ),
        {
            "run_pk": _pk(conn, "runs", "run_id", series["run_id"]),
            "name": series["name"],
            "kind": series["kind"],
            "value_type": series["value_type"],
            "description": series["description"],
            "count": len(values),
            "last": json.dumps(values[-1]),
            "min": min(numbers) if numbers else None,
            "max": max(numbers) if numbers else None,
            "updated": T0 + 200,
        },
    )
    if revision >= "0005":  # the last value as a number, as that runyard wrote it
        last = values[-1]
        conn.execute(
            text(
                "UPDATE metric_series SET last_number = :number WHERE name = :name AND run_pk = "
                "(SELECT pk FROM runs WHERE run_id = :run_id)"
            ),
            {
                "number": float(last) if type(last) in (int, float) else None,
                "name": series["name"],
                "run_id": series["run_id"],
            },
        )
    series_pk = int(
        conn.execute(
            text(
                "SELECT s.pk FROM metric_series s JOIN runs r ON r.pk = s.run_pk "
                "WHERE r.run_id = :run_id AND s.name = :name"
            ),
            {"run_id": series["run_id"], "name": series["name"]},
        ).one()[0]
    )
    for index, (chunk_values, steps) in enumerate(series["chunks"]):
        values_encoding, values_data = _packed(chunk_values)
        steps_encoding, steps_data = (None, None) if steps is None else _packed(steps)
        conn.execute(
            text(
                "INSERT INTO metric_chunks (series_pk, count, values_encoding, values_data, "
                "steps_encoding, steps_data, times_data) VALUES (:series_pk, :count, :ve, :vd, "
                ":se, :sd, :td)"
            ),
            {
                "series_pk": series_pk,
                "count": len(chunk_values),
                "ve": values_encoding,
                "vd": values_data,
                "se": steps_encoding,
                "sd": steps_data,
                "td": struct.pack(f"<{len(chunk_values)}d", *chunk_times(index, len(chunk_values))),
            },
        )


def create(engine: Engine, revision: str, schema: str | None = None) -> None:
    """Make the store of ``engine`` (in ``schema``, PostgreSQL) at ``revision``, with the data."""
    upgrade(engine, STORE_MIGRATIONS, schema, revision=revision)
    with engine.begin() as conn:
        insert(conn, revision)


def fixture(revision: str) -> Path:
    return FIXTURES / f"store-{revision}.db"


def make(revision: str) -> Path:
    """Write the fixture of ``revision`` afresh: one self-contained SQLite file."""
    path = fixture(revision)
    path.parent.mkdir(exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    engine = create_sql_engine(f"sqlite:///{path}")
    try:
        create(engine, revision)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as db:  # no -wal beside it, and no free pages
        db.execute("PRAGMA journal_mode=DELETE")
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA page_size=1024")  # small pages: a small file
        db.execute("VACUUM")
    for leftover in path.parent.glob(path.name + ".*"):
        leftover.unlink()  # the migration's lock file
    return path


if __name__ == "__main__":
    for made in map(make, REVISIONS):
        print(f"{made} ({made.stat().st_size} bytes)")
