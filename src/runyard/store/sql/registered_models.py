"""The SQL store's verbs of model names (MLflow's registered models): a name made empty, its
description, tags and aliases, and deleting it with its versions.

``SqlRegisteredModelVerbs`` extends ``SqlRegistryVerbs`` (the versions) and ``SqlStore``
inherits it. A name's row (``registered_models``) is locked by each change of it and by each
registration of a version, so an alias never names a version being deleted, and a name is
never deleted under a registration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy import update as sql_update

from runyard.entities import RegisteredModelInfo, RegisteredModelUpdate
from runyard.errors import RegisteredModelExistsError
from runyard.limits import check_count
from runyard.store import registry as rules
from runyard.store.sql.dialect import for_update, insert_ignoring_conflicts
from runyard.store.sql.registry import SqlRegistryVerbs
from runyard.store.sql.schema import (
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)


class SqlRegisteredModelVerbs(SqlRegistryVerbs):
    """Model names on SQL; ``SqlStore`` provides the hooks (SqlHooks)."""

    def _load_names(self, conn: Connection, found: Sequence[Any]) -> list[RegisteredModelInfo]:
        """The names of the ``registered_models`` rows ``found``, in their order."""
        tags: dict[int, dict[str, str]] = {row.pk: {} for row in found}
        aliases: dict[int, dict[str, int]] = {row.pk: {} for row in found}
        pks = list(tags)
        if pks:
            table = registered_model_tags
            stmt = select(table).where(table.c.model_pk.in_(pks)).order_by(table.c.key)
            for row in conn.execute(stmt):
                tags[row.model_pk][row.key] = row.value
            alias_table = registered_model_aliases
            stmt = (
                select(alias_table)
                .where(alias_table.c.model_pk.in_(pks))
                .order_by(alias_table.c.alias)
            )
            for row in conn.execute(stmt):
                aliases[row.model_pk][row.alias] = row.version
        return [
            RegisteredModelInfo(
                name=row.name,
                created_time=row.created_time,
                updated_time=row.updated_time or row.created_time,
                description=row.description,
                tags=tags[row.pk],
                aliases=aliases[row.pk],
            )
            for row in found
        ]

    def _name_row(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        """The name's row, locked until the transaction ends with ``lock``.

        Raises:
            RegisteredModelNotFoundError: there is none.
        """
        rules.check_model_name(name)
        stmt = select(registered_models).where(registered_models.c.name == name)
        row = conn.execute(for_update(conn, stmt) if lock else stmt).first()
        if row is None:
            raise rules.no_model(name)
        return row

    def _load_name(self, conn: Connection, name: str) -> RegisteredModelInfo:
        return self._load_names(conn, [self._name_row(conn, name)])[0]

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModelInfo:
        rules.check_model_update(name, description, RegisteredModelUpdate(tags=tags or {}))
        with self._write() as conn:
            inserted = conn.execute(
                insert_ignoring_conflicts(conn, registered_models),
                {
                    "name": name,
                    "version_counter": 0,
                    "created_time": time.time(),
                    "description": description or None,
                },
            )
            if inserted.rowcount == 0:
                raise RegisteredModelExistsError(
                    f"A registered model named {name!r} exists already: register a new version "
                    "of it, or choose another name."
                )
            row = self._name_row(conn, name)
            if tags:
                conn.execute(
                    registered_model_tags.insert(),
                    [{"model_pk": row.pk, "key": k, "value": v} for k, v in tags.items()],
                )
            return self._load_names(conn, [row])[0]

    def get_registered_model(self, name: str) -> RegisteredModelInfo:
        with self._read() as conn:
            return self._load_name(conn, name)

    def list_registered_models(self) -> list[RegisteredModelInfo]:
        with self._read() as conn:
            found = conn.execute(select(registered_models).order_by(registered_models.c.name)).all()
            return self._load_names(conn, found)

    def update_registered_model(
        self, name: str, update: RegisteredModelUpdate
    ) -> RegisteredModelInfo:
        rules.check_model_update(name, update.description, update)
        with self._write() as conn:
            row = self._name_row(conn, name, lock=True)
            values: dict[str, Any] = {"updated_time": time.time()}
            if update.description is not None:
                values["description"] = update.description or None
            conn.execute(
                sql_update(registered_models).where(registered_models.c.pk == row.pk).values(values)
            )
            self._change_tags(conn, row.pk, update.tags, update.remove_tags)
            self._change_aliases(conn, row, update)
            return self._load_name(conn, name)

    def _change_tags(
        self, conn: Connection, pk: int, tags: Mapping[str, str], remove: Sequence[str]
    ) -> None:
        table = registered_model_tags
        gone = [*tags, *remove]
        if gone:
            conn.execute(delete(table).where(table.c.model_pk == pk, table.c.key.in_(gone)))
        if tags:
            conn.execute(
                table.insert(), [{"model_pk": pk, "key": k, "value": v} for k, v in tags.items()]
            )
        count = conn.execute(select(func.count()).where(table.c.model_pk == pk)).scalar_one()
        check_count("registered model tag", count, rules.MAX_REGISTERED_MODEL_TAGS)

    def _change_aliases(self, conn: Connection, row: Any, update: RegisteredModelUpdate) -> None:
        table = registered_model_aliases
        if update.aliases:
            have = set(
                conn.execute(
                    select(model_versions.c.version).where(
                        model_versions.c.model_pk == row.pk,
                        model_versions.c.version.in_(sorted(set(update.aliases.values()))),
                    )
                ).scalars()
            )
            for version in update.aliases.values():
                if version not in have:
                    raise rules.no_model(row.name, version)
        gone = [*update.aliases, *update.remove_aliases]
        if gone:
            conn.execute(delete(table).where(table.c.model_pk == row.pk, table.c.alias.in_(gone)))
        if update.aliases:
            conn.execute(
                table.insert(),
                [
                    {"model_pk": row.pk, "alias": alias, "version": version}
                    for alias, version in update.aliases.items()
                ],
            )

    def delete_registered_model(self, name: str) -> None:
        with self._write() as conn:
            row = self._name_row(conn, name, lock=True)
            pks = list(
                conn.execute(
                    for_update(
                        conn, select(model_versions.c.pk).where(model_versions.c.model_pk == row.pk)
                    )
                ).scalars()
            )
            self._delete_versions(conn, pks)
            for table in (registered_model_tags, registered_model_aliases):
                conn.execute(delete(table).where(table.c.model_pk == row.pk))
            conn.execute(delete(registered_models).where(registered_models.c.pk == row.pk))


__all__ = ["SqlRegisteredModelVerbs"]
