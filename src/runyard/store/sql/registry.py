"""The SQL store's verbs of registered models (Azure ML's model registry).

``SqlRegistryVerbs`` holds them, and ``SqlStore`` inherits them (kept out of ``store.py``), in
its transactions (``_read``, ``_write``). Tables: ``schema.py``; rules: ``store/registry.py``.

A version's files are blobs, copied from its run's artifacts when it is registered from a
run, so that it outlives the run. Numbering: a registration locks its name's row
(``registered_models``) and takes the next number of its counter, so concurrent registrations
of one name get distinct versions (SQLite's write lock serialises writers anyway).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select, update

from runyard.entities import ModelVersionInfo, ModelVersionQuery, NewModelVersion, SnapshotFile
from runyard.errors import ModelPathNotFoundError, UserError
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    check_count,
    check_text,
    normalize_artifact_path,
)
from runyard.store import base, checks
from runyard.store import registry as rules
from runyard.store.sql import requests
from runyard.store.sql.dialect import for_update, insert_ignoring_conflicts
from runyard.store.sql.hooks import SqlHooks
from runyard.store.sql.keyvalues import immutable_additions
from runyard.store.sql.schema import (
    blobs,
    experiments,
    model_version_files,
    model_version_properties,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_models,
    runs,
)

_IN_LIST_SIZE = 5000
_LABELS = {"tag": model_version_tags, "property": model_version_properties}


def _select_versions() -> Any:
    return (
        select(
            model_versions.c.pk,
            registered_models.c.name,
            model_versions.c.version,
            model_versions.c.created_time,
            model_versions.c.root,
            model_versions.c.description,
            runs.c.run_id,
            experiments.c.name.label("experiment_name"),
        )
        .select_from(
            model_versions.join(
                registered_models, model_versions.c.model_pk == registered_models.c.pk
            )
            .outerjoin(runs, model_versions.c.run_pk == runs.c.pk)
            .outerjoin(experiments, runs.c.experiment_pk == experiments.c.pk)
        )
        .order_by(registered_models.c.name, model_versions.c.version.desc())
    )


class SqlRegistryVerbs(SqlHooks):
    """Registered models on SQL; ``SqlStore`` provides the hooks (SqlHooks)."""

    # -- helpers -------------------------------------------------------------------------------

    def _load_versions(self, conn: Connection, found: Sequence[Any]) -> list[ModelVersionInfo]:
        """The versions of the rows ``found`` (of ``_select_versions``), in their order."""
        pks = [row.pk for row in found]
        tags: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        properties: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        files: dict[int, list[SnapshotFile]] = {pk: [] for pk in pks}
        for start in range(0, len(pks), _IN_LIST_SIZE):
            part = pks[start : start + _IN_LIST_SIZE]
            for table, into in ((model_version_tags, tags), (model_version_properties, properties)):
                stmt = select(table).where(table.c.version_pk.in_(part)).order_by(table.c.key)
                for row in conn.execute(stmt):
                    into[row.version_pk][row.key] = row.value
            stmt = (
                select(model_version_files)
                .where(model_version_files.c.version_pk.in_(part))
                .order_by(model_version_files.c.path)
            )
            for row in conn.execute(stmt):
                files[row.version_pk].append(SnapshotFile(row.path, row.digest, row.size))
        return [
            ModelVersionInfo(
                name=row.name,
                version=row.version,
                created_time=row.created_time,
                root=row.root,
                files=tuple(files[row.pk]),
                description=row.description,
                tags=tags[row.pk],
                properties=properties[row.pk],
                run_id=row.run_id,
                experiment_name=row.experiment_name,
            )
            for row in found
        ]

    def _version_pk(self, conn: Connection, name: str, version: int, *, lock: bool = False) -> int:
        """The pk of the version, its row locked until the transaction ends with ``lock``.

        Raises:
            RegisteredModelNotFoundError: there is none.
        """
        rules.check_model_name(name)
        rules.check_version(version)
        stmt = (
            select(model_versions.c.pk)
            .select_from(
                model_versions.join(
                    registered_models, model_versions.c.model_pk == registered_models.c.pk
                )
            )
            .where(registered_models.c.name == name, model_versions.c.version == version)
        )
        pk = conn.execute(for_update(conn, stmt) if lock else stmt).scalar()
        if pk is None:
            raise rules.no_model(name, version)
        return int(pk)

    def _load_version(self, conn: Connection, pk: int) -> ModelVersionInfo:
        found = conn.execute(_select_versions().where(model_versions.c.pk == pk)).all()
        return self._load_versions(conn, found)[0]

    def _copy_run_files(self, run_id: str, run_path: str) -> list[SnapshotFile]:
        """Copy the run's artifacts at or under ``run_path`` into blobs; return them as model
        files. Outside any transaction: the bytes may be large (blobs are safe to store twice).

        Raises:
            RunNotFoundError: there is no such run.
            ModelPathNotFoundError: it has no artifact there.
        """
        prefix = normalize_artifact_path(run_path)
        try:
            chosen = rules.run_model_files(
                run_path, (a.path for a in self.list_artifacts(run_id, prefix))
            )
        except ModelPathNotFoundError:
            # Again with every file of the run, for the message (as Azure's lists them).
            chosen = rules.run_model_files(run_path, (a.path for a in self.list_artifacts(run_id)))
        files = []
        for artifact_path, model_path in sorted(chosen.items()):
            with self.open_artifact(run_id, artifact_path) as source:
                spool, digest = rules.spool_with_digest(source)
            with spool:
                size = spool.seek(0, 2)
                spool.seek(0)
                self.put_blob(digest, spool)
            files.append(SnapshotFile(model_path, digest, size))
        return files

    def _lock_blobs(self, conn: Connection, digests: Iterable[str]) -> set[str]:
        """Which of these blobs are stored (their rows locked; blobs are never deleted)."""
        wanted = sorted(set(digests))
        have: set[str] = set()
        for start in range(0, len(wanted), _IN_LIST_SIZE):
            stmt = select(blobs.c.digest).where(
                blobs.c.digest.in_(wanted[start : start + _IN_LIST_SIZE])
            )
            have.update(conn.execute(for_update(conn, stmt)).scalars())
        return have

    # -- verbs ---------------------------------------------------------------------------------

    def create_model_version(
        self, model: NewModelVersion, *, request_id: str | None = None
    ) -> ModelVersionInfo:
        base.check_request_id(request_id)
        rules.check_new_version(model)
        files = list(model.files)
        if model.run_path is not None and model.run_id is not None:
            files = self._copy_run_files(model.run_id, model.run_path)
        root = rules.model_root(files)
        self._forget_old_requests(request_id)
        now = time.time()
        with self._write() as conn:
            if not requests.claim(conn, request_id):
                stmt = select(model_versions.c.pk).where(model_versions.c.request_id == request_id)
                pk = conn.execute(stmt).scalar()
                if pk is None:
                    raise UserError(
                        f"Request id {request_id!r} was applied already, to another write: a "
                        "request id names one request. Send a new one with each request."
                    )
                return self._load_version(conn, pk)
            run_pk = None if model.run_id is None else self._run_pk(conn, model.run_id)
            missing = {f.digest for f in files} - self._lock_blobs(conn, (f.digest for f in files))
            if missing:
                raise UserError(
                    f"Model {model.name!r} names {len(missing)} file(s) whose content is not "
                    "stored: put_blob them, then register again."
                )
            conn.execute(
                insert_ignoring_conflicts(conn, registered_models),
                {"name": model.name, "version_counter": 0, "created_time": now},
            )
            stmt = select(registered_models.c.pk, registered_models.c.version_counter).where(
                registered_models.c.name == model.name
            )
            model_pk, counter = conn.execute(for_update(conn, stmt)).one()
            version = counter + 1
            conn.execute(
                update(registered_models)
                .where(registered_models.c.pk == model_pk)
                .values(version_counter=version, updated_time=now)
            )
            pk = conn.execute(
                model_versions.insert()
                .values(
                    model_pk=model_pk,
                    version=version,
                    created_time=now,
                    root=root,
                    description=model.description,
                    run_pk=run_pk,
                    request_id=request_id,
                )
                .returning(model_versions.c.pk)
            ).scalar_one()
            for table, items in (
                (model_version_tags, model.tags),
                (model_version_properties, model.properties),
            ):
                if items:
                    conn.execute(
                        table.insert(),
                        [{"version_pk": pk, "key": k, "value": v} for k, v in items.items()],
                    )
            conn.execute(
                model_version_files.insert(),
                [
                    {"version_pk": pk, "path": f.path, "digest": f.digest, "size": f.size}
                    for f in files
                ],
            )
            return self._load_version(conn, pk)

    def get_model_version(self, name: str, version: int | None = None) -> ModelVersionInfo:
        rules.check_model_name(name)
        with self._read() as conn:
            if version is not None:
                return self._load_version(conn, self._version_pk(conn, name, version))
            found = conn.execute(
                _select_versions().where(registered_models.c.name == name).limit(1)
            ).all()
            if not found:
                raise rules.no_model(name)
            return self._load_versions(conn, found)[0]

    def search_model_versions(self, query: ModelVersionQuery) -> list[ModelVersionInfo]:
        rules.check_query(query)
        stmt = _select_versions()
        if query.name is not None:
            stmt = stmt.where(registered_models.c.name == query.name)
        if query.run_id is not None:
            stmt = stmt.where(runs.c.run_id == query.run_id)
        for what, filters in (("tag", query.tags), ("property", query.properties)):
            table = _LABELS[what]
            for item in filters:
                match = exists().where(
                    table.c.version_pk == model_versions.c.pk, table.c.key == item.key
                )
                if item.match_value:
                    match = match.where(table.c.value == item.value)
                stmt = stmt.where(match)
        with self._read() as conn:
            found = conn.execute(stmt).all()
            if query.latest:
                # Rows come by name, newest version first: the first of each name is its latest.
                firsts: dict[str, Any] = {}
                for row in found:
                    firsts.setdefault(row.name, row)
                found = list(firsts.values())
            return self._load_versions(conn, found)

    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], remove: Iterable[str] = ()
    ) -> ModelVersionInfo:
        rules.check_labels(tags=tags)
        removed = list(remove)
        checks.check_names("model tag key", removed)
        with self._write() as conn:
            pk = self._version_pk(conn, name, version, lock=True)
            if tags:
                conn.execute(
                    delete(model_version_tags).where(
                        model_version_tags.c.version_pk == pk,
                        model_version_tags.c.key.in_(list(tags)),
                    )
                )
                conn.execute(
                    model_version_tags.insert(),
                    [{"version_pk": pk, "key": k, "value": v} for k, v in tags.items()],
                )
            if removed:
                conn.execute(
                    delete(model_version_tags).where(
                        model_version_tags.c.version_pk == pk, model_version_tags.c.key.in_(removed)
                    )
                )
            count = conn.execute(
                select(func.count()).where(model_version_tags.c.version_pk == pk)
            ).scalar_one()
            check_count("model tag", count, rules.MAX_MODEL_VERSION_TAGS)
            return self._load_version(conn, pk)

    def add_model_version_properties(
        self, name: str, version: int, properties: Mapping[str, str]
    ) -> ModelVersionInfo:
        rules.check_labels(properties=properties)
        with self._write() as conn:
            pk = self._version_pk(conn, name, version, lock=True)
            table = model_version_properties
            stored = dict(
                conn.execute(
                    select(table.c.key, table.c.value).where(table.c.version_pk == pk)
                ).all()
            )
            new = immutable_additions(
                stored,
                properties,
                lambda key, old, value: (
                    f"Property {key!r:.200} of model {name}:{version} is already {old!r:.200} "
                    f"and cannot be changed to {value!r:.200}: properties are immutable once "
                    "set. Use a tag for values that change."
                ),
            )
            check_count(
                "model property", len(stored) + len(new), rules.MAX_MODEL_VERSION_PROPERTIES
            )
            if new:
                conn.execute(
                    table.insert(),
                    [{"version_pk": pk, "key": k, "value": v} for k, v in new.items()],
                )
            return self._load_version(conn, pk)

    def set_model_version_description(
        self, name: str, version: int, description: str | None
    ) -> ModelVersionInfo:
        check_text("model description", description, MAX_DESCRIPTION_LENGTH)
        with self._write() as conn:
            pk = self._version_pk(conn, name, version, lock=True)
            conn.execute(
                update(model_versions)
                .where(model_versions.c.pk == pk)
                .values(description=description or None)
            )
            return self._load_version(conn, pk)

    def delete_model_version(self, name: str, version: int) -> None:
        with self._write() as conn:
            pk = self._version_pk(conn, name, version, lock=True)
            self._delete_versions(conn, [pk])

    def _delete_versions(self, conn: Connection, pks: Sequence[int]) -> None:
        """Delete the versions ``pks`` (their rows locked) with their files, tags, properties
        and aliases. Their blobs stay: content-addressed bytes are shared with snapshots and
        other versions, and deleting them after the commit would race a concurrent
        ``put_blob``/registration of the same content (a new version pointing at no bytes)."""
        for start in range(0, len(pks), _IN_LIST_SIZE):
            part = list(pks[start : start + _IN_LIST_SIZE])
            for row in conn.execute(
                select(model_versions.c.model_pk, model_versions.c.version).where(
                    model_versions.c.pk.in_(part)
                )
            ).all():
                conn.execute(
                    delete(registered_model_aliases).where(
                        registered_model_aliases.c.model_pk == row.model_pk,
                        registered_model_aliases.c.version == row.version,
                    )
                )
            for table in (model_version_files, model_version_tags, model_version_properties):
                conn.execute(delete(table).where(table.c.version_pk.in_(part)))
            conn.execute(delete(model_versions).where(model_versions.c.pk.in_(part)))


__all__ = ["SqlRegistryVerbs"]
