"""The SQL store: SQLite for one machine, PostgreSQL for a team, same code and migrations."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from runyard.entities import (
    ArtifactInfo,
    ExperimentInfo,
    MetricChunk,
    MetricSeries,
    NewRun,
    RunInfo,
    RunPage,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ViewType,
)
from runyard.errors import (
    ArtifactNotFoundError,
    InvalidArgumentError,
    RunNotFoundError,
    RunyardError,
    SnapshotNotFoundError,
    StoreError,
    UserError,
)
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PROPERTIES_PER_RUN,
    MAX_RUN_DEFINITION_LENGTH,
    MAX_TAGS_PER_RUN,
    RUN_ID_RE,
    check_experiment_id,
    check_experiment_name,
    check_int64,
    check_json,
    check_key_values,
    check_new_artifact_path,
    check_run_id,
    check_text,
    normalize_artifact_path,
)
from runyard.settings import TRACKING_URI_ENV
from runyard.store import base, checks
from runyard.store.artifacts import ArtifactRepository
from runyard.store.sql import creation, keyvalues, migrate, one_run, requests, supervision, uploads
from runyard.store.sql import engine as sql_engine
from runyard.store.sql import logs as sql_logs
from runyard.store.sql import metrics as sql_metrics
from runyard.store.sql import status as sql_status
from runyard.store.sql.compute import SqlComputeVerbs
from runyard.store.sql.creation import ensure_experiment, experiment_row, insert_runs
from runyard.store.sql.dialect import (
    by_code_point,
    insert_ignoring_conflicts,
    lock_runs,
    starts_with,
)
from runyard.store.sql.environments import SqlEnvironmentVerbs
from runyard.store.sql.models import SqlModelVerbs
from runyard.store.sql.registered_models import SqlRegisteredModelVerbs
from runyard.store.sql.rows import experiment_from_row, load_runs, run_select
from runyard.store.sql.schema import (
    artifacts,
    blobs,
    experiments,
    run_logs,
    run_tags,
    runs,
    snapshots,
)
from runyard.store.sql.search import count_runs as _count_runs
from runyard.store.sql.search import search_runs as _search_runs

logger = logging.getLogger("runyard")

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_IN_LIST_SIZE = 5000
"""Most values bound in one IN (...): PostgreSQL takes at most 65,535 parameters a statement."""
_LIMITED_COLUMNS: dict[str, Any] = {
    "run type": runs.c.run_type,
    "target": runs.c.target,
    "submitted_by": runs.c.submitted_by,
    "log name": run_logs.c.name,
    "snapshot id": snapshots.c.snapshot_id,
}
"""Text the limits module does not bound: as long as its column (PostgreSQL refuses longer)."""


_KNOWN_SNAPSHOTS = 1000
"""At most this many snapshot ids are remembered as stored (then forgotten, and looked up)."""

PENDING_UPLOAD_WAIT_SECONDS = 5.0
"""How long ``put_artifact`` waits for another upload of the same path to end before refusing."""


def _check_column_text(what: str, value: str | None) -> None:
    limit = _LIMITED_COLUMNS[what].type.length
    assert isinstance(limit, int)
    check_text(what, value, limit)


class SqlStore(SqlModelVerbs, SqlRegisteredModelVerbs, SqlEnvironmentVerbs, SqlComputeVerbs):
    """A Store on an SQLAlchemy database URL, with artifacts under ``artifact_root``.

    Args:
        url: ``sqlite:///path/to/runyard.db`` or ``postgresql+psycopg://user:pw@host/db``.
        artifact_root: where artifact bytes go (a folder or an fsspec URL).
        schema: PostgreSQL only: keep the store in this schema of the database (created when
            missing), isolated from the stores of other schemas. None: the ``public`` schema.

    Raises:
        WorkspaceConfigError: a schema was given for SQLite, or is not a valid schema name.
        StoreError: the database cannot be reached or migrated.
    """

    def __init__(
        self,
        url: str,
        artifact_root: str,
        schema: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.uri = url
        self.schema = schema
        # For messages: never the password.
        self._where = make_url(url).render_as_string(hide_password=True) + (
            f" (schema {schema})" if schema else ""
        )
        self.engine = sql_engine.acquire_engine(url, schema)
        try:
            migrate.upgrade(self.engine, migrate.STORE_MIGRATIONS, schema)
        except DBAPIError as exc:
            sql_engine.release_engine(self.engine)
            raise StoreError(
                f"Cannot open the store {self._where}: {str(exc.orig).strip()}. Check that the "
                "tracking URI names a runyard database that this process can read and write."
            ) from None
        except BaseException:
            sql_engine.release_engine(self.engine)
            raise
        self.artifacts = ArtifactRepository(artifact_root, storage_options)
        self._run_pks: dict[str, int] = {}
        self._snapshots: dict[str, str] = {}
        """The manifests of the snapshots this store created (or found stored), by id."""
        try:
            self.reclaim_abandoned_uploads()
        except (RunyardError, OSError) as exc:
            # Opening a store must not fail for this (a read-only copy, say): the next upload
            # of a path still takes its dead upload over.
            logger.warning("Could not reclaim the abandoned uploads of %s: %s", self._where, exc)
        self.request_retention_seconds = requests.RETENTION_SECONDS
        """How long applied request ids are remembered (``store.sql.requests``)."""
        self._next_prune = 0.0  # time.monotonic() of the next pruning of request ids

    def close(self) -> None:
        sql_engine.release_engine(self.engine)

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        """Database errors as runyard errors: a refused value is the caller's (UserError), any
        other failure the store's (StoreError). Either way the transaction wrote nothing."""
        try:
            yield
        except UnicodeEncodeError as exc:
            # Text the verb's own checks let through (a lookup): not Unicode, so no row has it.
            raise InvalidArgumentError(
                f"A text of this call is not valid Unicode ({exc.reason}: "
                f"{exc.object[exc.start : exc.end]!r}). Nothing was written; send proper UTF-8."
            ) from None
        except DataError as exc:
            raise UserError(
                f"The database refused a value of this call: {str(exc.orig).strip()}. Nothing "
                "was written; change the value."
            ) from exc
        except DBAPIError as exc:
            raise StoreError(
                f"The store {self._where} failed: {str(exc.orig).strip()}. Nothing was written; "
                "check that the database is reachable, then retry."
            ) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._database_errors(), sql_engine.write_transaction(self.engine) as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._database_errors(), sql_engine.read_transaction(self.engine) as conn:
            yield conn

    # -- helpers -------------------------------------------------------------------------------

    def _no_run(self, run_id: str) -> RunNotFoundError:
        return RunNotFoundError(
            f"Run {run_id!r} was not found in {self._where}. Check the run id and the "
            f"workspace ({TRACKING_URI_ENV})."
        )

    def _run_pk(self, conn: Connection, run_id: str) -> int:
        pk = self._run_pks.get(run_id)
        if pk is None:
            # An id that breaks the run id rule names no run: not worth a query (nor a
            # database error for text PostgreSQL cannot hold).
            if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
                raise self._no_run(run_id)
            pk = conn.execute(select(runs.c.pk).where(runs.c.run_id == run_id)).scalar()
            if pk is None:
                raise self._no_run(run_id)
            self._run_pks[run_id] = pk
        return pk

    def _locked_run_pk(self, conn: Connection, run_id: str) -> int:
        """The run's pk, its row locked until the transaction ends (see ``dialect.lock_runs``):
        for verbs that decide from what they read of the run."""
        pk = self._run_pk(conn, run_id)
        lock_runs(conn, [pk])
        return pk

    def _forget_old_requests(self, request_id: str | None) -> None:
        """Before a write with a request id: forget the ids older than the retention, if that
        was not done in the last hour by this store (each in transactions of its own)."""
        now = time.monotonic()
        if request_id is None or now < self._next_prune:
            return
        self._next_prune = now + requests.PRUNE_EVERY_SECONDS
        applied_before = time.time() - self.request_retention_seconds
        while True:
            with self._write() as conn:
                if requests.prune(conn, applied_before) < requests.PRUNE_BATCH:
                    return

    def _load_run(self, conn: Connection, run_id: str) -> RunInfo:
        if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
            raise self._no_run(run_id)
        rows = conn.execute(run_select().where(runs.c.run_id == run_id)).all()
        if not rows:
            raise self._no_run(run_id)
        return load_runs(conn, rows)[0]

    # -- experiments ---------------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> ExperimentInfo:
        check_experiment_name(name)
        with self._read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
            if row is not None:
                return experiment_from_row(row)
        with self._write() as conn:
            ensure_experiment(conn, name)
            return experiment_from_row(experiment_row(conn, name))

    def get_experiment(self, name: str) -> ExperimentInfo:
        checks.check_names("experiment name", [name])
        with self._read() as conn:
            return experiment_from_row(experiment_row(conn, name))

    def list_experiments(
        self, view_type: ViewType = ViewType.ACTIVE_ONLY, name: str | None = None
    ) -> list[ExperimentInfo]:
        stmt = select(experiments)
        if view_type is ViewType.ACTIVE_ONLY:
            stmt = stmt.where(experiments.c.archived_time.is_(None))
        elif view_type is ViewType.ARCHIVED_ONLY:
            stmt = stmt.where(experiments.c.archived_time.is_not(None))
        if name is not None:
            checks.check_names("experiment name", [name])
            stmt = stmt.where(experiments.c.name == name)
        with self._read() as conn:
            stmt = stmt.order_by(by_code_point(conn, experiments.c.name))
            return [experiment_from_row(row) for row in conn.execute(stmt)]

    def set_experiment_archived(self, name: str, archived: bool) -> ExperimentInfo:
        checks.check_names("experiment name", [name])
        if not isinstance(archived, bool):
            raise InvalidArgumentError(f"archived must be True or False, got {archived!r:.40}.")
        with self._write() as conn:
            experiment_row(conn, name)
            conn.execute(
                update(experiments)
                .where(experiments.c.name == name)
                .values(archived_time=time.time() if archived else None)
            )
            return experiment_from_row(experiment_row(conn, name))

    def set_experiment_tags(
        self, name: str, tags: Mapping[str, str | None], remove: Iterable[str] = ()
    ) -> ExperimentInfo:
        checks.check_names("experiment name", [name])
        check_key_values("experiment tag", tags)
        remove = list(remove)
        checks.check_names("experiment tag key", remove)
        with self._write() as conn:
            current = dict(json.loads(experiment_row(conn, name, lock=True).tags_json))
            current.update(tags)
            for key in remove:
                current.pop(key, None)
            check_key_values("experiment tag", current, max_count=MAX_TAGS_PER_RUN)
            conn.execute(
                update(experiments)
                .where(experiments.c.name == name)
                .values(tags_json=json.dumps(current))
            )
            return experiment_from_row(experiment_row(conn, name))

    # Experiments by id, created (never got) and renamed: store/sql/creation.py.

    def get_experiment_by_id(self, experiment_id: str) -> ExperimentInfo:
        with self._read() as conn:
            return experiment_from_row(creation.experiment_by_id(conn, experiment_id))

    def create_experiment(
        self,
        name: str,
        *,
        experiment_id: str | None = None,
        tags: Mapping[str, str | None] | None = None,
        request_id: str | None = None,
    ) -> ExperimentInfo:
        check_experiment_name(name)
        if experiment_id is not None:
            check_experiment_id(experiment_id)
        check_key_values("experiment tag", tags or {}, max_count=MAX_TAGS_PER_RUN)
        base.check_request_id(request_id)
        self._forget_old_requests(request_id)
        with self._write() as conn:
            return creation.create_experiment(conn, name, experiment_id, tags or {}, request_id)

    def rename_experiment(
        self, name: str, new_name: str, *, request_id: str | None = None
    ) -> ExperimentInfo:
        checks.check_names("experiment name", [name])
        check_experiment_name(new_name)
        base.check_request_id(request_id)
        self._forget_old_requests(request_id)
        with self._write() as conn:
            return creation.rename_experiment(conn, name, new_name, request_id)

    def delete_experiment(self, experiment_id: str) -> None:
        with self._write() as conn:
            creation.delete_experiment(conn, experiment_id)

    # -- runs ----------------------------------------------------------------------------------

    def create_runs(
        self,
        new_runs: Sequence[NewRun],
        *,
        request_id: str | None = None,
        heartbeat: bool = False,
    ) -> list[RunInfo]:
        base.check_request_id(request_id)
        self._forget_old_requests(request_id)
        for new in new_runs:
            check_run_id(new.run_id)
            check_experiment_name(new.experiment_name)
            check_key_values("tag", new.tags, max_count=MAX_TAGS_PER_RUN)
            check_key_values("property", new.properties, max_count=MAX_PROPERTIES_PER_RUN)
            check_text("display name", new.display_name, MAX_DISPLAY_NAME_LENGTH)
            check_text("description", new.description, MAX_DESCRIPTION_LENGTH)
            _check_column_text("run type", new.run_type)
            _check_column_text("target", new.target)
            _check_column_text("submitted_by", new.submitted_by)
            if new.parent_run_id is not None:
                checks.check_names("parent run id", [new.parent_run_id])
            if new.run_definition is not None:
                check_json("run definition", new.run_definition, MAX_RUN_DEFINITION_LENGTH)
        if not new_runs:
            return []
        now = time.time()
        with self._write() as conn:
            if not requests.claim(conn, request_id):
                if heartbeat:  # a retry: heartbeat again the runs it created
                    for run in requests.created_by(conn, request_id, new_runs):
                        supervision.heartbeat(conn, self._run_pk(conn, run.run_id))
                return requests.created_by(conn, request_id, new_runs)
            try:
                # The heartbeat in the same transaction: the same as ``heartbeat`` after it.
                created = insert_runs(conn, new_runs, now, heartbeat=heartbeat)
            except IntegrityError as exc:
                raise UserError(
                    "Could not create the runs: a run id is already taken. Leave run_id unset to "
                    f"get a fresh one. ({str(exc.orig).strip()})"
                ) from None
        # Committed: the next verbs on these runs need not look their pks up.
        self._run_pks.update((info.run_id, pk) for pk, info in created)
        return [info for _, info in created]

    def get_run(self, run_id: str) -> RunInfo:
        with self._read() as conn:
            return self._load_run(conn, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        display_name: str | None = base.UNSET,
        description: str | None = base.UNSET,
        run_definition: Mapping[str, Any] | None = base.UNSET,
    ) -> RunInfo:
        values: dict[str, Any] = {}
        if display_name is not base.UNSET:
            values["display_name"] = check_text(
                "display name", display_name, MAX_DISPLAY_NAME_LENGTH
            )
        if description is not base.UNSET:
            values["description"] = check_text("description", description, MAX_DESCRIPTION_LENGTH)
        if run_definition is not base.UNSET:
            if run_definition is not None:
                check_json("run definition", run_definition, MAX_RUN_DEFINITION_LENGTH)
            values["run_definition_json"] = (
                None if run_definition is None else json.dumps(run_definition)
            )
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            if values:
                conn.execute(update(runs).where(runs.c.pk == pk).values(**values))
            return self._load_run(conn, run_id)

    def set_run_status(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        status = RunStatus(status)
        checks.check_error(error)
        now = time.time()
        with self._write() as conn:
            pk = self._locked_run_pk(conn, run_id)
            return sql_status.set_status(conn, pk, status, error, now)

    def reopen_run(self, run_id: str) -> RunInfo:
        with self._write() as conn:
            pk = self._locked_run_pk(conn, run_id)
            return sql_status.reopen(conn, pk, run_id)

    def heartbeat(self, run_id: str) -> None:
        with self._write() as conn:
            supervision.heartbeat(conn, self._run_pk(conn, run_id))

    def claim_queued_run(
        self, run_id: str, target: str, max_active: int, stale_before: float
    ) -> RunInfo:
        _check_column_text("target", target)
        check_int64("max_active", max_active, minimum=0)
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            supervision.claim_queued_run(conn, pk, target, max_active, stale_before)
            return self._load_run(conn, run_id)

    def request_stop(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        checks.check_error(error)
        with self._write() as conn:
            pk = self._locked_run_pk(conn, run_id)
            sql_status.request_stop(conn, pk, RunStatus(status), error)
            return self._load_run(conn, run_id)

    def record_error(self, run_id: str, error: Mapping[str, Any]) -> None:
        checks.check_error(error)
        with self._write() as conn:
            supervision.record_error(conn, self._run_pk(conn, run_id), error)

    def expire_heartbeats(
        self,
        not_responding_before: float,
        fail_before: float,
        error: Mapping[str, Any],
        stopped_error: Mapping[str, Any] | None = None,
    ) -> list[RunInfo]:
        checks.check_error(error)
        with self._read() as conn:
            if not supervision.any_stale(conn, not_responding_before, fail_before):
                return []  # the usual answer, without the write lock
        with self._write() as conn:
            changed = supervision.expire_heartbeats(
                conn, not_responding_before, fail_before, error, stopped_error
            )
            if not changed:
                return []
            rows = conn.execute(run_select().where(runs.c.pk.in_(changed))).all()
            return load_runs(conn, rows)

    # -- logs ----------------------------------------------------------------------------------

    def append_log(
        self, run_id: str, name: str, data: bytes, *, request_id: str | None = None
    ) -> None:
        name = check_new_artifact_path(name)
        _check_column_text("log name", name)
        base.check_request_id(request_id)
        self._forget_old_requests(request_id)
        if not data:
            return
        with self._write() as conn:
            if not requests.claim(conn, request_id):
                return
            sql_logs.append_log(conn, self._locked_run_pk(conn, run_id), name, bytes(data))

    def read_log(self, run_id: str, name: str, offset: int = 0) -> bytes:
        checks.check_names("log name", [name])
        check_int64("log offset", offset, minimum=0)
        with self._read() as conn:
            return sql_logs.read_log(conn, self._run_pk(conn, run_id), name, offset)

    def list_logs(self, run_id: str) -> dict[str, int]:
        with self._read() as conn:
            return sql_logs.list_logs(conn, self._run_pk(conn, run_id))

    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        check_key_values("tag", tags)
        if not tags:
            return
        with self._write() as conn:
            keyvalues.set_tags(conn, self._locked_run_pk(conn, run_id), tags)

    def remove_tags(self, run_id: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        checks.check_names("tag key", keys)
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            if keys:
                conn.execute(
                    delete(run_tags).where(run_tags.c.run_pk == pk, run_tags.c.key.in_(keys))
                )

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        check_key_values("property", properties)
        if not properties:
            return
        with self._write() as conn:
            keyvalues.add_properties(conn, self._locked_run_pk(conn, run_id), properties)

    def search_runs(self, query: RunQuery) -> RunPage:
        checks.check_run_query(query)
        with self._read() as conn:
            return _search_runs(conn, query)

    def count_runs(self, query: RunQuery) -> int:
        checks.check_run_query(query)
        with self._read() as conn:
            return _count_runs(conn, query)

    # -- deleting runs -------------------------------------------------------------------------

    def set_run_deleted(self, run_id: str, deleted: bool) -> RunInfo:
        if not isinstance(deleted, bool):
            raise InvalidArgumentError(f"deleted must be True or False, got {deleted!r:.40}.")
        # Deleting keeps the first deletion's time: one statement, so two deletions at once
        # agree on it.
        when = func.coalesce(runs.c.deleted_time, time.time()) if deleted else None
        with self._write() as conn:
            pk = self._run_pk(conn, run_id)
            conn.execute(update(runs).where(runs.c.pk == pk).values(deleted_time=when))
            return one_run.run_info(conn, one_run.read_row(conn, pk))

    # -- metrics -------------------------------------------------------------------------------

    def log_metrics(self, chunks: Sequence[MetricChunk], *, request_id: str | None = None) -> None:
        base.check_request_id(request_id)
        self._forget_old_requests(request_id)
        if not chunks:
            return
        for chunk in chunks:
            checks.check_metric_chunk(chunk)
        with self._write() as conn:
            if not requests.claim(conn, request_id):
                return
            run_pks = {run_id: self._run_pk(conn, run_id) for run_id in {c.run_id for c in chunks}}
            sql_metrics.log_metrics(conn, run_pks, chunks)

    def _pks_for(self, conn: Connection, run_ids: Sequence[str]) -> dict[int, str]:
        return {self._run_pk(conn, run_id): run_id for run_id in run_ids}

    def list_metric_series(self, run_ids: Sequence[str]) -> list[MetricSeries]:
        with self._read() as conn:
            return sql_metrics.list_metric_series(conn, self._pks_for(conn, run_ids))

    def read_metrics(
        self, run_ids: Sequence[str], names: Sequence[str] | None = None
    ) -> list[MetricChunk]:
        if names is not None:
            checks.check_names("metric name", names)
        with self._read() as conn:
            return sql_metrics.read_metrics(conn, self._pks_for(conn, run_ids), names)

    # -- artifacts -----------------------------------------------------------------------------

    def put_artifact(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        path = check_new_artifact_path(path)
        deadline = time.monotonic() + PENDING_UPLOAD_WAIT_SECONDS
        while True:
            now = time.time()
            with self._write() as conn:
                upload = uploads.Upload.new(self._locked_run_pk(conn, run_id), run_id, path)
                reserved = uploads.reserve(conn, upload, now)
            if not isinstance(reserved, uploads.Busy):
                break
            # A live upload holds the path. One that failed gives it up in a moment (a client
            # that broke off: its server notices and rolls back), and one that went silent is
            # taken over once stale, so wait a little before refusing.
            if time.monotonic() > deadline:
                raise reserved.error
            time.sleep(0.05)
        size = uploads.write(upload, reserved, source, self.artifacts, self._write)
        return ArtifactInfo(run_id=run_id, path=path, size=size, created_time=now)

    def reclaim_abandoned_uploads(self) -> int:
        """Reclaim the uploads that died without a later upload of their path taking them over:
        their reservations, partial files and unfinished S3 uploads; also the partial files no
        upload owns, silent for the stale time (``store/sql/uploads.py``). Run whenever a store
        is opened.

        Returns:
            The number of uploads reclaimed.

        Raises:
            StoreError: the database or the artifact storage failed.
        """
        return uploads.reclaim(self._read, self._write, self.artifacts)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        with self._read() as conn:
            pk = self._run_pk(conn, run_id)
            stmt = select(artifacts.c.path, artifacts.c.size, artifacts.c.created_time).where(
                artifacts.c.run_pk == pk, artifacts.c.complete == 1
            )
            if prefix:
                checks.check_names("artifact path prefix", [prefix])
                stmt = stmt.where(starts_with(artifacts.c.path, prefix))
            stmt = stmt.order_by(by_code_point(conn, artifacts.c.path))
            return [
                ArtifactInfo(run_id=run_id, path=p, size=s, created_time=t)
                for p, s, t in conn.execute(stmt)
            ]

    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        path = normalize_artifact_path(path)
        with self._read() as conn:
            pk = self._run_pk(conn, run_id)
            found = conn.execute(
                select(func.count()).where(
                    artifacts.c.run_pk == pk, artifacts.c.path == path, artifacts.c.complete == 1
                )
            ).scalar_one()
        if not found:
            raise ArtifactNotFoundError(
                f"Run {run_id!r} has no artifact {path!r}. run.get_file_names() lists them."
            )
        return self.artifacts.open_artifact(run_id, path)

    # -- snapshots -----------------------------------------------------------------------------

    def missing_blobs(self, digests: Iterable[str]) -> set[str]:
        wanted = set(digests)
        # A malformed digest names no blob this store can hold: missing, without a query.
        valid = sorted(d for d in wanted if isinstance(d, str) and checks.SHA256_RE.fullmatch(d))
        if not valid:
            return wanted  # nothing to look up (an empty folder's snapshot): no transaction
        have: set[str] = set()
        with self._read() as conn:
            for start in range(0, len(valid), _IN_LIST_SIZE):
                part = valid[start : start + _IN_LIST_SIZE]
                stmt = select(blobs.c.digest).where(blobs.c.digest.in_(part))
                have.update(conn.execute(stmt).scalars())
        return wanted - have

    def put_blob(self, digest: str, source: BinaryIO) -> None:
        checks.check_digest(digest)
        if not self.missing_blobs([digest]):
            return
        size = self.artifacts.write_blob(digest, source)
        with self._write() as conn:
            conn.execute(
                insert_ignoring_conflicts(conn, blobs),
                {"digest": digest, "size": size, "created_time": time.time()},
            )

    def open_blob(self, digest: str) -> BinaryIO:
        if self.missing_blobs([digest]):
            raise SnapshotNotFoundError(f"Snapshot content {digest} is not in the store.")
        return self.artifacts.open_blob(digest)

    def create_snapshot(self, snapshot_id: str, files: Sequence[SnapshotFile]) -> None:
        _check_column_text("snapshot id", snapshot_id)
        for file in files:
            check_new_artifact_path(file.path)  # a path inside the folder it was taken from
            check_int64("snapshot file size", file.size, minimum=0)
        missing = self.missing_blobs(f.digest for f in files)
        if missing:
            raise UserError(
                f"Snapshot {snapshot_id} names {len(missing)} file(s) whose content was not "
                "uploaded; put_blob them first."
            )
        manifest = json.dumps(
            [[f.path, f.digest, f.size] for f in sorted(files, key=lambda f: f.path)]
        )
        if self._snapshots.get(snapshot_id) == manifest:
            return  # stored by this store already (a snapshot is never changed nor deleted)
        with self._write() as conn:
            conn.execute(
                insert_ignoring_conflicts(conn, snapshots),
                {
                    "snapshot_id": snapshot_id,
                    "created_time": time.time(),
                    "manifest_json": manifest,
                },
            )
        if len(self._snapshots) >= _KNOWN_SNAPSHOTS:
            self._snapshots.clear()
        self._snapshots[snapshot_id] = manifest

    def get_snapshot(self, snapshot_id: str) -> list[SnapshotFile]:
        checks.check_names("snapshot id", [snapshot_id])
        with self._read() as conn:
            manifest = conn.execute(
                select(snapshots.c.manifest_json).where(snapshots.c.snapshot_id == snapshot_id)
            ).scalar()
        if manifest is None:
            raise SnapshotNotFoundError(f"Snapshot {snapshot_id!r} was not found.")
        return [SnapshotFile(path=p, digest=d, size=s) for p, d, s in json.loads(manifest)]
