"""Creating experiments and runs: runs numbered per experiment, without gaps, under concurrency.

An experiment's ``run_counter`` is raised by an UPDATE in the transaction that inserts the runs.
SQLite's write lock serialises such transactions; on PostgreSQL the UPDATE locks the experiment's
row until the commit, and a second batch's UPDATE waits, then reads the committed counter.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from runyard.entities import NewRun, new_run_change
from runyard.errors import ExperimentNotFoundError, UserError
from runyard.store.sql.dialect import insert_ignoring_conflicts
from runyard.store.sql.schema import experiments, run_properties, run_tags, runs


def experiment_row(conn: Connection, name: str, lock: bool = False) -> Any:
    """The experiment's row (locked until the transaction ends, with ``lock``, on PostgreSQL).

    Raises:
        ExperimentNotFoundError: there is none.
    """
    stmt = select(experiments).where(experiments.c.name == name)
    if lock:
        stmt = stmt.with_for_update(key_share=True)  # nothing on SQLite: it locks all
    row = conn.execute(stmt).first()
    if row is None:
        raise ExperimentNotFoundError(
            f"Experiment {name!r} was not found. Experiment(workspace, name) creates it."
        )
    return row


def ensure_experiment(conn: Connection, name: str) -> None:
    """Create the experiment ``name`` in ``conn``'s transaction unless it exists."""
    conn.execute(
        insert_ignoring_conflicts(conn, experiments),
        {
            "experiment_id": str(uuid.uuid4()),
            "name": name,
            "created_time": time.time(),
            "run_counter": 0,
            "tags_json": "{}",
        },
    )


def insert_runs(conn: Connection, new_runs: Sequence[NewRun], now: float) -> list[int]:
    """Insert the runs (numbered per experiment, which is created when missing) with their tags
    and properties; return their pks in order.

    Raises:
        UserError: a parent run is missing.
        IntegrityError: a run id is taken.
    """
    counters: dict[str, int] = {}
    by_experiment: dict[str, int] = {}
    for new in new_runs:
        by_experiment[new.experiment_name] = by_experiment.get(new.experiment_name, 0) + 1
    # By name: on PostgreSQL the UPDATE locks the experiment's row until the commit (the
    # numbers stay gapless), and two batches must take their locks in the same order.
    for name, count in sorted(by_experiment.items()):
        # Created here, not before the transaction: a batch that fails creates nothing.
        ensure_experiment(conn, name)
        conn.execute(
            update(experiments)
            .where(experiments.c.name == name)
            .values(run_counter=experiments.c.run_counter + count)
        )
        row = experiment_row(conn, name)
        counters[name] = int(row.run_counter) - count
        by_experiment[name] = row.pk
    created: list[int] = []
    local_pks: dict[str, tuple[int, int | None]] = {}
    for new in new_runs:
        parent_pk = root_pk = None
        if new.parent_run_id is not None:
            if new.parent_run_id in local_pks:
                parent_pk, parent_root = local_pks[new.parent_run_id]
            else:
                parent = conn.execute(
                    select(runs.c.pk, runs.c.root_pk).where(runs.c.run_id == new.parent_run_id)
                ).first()
                if parent is None:
                    # A UserError as the contract says: the batch itself is wrong.
                    raise UserError(
                        f"Parent run {new.parent_run_id!r} of run {new.run_id!r} was not "
                        "found; children need an existing parent. Create the parent first "
                        "(or earlier in the same batch)."
                    )
                parent_pk, parent_root = parent.pk, parent.root_pk
            root_pk = parent_root if parent_root is not None else parent_pk
        counters[new.experiment_name] += 1
        times = new_run_change(new.status, now)
        inserted = conn.execute(
            runs.insert().values(
                run_id=new.run_id,
                experiment_pk=by_experiment[new.experiment_name],
                parent_pk=parent_pk,
                root_pk=root_pk,
                number=counters[new.experiment_name],
                status=new.status.value,
                run_type=new.run_type,
                display_name=new.display_name,
                description=new.description,
                target=new.target,
                created_time=now,
                start_time=times.start_time,
                end_time=times.end_time,
                run_definition_json=json.dumps(new.run_definition)
                if new.run_definition is not None
                else None,
                submitted_by=new.submitted_by,
            )
        ).inserted_primary_key
        assert inserted is not None
        pk = int(inserted[0])
        local_pks[new.run_id] = (pk, root_pk)
        created.append(pk)
        if new.tags:
            conn.execute(
                run_tags.insert(),
                [{"run_pk": pk, "key": k, "value": v} for k, v in new.tags.items()],
            )
        if new.properties:
            conn.execute(
                run_properties.insert(),
                [{"run_pk": pk, "key": k, "value": v} for k, v in new.properties.items()],
            )
    return created
