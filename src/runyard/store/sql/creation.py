"""Creating experiments and runs: runs numbered per experiment, without gaps, under concurrency.
Also experiments looked up by id, created (never got) and renamed.

An experiment's ``run_counter`` is raised by an UPDATE in the transaction that inserts the runs.
SQLite's write lock serialises such transactions; on PostgreSQL the UPDATE locks the experiment's
row until the commit, and a second batch's UPDATE waits, then reads the committed counter.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from runyard.entities import ExperimentInfo, NewRun, RunInfo, new_run_change
from runyard.errors import (
    ExperimentExistsError,
    ExperimentNotEmptyError,
    ExperimentNotFoundError,
    UserError,
)
from runyard.limits import EXPERIMENT_ID_RE
from runyard.store.sql import requests
from runyard.store.sql.dialect import insert_ignoring_conflicts
from runyard.store.sql.rows import experiment_from_row
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


# -- experiments by id, created or renamed (MLflow's experiment calls need these) --------------


def experiment_by_id(conn: Connection, experiment_id: str) -> Any:
    """The row of the experiment whose id is ``experiment_id``.

    Raises:
        ExperimentNotFoundError: there is none.
    """
    row = None
    # An id that breaks the id rule names no experiment: not worth a query.
    if isinstance(experiment_id, str) and EXPERIMENT_ID_RE.fullmatch(experiment_id):
        stmt = select(experiments).where(experiments.c.experiment_id == experiment_id)
        row = conn.execute(stmt).first()
    if row is None:
        raise ExperimentNotFoundError(
            f"No experiment has the id {experiment_id!r:.60}. `runyard experiments list --all` "
            "shows the ids of the workspace's experiments."
        )
    return row


def create_experiment(
    conn: Connection,
    name: str,
    experiment_id: str | None,
    tags: Mapping[str, str | None],
    request_id: str | None,
) -> ExperimentInfo:
    """``Store.create_experiment`` in ``conn``'s transaction (its arguments checked); return
    the experiment as stored. ``experiment_id`` None: a new uuid4.

    ``INSERT ... ON CONFLICT DO NOTHING``: of two transactions creating the same name (or id),
    the second waits for the first (SQLite's write lock; PostgreSQL's unique index), then
    inserts nothing, and says which one exists.

    Raises:
        ExperimentExistsError: an experiment of that name or id exists, archived or not.
        UserError: ``request_id`` was applied to another write.
    """
    if not requests.claim(conn, request_id):
        left = requests.experiment_left_by(conn, request_id, name=name, experiment_id=experiment_id)
        return experiment_from_row(left)
    new_id = str(uuid.uuid4()) if experiment_id is None else experiment_id
    now = time.time()
    tags_json = json.dumps(dict(tags))
    inserted = conn.execute(
        insert_ignoring_conflicts(conn, experiments),
        {
            "experiment_id": new_id,
            "name": name,
            "created_time": now,
            "run_counter": 0,
            "tags_json": tags_json,
        },
    ).rowcount
    if not inserted:
        taken = select(experiments.c.pk).where(experiments.c.name == name)
        if conn.execute(taken).first() is not None:
            raise ExperimentExistsError(
                f"An experiment named {name!r} exists already (archived ones count too): names "
                "are unique in a workspace. Choose another name, or use that experiment "
                "(Experiment(workspace, name) gets it)."
            )
        raise ExperimentExistsError(
            f"An experiment with the id {new_id!r} exists already: ids are unique in a "
            "workspace. Choose another id, or leave it unset to get a new uuid4."
        )
    return ExperimentInfo(
        experiment_id=new_id,
        name=name,
        created_time=now,
        tags=json.loads(tags_json),  # as a read gives them
    )


def rename_experiment(
    conn: Connection, name: str, new_name: str, request_id: str | None
) -> ExperimentInfo:
    """``Store.rename_experiment`` in ``conn``'s transaction (its arguments checked); return
    the experiment as it is now. Runs refer to their experiment by pk: they follow at once.

    Raises:
        ExperimentNotFoundError: there is no experiment ``name``.
        ExperimentExistsError: ``new_name`` is taken, by an archived experiment too.
        UserError: ``request_id`` was applied to another write.
    """
    if not requests.claim(conn, request_id):
        return experiment_from_row(requests.experiment_left_by(conn, request_id, name=new_name))
    row = experiment_row(conn, name, lock=True)
    if new_name == name:
        return experiment_from_row(row)
    try:
        conn.execute(update(experiments).where(experiments.c.pk == row.pk).values(name=new_name))
    except IntegrityError:  # the unique name: taken, or taken meanwhile by a concurrent write
        raise ExperimentExistsError(
            f"Cannot rename experiment {name!r} to {new_name!r}: an experiment of that name "
            "exists already (archived ones count too). Choose another name, or rename that "
            "experiment first."
        ) from None
    return experiment_from_row(experiment_row(conn, new_name))


def delete_experiment(conn: Connection, experiment_id: str) -> None:
    """``Store.delete_experiment`` in ``conn``'s transaction.

    Raises:
        ExperimentNotFoundError: there is no such experiment.
        ExperimentNotEmptyError: it has runs (deleted ones too).
    """
    row = experiment_by_id(conn, experiment_id)
    count = conn.execute(
        select(func.count()).select_from(runs).where(runs.c.experiment_pk == row.pk)
    ).scalar_one()
    if count:
        raise ExperimentNotEmptyError(
            f"Cannot delete experiment {row.name!r}: it has {count} run"
            f"{'s' if count > 1 else ''} (deleted runs count: they can be restored). Only an "
            "experiment without runs is deleted; archive() hides one that has runs."
        )
    # A run created meanwhile would have raised the counter: delete only if it did not move.
    deleted = conn.execute(
        experiments.delete().where(
            experiments.c.pk == row.pk, experiments.c.run_counter == row.run_counter
        )
    ).rowcount
    if not deleted:
        raise ExperimentNotEmptyError(
            f"Cannot delete experiment {row.name!r}: a run was just created in it."
        )


_RAISE_COUNTER = (
    update(experiments)
    .where(experiments.c.name == bindparam("b_name"))
    .values(run_counter=experiments.c.run_counter + bindparam("b_count"))
    .returning(experiments.c.pk, experiments.c.experiment_id, experiments.c.run_counter)
)
"""Raise an experiment's counter by the runs of a batch; gives its pk, id and new counter."""
_PARENT = select(runs.c.pk, runs.c.root_pk).where(runs.c.run_id == bindparam("b_run_id"))
_RUN_ID = select(runs.c.run_id).where(runs.c.pk == bindparam("b_pk"))
_INSERT_RUN = runs.insert()
_INSERT_TAGS = run_tags.insert()
_INSERT_PROPERTIES = run_properties.insert()


@dataclass(frozen=True, slots=True)
class _Created:
    pk: int
    root_pk: int | None
    root_run_id: str | None


def _raise_counter(conn: Connection, name: str, count: int) -> Row[Any]:
    """Raise the counter of the experiment ``name`` (created when missing) by ``count``."""
    params = {"b_name": name, "b_count": count}
    row = conn.execute(_RAISE_COUNTER, params).first()
    if row is None:
        # Created here, not before the transaction: a batch that fails creates nothing.
        ensure_experiment(conn, name)
        row = conn.execute(_RAISE_COUNTER, params).one()
    return row


def insert_runs(
    conn: Connection, new_runs: Sequence[NewRun], now: float, *, heartbeat: bool = False
) -> list[tuple[int, RunInfo]]:
    """Insert the runs (numbered per experiment, which is created when missing) with their tags
    and properties; return their pks and the runs as stored, in order (built from what was
    written: no read). With ``heartbeat``, their heartbeat time is ``now``.

    Raises:
        UserError: a parent run is missing.
        IntegrityError: a run id is taken.
    """
    counters: dict[str, int] = {}
    ids: dict[str, tuple[int, str]] = {}  # experiment name -> (pk, experiment id)
    by_experiment: dict[str, int] = {}
    for new in new_runs:
        by_experiment[new.experiment_name] = by_experiment.get(new.experiment_name, 0) + 1
    # By name: on PostgreSQL the UPDATE locks the experiment's row until the commit (the
    # numbers stay gapless), and two batches must take their locks in the same order.
    for name, count in sorted(by_experiment.items()):
        row = _raise_counter(conn, name, count)
        counters[name] = int(row.run_counter) - count
        ids[name] = (row.pk, row.experiment_id)
    created: list[tuple[int, RunInfo]] = []
    beat = now if heartbeat else None
    local: dict[str, _Created] = {}
    tag_rows: list[dict[str, Any]] = []
    property_rows: list[dict[str, Any]] = []
    for new in new_runs:
        parent_pk = root_pk = None
        root_run_id = None
        if new.parent_run_id is not None:
            parent = local.get(new.parent_run_id) or _stored_parent(conn, new)
            parent_pk = parent.pk
            root_pk = parent.root_pk if parent.root_pk is not None else parent_pk
            root_run_id = parent.root_run_id or new.parent_run_id
        counters[new.experiment_name] += 1
        number = counters[new.experiment_name]
        experiment_pk, experiment_id = ids[new.experiment_name]
        times = new_run_change(new.status, now)
        definition = None if new.run_definition is None else json.dumps(new.run_definition)
        inserted = conn.execute(
            _INSERT_RUN,
            {
                "run_id": new.run_id,
                "experiment_pk": experiment_pk,
                "parent_pk": parent_pk,
                "root_pk": root_pk,
                "number": number,
                "status": new.status.value,
                "run_type": new.run_type,
                "display_name": new.display_name,
                "description": new.description,
                "target": new.target,
                "created_time": now,
                "start_time": times.start_time,
                "end_time": times.end_time,
                "heartbeat_time": beat,
                "run_definition_json": definition,
                "submitted_by": new.submitted_by,
            },
        ).inserted_primary_key
        assert inserted is not None
        pk = int(inserted[0])
        local[new.run_id] = _Created(pk, root_pk, root_run_id)
        tag_rows.extend({"run_pk": pk, "key": k, "value": v} for k, v in new.tags.items())
        property_rows.extend(
            {"run_pk": pk, "key": k, "value": v} for k, v in new.properties.items()
        )
        info = RunInfo(
            run_id=new.run_id,
            experiment_id=experiment_id,
            experiment_name=new.experiment_name,
            number=number,
            status=new.status,
            created_time=now,
            parent_run_id=new.parent_run_id,
            root_run_id=root_run_id,
            run_type=new.run_type,
            display_name=new.display_name,
            description=new.description,
            target=new.target,
            start_time=times.start_time,
            end_time=times.end_time,
            heartbeat_time=beat,
            run_definition=None if definition is None else json.loads(definition),
            submitted_by=new.submitted_by,
            # Keys in code-point order, as a read gives them (``rows.load_runs``).
            tags=dict(sorted(new.tags.items())),
            properties=dict(sorted(new.properties.items())),
        )
        created.append((pk, info))
    # All the batch's tags (and properties) in one statement each.
    if tag_rows:
        conn.execute(_INSERT_TAGS, tag_rows)
    if property_rows:
        conn.execute(_INSERT_PROPERTIES, property_rows)
    return created


def _stored_parent(conn: Connection, new: NewRun) -> _Created:
    """The stored parent of ``new``.

    Raises:
        UserError: there is none.
    """
    parent = conn.execute(_PARENT, {"b_run_id": new.parent_run_id}).first()
    if parent is None:
        # A UserError as the contract says: the batch itself is wrong.
        raise UserError(
            f"Parent run {new.parent_run_id!r} of run {new.run_id!r} was not "
            "found; children need an existing parent. Create the parent first "
            "(or earlier in the same batch)."
        )
    root_run_id = None
    if parent.root_pk is not None:
        root_run_id = conn.execute(_RUN_ID, {"b_pk": parent.root_pk}).scalar_one()
    return _Created(parent.pk, parent.root_pk, root_run_id)
