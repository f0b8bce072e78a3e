"""Migration 0008: a store at revision 0007 gets each metric series' ``last_step`` and
``last_time`` filled in from its last stored chunk, whatever that chunk's steps are (none,
packed int64, JSON with or without a last step, a step no 64-bit column holds); a series
without points gets none; more series than the migration reads at once are all filled in; and
writes after the upgrade keep the columns current.

As in ``test_upgrades.py``: the old store is made by its revision's migrations and plain SQL
(``make_fixtures``), on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.store.sql.migrate import current_revision
from tests.reliability import make_fixtures as data
from tests.reliability.old_stores import old_target, raw_engine
from tests.store.sql_workers import SqlTarget


def _i64(*steps: int) -> tuple[str, bytes]:
    return "i64", struct.pack(f"<{len(steps)}q", *steps)


def _json(steps: list[Any] | str) -> tuple[str, bytes]:
    return "json", (steps if isinstance(steps, str) else json.dumps(steps)).encode()


CHUNKS: dict[str, list[tuple[list[float], tuple[str, bytes] | None]]] = {
    # series name: its chunks (values, steps packed or None)
    "i64": [([1.0, 2.0], _i64(0, 1)), ([3.0], _i64(7))],
    "json-last-none": [([1.0], _i64(3)), ([2.0, 3.0], _json([4, None]))],
    "json-last-int": [([1.0, 2.0], _json([None, 9]))],
    "steps-then-none": [([1.0], _i64(5)), ([2.0, 3.0, 4.0], None)],
    "none": [([1.0], None)],
    "huge-step": [([1.0], _json("[" + "1" + "0" * 30 + "]"))],  # older runyards kept it
    "negative": [([1.0], _i64(-(2**63)))],
    "empty": [],  # a series created by a chunk without points
}
EXPECTED: dict[str, tuple[int | None, float | None]] = {
    # series name: (last_step, last_time); chunk c's point i is at 2000 + 10 * c + i
    "i64": (7, 2010.0),
    "json-last-none": (None, 2011.0),
    "json-last-int": (9, 2001.0),
    "steps-then-none": (None, 2012.0),
    "none": (None, 2000.0),
    "huge-step": (None, 2000.0),
    "negative": (-(2**63), 2000.0),
    "empty": (None, None),
}
BULK = 1234
"""Series of one point each on another run: more than the migration reads in one batch."""


def _insert(conn: Connection, run_pk: int, name: str, chunks: list[Any]) -> None:
    conn.execute(
        text(
            "INSERT INTO metric_series (run_pk, name, kind, value_type, description, count, "
            "last_value_json, min_value, max_value, updated_time, last_number) VALUES "
            "(:run_pk, :name, 'vector', 'number', '', :count, :last, NULL, NULL, 0, NULL)"
        ),
        {
            "run_pk": run_pk,
            "name": name,
            "count": sum(len(values) for values, _ in chunks),
            "last": json.dumps(chunks[-1][0][-1]) if chunks else None,
        },
    )
    series_pk = conn.execute(
        text("SELECT pk FROM metric_series WHERE run_pk = :run_pk AND name = :name"),
        {"run_pk": run_pk, "name": name},
    ).scalar_one()
    if not chunks:
        return
    conn.execute(
        text(
            "INSERT INTO metric_chunks (series_pk, count, values_encoding, values_data, "
            "steps_encoding, steps_data, times_data) VALUES (:series_pk, :count, 'f64', :vd, "
            ":se, :sd, :td)"
        ),
        [
            {
                "series_pk": series_pk,
                "count": len(values),
                "vd": struct.pack(f"<{len(values)}d", *values),
                "se": None if steps is None else steps[0],
                "sd": None if steps is None else steps[1],
                "td": struct.pack(
                    f"<{len(values)}d", *(2000.0 + 10 * c + i for i in range(len(values)))
                ),
            }
            for c, (values, steps) in enumerate(chunks)
        ],
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    target = old_target(request, tmp_path)
    with raw_engine(target) as engine:
        data.create(engine, "0007", target.schema)
        with engine.begin() as conn:
            run_pks = {
                run_id: pk
                for run_id, pk in conn.execute(
                    text("SELECT run_id, pk FROM runs WHERE run_id IN ('run-2', 'old-run')")
                )
            }
            for name, chunks in CHUNKS.items():
                _insert(conn, run_pks["run-2"], name, chunks)
            for i in range(BULK):
                _insert(conn, run_pks["old-run"], f"bulk-{i}", [([float(i)], _i64(i))])
        assert current_revision(engine) == "0007"
    return target


def test_upgrade_fills_last_step_and_time_from_the_last_chunk(old_store: SqlTarget) -> None:
    store = old_store.open()  # opening migrates
    try:
        got = {s.name: (s.last_step, s.last_time) for s in store.list_metric_series(["run-2"])}
        assert got == EXPECTED
        bulk = store.list_metric_series(["old-run"])
        assert len(bulk) == BULK
        assert all((s.last_step, s.last_time) == (i, 2000.0) for i, s in enumerate(bulk))
        # The fixture's own series (written as a 0007 runyard wrote them).
        for series in data.SERIES:
            values, steps = series["chunks"][-1]
            found = next(
                s for s in store.list_metric_series([series["run_id"]]) if s.name == series["name"]
            )
            last = data.chunk_times(len(series["chunks"]) - 1, len(values))[-1]
            assert (found.last_step, found.last_time) == (
                None if steps is None else steps[-1],
                last,
            )
        # Writes after the upgrade keep them current.
        store.log_metrics(
            [
                MetricChunk(
                    "run-2", name, MetricKind.VECTOR, ValueType.NUMBER, [0.5], [3000.0], [11]
                )
                for name in ("empty", "json-last-none")
            ]
        )
        after = {
            s.name: (s.count, s.last_step, s.last_time) for s in store.list_metric_series(["run-2"])
        }
        assert (after["empty"], after["json-last-none"]) == ((1, 11, 3000.0), (4, 11, 3000.0))
    finally:
        store.close()
