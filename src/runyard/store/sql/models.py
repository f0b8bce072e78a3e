"""The SQL store's verbs of logged models (MLflow 3's) and of what runs use and make.

``SqlModelVerbs`` holds them, and ``SqlStore`` inherits them: the verbs are SqlStore's, in its
transactions (``_read``, ``_write``) and with its run lookups, kept out of ``store.py``, which
holds everything else. Checks and rows -> entities: ``model_rows``; tables: ``schema.py``.

A logged model's row points at its source run and that run's experiment; its files are the
run's artifacts under ``models/<model_id>/`` (``entities.model_artifact_path``), written by the
artifact verbs like any other. Writes that decide from what they read (a tag count, a param
that may conflict, values recorded already) lock the model's row (PostgreSQL; SQLite's write
lock serialises writers anyway).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from runyard.entities import (
    DatasetInput,
    LoggedModelInfo,
    LoggedModelPage,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelMetric,
    ModelOutput,
    NewLoggedModel,
    RunIO,
)
from runyard.errors import (
    InvalidArgumentError,
    LoggedModelExistsError,
    LoggedModelNotFoundError,
    UserError,
)
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_MODEL_METRICS,
    MAX_MODEL_PARAMS,
    MAX_MODEL_TAGS,
    MAX_RUN_DATASETS,
    RUN_ID_RE,
    check_text,
)
from runyard.store import base, checks
from runyard.store.sql import model_rows as rows
from runyard.store.sql import requests
from runyard.store.sql.dialect import for_update
from runyard.store.sql.hooks import SqlHooks
from runyard.store.sql.keyvalues import immutable_additions
from runyard.store.sql.schema import (
    ModelRole,
    experiments,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    run_inputs,
    run_models,
    runs,
)


class SqlModelVerbs(SqlHooks):
    """Logged models and run inputs/outputs on SQL; ``SqlStore`` provides the hooks (SqlHooks)."""

    # -- helpers -------------------------------------------------------------------------------

    def _model_row(self, conn: Connection, model_id: str, *, lock: bool = False) -> Any:
        """The model's row (pk, status, deleted_time), locked until the transaction ends with
        ``lock``.

        Raises:
            LoggedModelNotFoundError: there is none.
        """
        if not rows.is_model_id(model_id):
            raise rows.no_model(model_id)
        stmt = select(
            logged_models.c.pk, logged_models.c.status, logged_models.c.deleted_time
        ).where(logged_models.c.model_id == model_id)
        row = conn.execute(for_update(conn, stmt) if lock else stmt).first()
        if row is None:
            raise rows.no_model(model_id)
        return row

    def _model_pks(self, conn: Connection, model_ids: Sequence[str]) -> dict[str, int]:
        """The pk of each model id.

        Raises:
            LoggedModelNotFoundError: one names no model.
        """
        wanted = list(dict.fromkeys(model_ids))
        for model_id in wanted:
            if not rows.is_model_id(model_id):
                raise rows.no_model(model_id)
        found: dict[str, int] = {}
        for start in range(0, len(wanted), rows.IN_LIST_SIZE):
            part = wanted[start : start + rows.IN_LIST_SIZE]
            stmt = select(logged_models.c.model_id, logged_models.c.pk).where(
                logged_models.c.model_id.in_(part)
            )
            found.update((model_id, pk) for model_id, pk in conn.execute(stmt))
        for model_id in wanted:
            if model_id not in found:
                raise rows.no_model(model_id)
        return found

    def _load_model(self, conn: Connection, model_id: str) -> LoggedModelInfo:
        if not rows.is_model_id(model_id):
            raise rows.no_model(model_id)
        found = conn.execute(rows.model_select().where(logged_models.c.model_id == model_id)).all()
        if not found:
            raise rows.no_model(model_id)
        return rows.load_models(conn, found)[0]

    def _run_pks_of(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, int]:
        """The pk of each run id, in one query per 5,000 the store has not cached (not one per
        run). Those looked up are not cached: a page of a search may name thousands.

        Raises:
            RunNotFoundError: one names no run.
        """
        wanted = list(dict.fromkeys(run_ids))
        for run_id in wanted:
            if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
                raise self._no_run(run_id)
        found = {run_id: self._run_pks[run_id] for run_id in wanted if run_id in self._run_pks}
        unknown = [run_id for run_id in wanted if run_id not in found]
        for start in range(0, len(unknown), rows.IN_LIST_SIZE):
            part = unknown[start : start + rows.IN_LIST_SIZE]
            stmt = select(runs.c.run_id, runs.c.pk).where(runs.c.run_id.in_(part))
            found.update((run_id, pk) for run_id, pk in conn.execute(stmt))
        for run_id in wanted:
            if run_id not in found:
                raise self._no_run(run_id)
        return {run_id: found[run_id] for run_id in wanted}

    # -- logged models -------------------------------------------------------------------------

    def create_logged_model(
        self, model: NewLoggedModel, *, request_id: str | None = None
    ) -> LoggedModelInfo:
        base.check_request_id(request_id)
        rows.check_new_model(model)
        self._forget_old_requests(request_id)
        now = time.time()
        with self._write() as conn:
            if not requests.claim(conn, request_id):
                try:
                    return self._load_model(conn, model.model_id)
                except LoggedModelNotFoundError:
                    raise UserError(
                        f"Request id {request_id!r} was applied already, to another write: a "
                        "request id names one request. Send a new one with each request."
                    ) from None
            run_pk = self._run_pk(conn, model.source_run_id)
            experiment_pk = conn.execute(
                select(runs.c.experiment_pk).where(runs.c.pk == run_pk)
            ).scalar_one()
            try:
                pk = conn.execute(
                    logged_models.insert()
                    .values(
                        model_id=model.model_id,
                        run_pk=run_pk,
                        experiment_pk=experiment_pk,
                        name=model.name,
                        model_type=model.model_type,
                        status=LoggedModelStatus.PENDING.value,
                        created_time=now,
                        updated_time=now,
                    )
                    .returning(logged_models.c.pk)
                ).scalar_one()
            except IntegrityError:
                raise LoggedModelExistsError(
                    f"A logged model {model.model_id!r} exists already: model ids are unique. "
                    "Leave the id to the client (MLflow makes a new one per model)."
                ) from None
            for table, items in (
                (logged_model_tags, model.tags),
                (logged_model_params, model.params),
            ):
                if items:
                    conn.execute(
                        table.insert(),
                        [{"model_pk": pk, "key": k, "value": v} for k, v in items.items()],
                    )
            return self._load_model(conn, model.model_id)

    def get_logged_model(self, model_id: str) -> LoggedModelInfo:
        with self._read() as conn:
            return self._load_model(conn, model_id)

    def update_logged_model(
        self, model_id: str, status: LoggedModelStatus, status_message: str | None = None
    ) -> LoggedModelInfo:
        status = rows.check_status(status)
        if status is LoggedModelStatus.PENDING:
            raise InvalidArgumentError(
                f"A model is pending from its creation until it is finished: finish "
                f"{model_id!r:.80} as {LoggedModelStatus.READY.value!r} or "
                f"{LoggedModelStatus.FAILED.value!r}."
            )
        check_text("model status message", status_message, MAX_DESCRIPTION_LENGTH)
        with self._write() as conn:
            row = self._model_row(conn, model_id, lock=True)
            if row.status == status.value:
                return self._load_model(conn, model_id)
            if row.status != LoggedModelStatus.PENDING.value:
                raise InvalidArgumentError(
                    f"Logged model {model_id!r} is {row.status} already, and cannot become "
                    f"{status.value}: a finished model's status is final. Log the model again "
                    "to make a new one."
                )
            conn.execute(
                update(logged_models)
                .where(logged_models.c.pk == row.pk)
                .values(
                    status=status.value, status_message=status_message, updated_time=time.time()
                )
            )
            return self._load_model(conn, model_id)

    def search_logged_models(self, query: LoggedModelQuery) -> LoggedModelPage:
        after = rows.check_query(query)
        stmt = rows.model_select()
        if query.experiment_names:
            stmt = stmt.where(experiments.c.name.in_(list(query.experiment_names)))
        if query.source_run_id is not None:
            stmt = stmt.where(runs.c.run_id == query.source_run_id)
        if query.name is not None:
            stmt = stmt.where(logged_models.c.name == query.name)
        if not query.include_deleted:
            stmt = stmt.where(logged_models.c.deleted_time.is_(None))
        if after is not None:
            stmt = stmt.where(logged_models.c.pk < after)
        stmt = stmt.order_by(logged_models.c.pk.desc()).limit(query.page_size + 1)
        with self._read() as conn:
            found = conn.execute(stmt).all()
            more = len(found) > query.page_size
            found = found[: query.page_size]
            models = rows.load_models(conn, found)
        token = rows.page_token(found[-1].pk) if more else None
        return LoggedModelPage(models, token)

    def delete_logged_model(self, model_id: str) -> LoggedModelInfo:
        with self._write() as conn:
            row = self._model_row(conn, model_id, lock=True)
            if row.deleted_time is None:
                now = time.time()
                conn.execute(
                    update(logged_models)
                    .where(logged_models.c.pk == row.pk)
                    .values(deleted_time=now, updated_time=now)
                )
            return self._load_model(conn, model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        rows.check_values("model tag", tags, MAX_MODEL_TAGS)
        with self._write() as conn:
            pk = self._model_row(conn, model_id, lock=True).pk
            if not tags:
                return
            existing = set(
                conn.execute(
                    select(logged_model_tags.c.key).where(logged_model_tags.c.model_pk == pk)
                ).scalars()
            )
            if len(existing | set(tags)) > MAX_MODEL_TAGS:
                rows.raise_too_many("tag", len(existing | set(tags)), MAX_MODEL_TAGS)
            replaced = [key for key in tags if key in existing]
            if replaced:
                conn.execute(
                    delete(logged_model_tags).where(
                        logged_model_tags.c.model_pk == pk, logged_model_tags.c.key.in_(replaced)
                    )
                )
            conn.execute(
                logged_model_tags.insert(),
                [{"model_pk": pk, "key": k, "value": v} for k, v in tags.items()],
            )
            self._touch(conn, pk)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        checks.check_names("model tag key", [key])
        with self._write() as conn:
            pk = self._model_row(conn, model_id, lock=True).pk
            removed = conn.execute(
                delete(logged_model_tags).where(
                    logged_model_tags.c.model_pk == pk, logged_model_tags.c.key == key
                )
            ).rowcount
            if not removed:
                raise LoggedModelNotFoundError(
                    f"Logged model {model_id!r} has no tag {key!r:.80}; nothing was deleted."
                )
            self._touch(conn, pk)

    def add_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        rows.check_values("model param", params, MAX_MODEL_PARAMS)
        with self._write() as conn:
            pk = self._model_row(conn, model_id, lock=True).pk
            if not params:
                return
            stored = dict(
                conn.execute(
                    select(logged_model_params.c.key, logged_model_params.c.value).where(
                        logged_model_params.c.model_pk == pk
                    )
                ).all()
            )
            new = immutable_additions(
                stored,
                params,
                lambda key, old, value: (
                    f"Param {key!r} of logged model {model_id!r} is already {old!r:.200} and "
                    f"cannot be changed to {value!r:.200}: params are immutable once set. Use a "
                    "tag for values that change."
                ),
            )
            if len(stored) + len(new) > MAX_MODEL_PARAMS:
                rows.raise_too_many("param", len(stored) + len(new), MAX_MODEL_PARAMS)
            if new:
                conn.execute(
                    logged_model_params.insert(),
                    [{"model_pk": pk, "key": k, "value": v} for k, v in new.items()],
                )
                self._touch(conn, pk)

    def add_logged_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        rows.check_metrics(metrics)
        with self._write() as conn:
            pk = self._model_row(conn, model_id, lock=True).pk
            if not metrics:
                return
            run_pks = self._run_pks_of(conn, [m.run_id for m in metrics if m.run_id is not None])
            keys = sorted({m.key for m in metrics})
            stmt = (
                select(logged_model_metrics, runs.c.run_id)
                .select_from(
                    logged_model_metrics.outerjoin(runs, logged_model_metrics.c.run_pk == runs.c.pk)
                )
                .where(logged_model_metrics.c.model_pk == pk, logged_model_metrics.c.key.in_(keys))
            )
            seen = {rows.metric_identity(rows.metric_from_row(r)) for r in conn.execute(stmt)}
            new: list[dict[str, Any]] = []
            for metric in metrics:
                identity = rows.metric_identity(metric)
                if identity in seen:
                    continue
                seen.add(identity)
                new.append(
                    {
                        "model_pk": pk,
                        "key": metric.key,
                        "value": None if math.isnan(metric.value) else float(metric.value),
                        "time": float(metric.time),
                        "step": metric.step,
                        "run_pk": None if metric.run_id is None else run_pks[metric.run_id],
                        "dataset_name": metric.dataset_name,
                        "dataset_digest": metric.dataset_digest,
                    }
                )
            if not new:
                return
            count = conn.execute(
                select(func.count()).where(logged_model_metrics.c.model_pk == pk)
            ).scalar_one()
            if count + len(new) > MAX_MODEL_METRICS:
                rows.raise_too_many("metric value", count + len(new), MAX_MODEL_METRICS)
            conn.execute(logged_model_metrics.insert(), new)
            self._touch(conn, pk)

    def _touch(self, conn: Connection, pk: int) -> None:
        """The model changed now (MLflow's ``last_updated_timestamp``)."""
        conn.execute(
            update(logged_models).where(logged_models.c.pk == pk).values(updated_time=time.time())
        )

    # -- what runs use and make ----------------------------------------------------------------

    def log_run_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), model_ids: Sequence[str] = ()
    ) -> None:
        rows.check_datasets(datasets)
        with self._write() as conn:
            run_pk = self._locked_run_pk(conn, run_id)
            model_pks = self._model_pks(conn, model_ids)
            if datasets:
                stmt = select(run_inputs.c.name, run_inputs.c.digest).where(
                    run_inputs.c.run_pk == run_pk
                )
                have = {(name, digest) for name, digest in conn.execute(stmt)}
                new: dict[tuple[str, str], DatasetInput] = {}
                for dataset in datasets:
                    key = (dataset.name, dataset.digest)
                    if key not in have:
                        new.setdefault(key, dataset)
                if len(have) + len(new) > MAX_RUN_DATASETS:
                    raise InvalidArgumentError(
                        f"A run can record at most {MAX_RUN_DATASETS} datasets as its inputs; "
                        f"this call would make it {len(have) + len(new)}."
                    )
                if new:
                    conn.execute(
                        run_inputs.insert(), [_dataset_row(run_pk, d) for d in new.values()]
                    )
            self._link(conn, run_pk, ModelRole.INPUT, {model_pks[m]: 0 for m in model_ids})

    def log_run_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        rows.check_outputs(outputs)
        with self._write() as conn:
            run_pk = self._locked_run_pk(conn, run_id)
            model_pks = self._model_pks(conn, [o.model_id for o in outputs])
            steps: dict[int, int] = {}
            for output in outputs:
                steps.setdefault(model_pks[output.model_id], output.step)
            self._link(conn, run_pk, ModelRole.OUTPUT, steps)

    def _link(self, conn: Connection, run_pk: int, role: ModelRole, steps: dict[int, int]) -> None:
        """Link the run with these models (model pk: step) unless linked in ``role`` already."""
        if not steps:
            return
        stmt = select(run_models.c.model_pk).where(
            run_models.c.run_pk == run_pk, run_models.c.role == role.value
        )
        have = set(conn.execute(stmt).scalars())
        new = [
            {"run_pk": run_pk, "model_pk": pk, "role": role.value, "step": step}
            for pk, step in steps.items()
            if pk not in have
        ]
        if new:
            conn.execute(run_models.insert(), new)

    def get_run_io(self, run_ids: Sequence[str]) -> dict[str, RunIO]:
        with self._read() as conn:
            pks = self._run_pks_of(conn, run_ids)
            ids = {pk: run_id for run_id, pk in pks.items()}
            datasets: dict[int, list[DatasetInput]] = {pk: [] for pk in ids}
            inputs: dict[int, list[str]] = {pk: [] for pk in ids}
            outputs: dict[int, list[ModelOutput]] = {pk: [] for pk in ids}
            every = sorted(ids)
            for start in range(0, len(every), rows.IN_LIST_SIZE):
                part = every[start : start + rows.IN_LIST_SIZE]
                stmt = select(run_inputs).where(run_inputs.c.run_pk.in_(part))
                for row in conn.execute(stmt.order_by(run_inputs.c.pk)):
                    datasets[row.run_pk].append(rows.dataset_from_row(row))
                stmt = (
                    select(run_models.c.run_pk, run_models.c.role, run_models.c.step)
                    .add_columns(logged_models.c.model_id)
                    .select_from(
                        run_models.join(logged_models, run_models.c.model_pk == logged_models.c.pk)
                    )
                    .where(run_models.c.run_pk.in_(part))
                    .order_by(run_models.c.model_pk)
                )
                for row in conn.execute(stmt):
                    if row.role == ModelRole.INPUT.value:
                        inputs[row.run_pk].append(row.model_id)
                    else:
                        outputs[row.run_pk].append(ModelOutput(row.model_id, row.step))
        return {
            ids[pk]: RunIO(tuple(datasets[pk]), tuple(inputs[pk]), tuple(outputs[pk]))
            for pk in pks.values()
        }


def _dataset_row(run_pk: int, dataset: DatasetInput) -> dict[str, Any]:
    return {
        "run_pk": run_pk,
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
        "schema": dataset.schema,
        "profile": dataset.profile,
        "tags_json": json.dumps(dict(dataset.tags)),
    }
