"""The SQL store's verbs of registered environments (``Environment.register``, ``get``,
``list``): ``SqlEnvironmentVerbs``, inherited by ``SqlStore``, in its transactions.

One row per version of a name (table ``environments``); the version is the row's number among
its name's, 1, 2... (strings outside the store, as Azure's). Two registrations of one name at
once may pick the same number: the unique constraint refuses the second, which is retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from runyard.entities import EnvironmentInfo
from runyard.errors import EnvironmentNotFoundError, StoreError
from runyard.limits import MAX_ENVIRONMENT_DEFINITION_LENGTH, check_environment_name, check_json
from runyard.store.sql.hooks import SqlHooks
from runyard.store.sql.schema import environments

ATTEMPTS = 5


def _info(row: Any) -> EnvironmentInfo:
    return EnvironmentInfo(
        name=row.name,
        version=str(row.version),
        definition=json.loads(row.definition),
        created_time=row.created_time,
    )


def _missing(name: str, version: str | None) -> EnvironmentNotFoundError:
    which = f"version {version!r:.40} of the environment" if version else "the environment"
    return EnvironmentNotFoundError(
        f"There is no {which} {name!r:.80} in this workspace. `runyard environments list` "
        "shows the registered ones; register one with env.register(workspace)."
    )


class SqlEnvironmentVerbs(SqlHooks):
    """Registered environments on SQL; ``SqlStore`` provides the hooks (SqlHooks)."""

    def register_environment(self, name: str, definition: Mapping[str, Any]) -> EnvironmentInfo:
        check_environment_name(name)
        text = check_json("environment definition", definition, MAX_ENVIRONMENT_DEFINITION_LENGTH)
        for attempt in range(ATTEMPTS):
            try:
                with self._write() as conn:
                    latest = conn.execute(
                        select(environments)
                        .where(environments.c.name == name)
                        .order_by(environments.c.version.desc())
                        .limit(1)
                    ).first()
                    if latest is not None and json.loads(latest.definition) == json.loads(text):
                        return _info(latest)
                    version = 1 if latest is None else latest.version + 1
                    now = time.time()
                    conn.execute(
                        environments.insert().values(
                            name=name, version=version, definition=text, created_time=now
                        )
                    )
                    return EnvironmentInfo(name, str(version), json.loads(text), now)
            except StoreError as exc:  # _write's wrapping of the constraint's refusal
                if not isinstance(exc.__cause__, IntegrityError) or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get_environment(self, name: str, version: str | None = None) -> EnvironmentInfo:
        try:
            check_environment_name(name)
        except Exception:
            raise _missing(str(name), version) from None
        stmt = select(environments).where(environments.c.name == name)
        if version is None:
            stmt = stmt.order_by(environments.c.version.desc()).limit(1)
        else:
            # ASCII digits only: "²".isdigit() is True, but int() refuses it.
            digits = isinstance(version, str) and version.isascii() and version.isdigit()
            if not digits or len(version) > 9:
                raise _missing(name, version)
            stmt = stmt.where(environments.c.version == int(version))
        with self._read() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise _missing(name, version)
        return _info(row)

    def list_environments(self, name: str | None = None) -> list[EnvironmentInfo]:
        if name is not None:
            try:
                check_environment_name(name)
            except Exception:
                return []
            stmt = (
                select(environments)
                .where(environments.c.name == name)
                .order_by(environments.c.version.desc())
            )
        else:
            latest = (
                select(environments.c.name, func.max(environments.c.version).label("version"))
                .group_by(environments.c.name)
                .subquery()
            )
            stmt = (
                select(environments)
                .join(
                    latest,
                    (environments.c.name == latest.c.name)
                    & (environments.c.version == latest.c.version),
                )
                .order_by(environments.c.name)
            )
        with self._read() as conn:
            return [_info(row) for row in conn.execute(stmt)]


__all__ = ["SqlEnvironmentVerbs"]
