"""Migration 0005: a store at revision 0004 whose metric series end in numbers, NaN, infinities,
text, booleans, None, rows, or integers beyond a double's range gets ``last_number`` filled in
as the store itself would have written it, and filters and sorts see it.

As in ``test_upgrades.py``: the old store is made by its revision's migrations and plain SQL
(``make_fixtures``), on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from runyard.entities import RunQuery
from runyard.store.sql.migrate import current_revision
from tests.reliability import make_fixtures as data
from tests.reliability.old_stores import old_target, raw_engine
from tests.store.sql_workers import SqlTarget

LAST_VALUES: dict[str, tuple[str, float | None]] = {
    # series name: (last_value_json as an older runyard wrote it, the last_number expected)
    "float": ("0.125", 0.125),
    "int": ("3", 3.0),
    "negative": ("-2.5e-3", -0.0025),
    "nan": ("NaN", None),
    "inf": ("Infinity", math.inf),
    "minus-inf": ("-Infinity", -math.inf),
    "text": ('"done"', None),
    "numeric-text": ('"0.5"', None),
    "bool": ("true", None),
    "none": ("null", None),
    "row": ('{"recall":0.9}', None),
    "huge-int": ("1" + "0" * 400, None),  # kept as JSON before issue 8 refused such ints
    "int64": (str(2**63 - 1), float(2**63 - 1)),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    target = old_target(request, tmp_path)
    with raw_engine(target) as engine:
        data.create(engine, "0004", target.schema)
        with engine.begin() as conn:
            run_pk = conn.execute(text("SELECT pk FROM runs WHERE run_id = 'run-2'")).scalar_one()
            for name, (last, _) in LAST_VALUES.items():
                conn.execute(
                    text(
                        "INSERT INTO metric_series (run_pk, name, kind, value_type, description, "
                        "count, last_value_json, min_value, max_value, updated_time) VALUES "
                        "(:run_pk, :name, 'vector', 'number', '', 1, :last, NULL, NULL, 0)"
                    ),
                    {"run_pk": run_pk, "name": name, "last": last},
                )
        assert current_revision(engine) == "0004"
    return target


def _last_numbers(target: SqlTarget) -> dict[tuple[str, str], Any]:
    with raw_engine(target) as engine, engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.run_id, s.name, s.last_number FROM metric_series s "
                "JOIN runs r ON r.pk = s.run_pk"
            )
        ).all()
    return {(run_id, name): number for run_id, name, number in rows}


def test_upgrade_fills_last_number_from_the_last_value(old_store: SqlTarget) -> None:
    store = old_store.open()  # opening migrates
    try:
        numbers = _last_numbers(old_store)
        expected = {("run-2", name): number for name, (_, number) in LAST_VALUES.items()}
        # The fixture's own series of run-1: numbers, text, rows.
        for series in data.SERIES:
            last = series["chunks"][-1][0][-1]
            number = float(last) if type(last) in (int, float) else None
            expected[(series["run_id"], series["name"])] = number
        assert numbers == expected
        # Filters and sorts read it.
        assert json.loads(LAST_VALUES["huge-int"][0]) > 1e308
        query = RunQuery(filter="metrics.float = 0.125", include_children=True)
        assert [r.run_id for r in store.search_runs(query).runs] == ["run-2"]
        query = RunQuery(filter="metrics.nan IS NOT NULL AND metrics.nan != 0")
        assert store.search_runs(query).runs == []
        query = RunQuery(filter="metrics.loss < 0.2 OR metrics.inf > 1e308", include_children=True)
        assert [r.run_id for r in store.search_runs(query).runs] == ["run-2", "run-1"]
        query = RunQuery(order_by=["metrics.epoch DESC"], include_children=True)
        assert [r.run_id for r in store.search_runs(query).runs][:1] == ["run-1"]
    finally:
        store.close()
