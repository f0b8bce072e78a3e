"""The SQL store's verbs of attached compute targets (``ws.attach_compute``, ``compute_targets``,
``detach_compute``): ``SqlComputeVerbs``, inherited by ``SqlStore``, in its transactions.

One row per name (table ``compute_targets``). Attaching a name twice with the same kind and
configuration is a no-op (a retry attaches once); with another one it is refused.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from runyard.entities import ComputeTargetInfo
from runyard.errors import StoreError
from runyard.limits import (
    MAX_COMPUTE_CONFIG_LENGTH,
    check_compute_config,
    check_compute_kind,
    check_compute_name,
    check_json,
)
from runyard.store import base
from runyard.store.checks import compute_exists, compute_missing
from runyard.store.sql.schema import compute_targets


def _info(row: Any) -> ComputeTargetInfo:
    return ComputeTargetInfo(
        name=row.name, kind=row.kind, config=json.loads(row.config), created_time=row.created_time
    )


class SqlComputeVerbs(base.Store):
    """Attached compute targets on SQL; ``SqlStore`` provides the transactions."""

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def attach_compute(self, name: str, kind: str, config: Mapping[str, Any]) -> ComputeTargetInfo:
        check_compute_name(name)
        check_compute_kind(kind)
        text = check_json("compute target configuration", config, MAX_COMPUTE_CONFIG_LENGTH)
        check_compute_config(kind, config)
        for attempt in range(2):
            try:
                with self._write() as conn:
                    row = conn.execute(
                        select(compute_targets).where(compute_targets.c.name == name)
                    ).first()
                    if row is not None:
                        existing = _info(row)
                        if existing.kind == kind and existing.config == json.loads(text):
                            return existing
                        raise compute_exists(existing)
                    now = time.time()
                    conn.execute(
                        compute_targets.insert().values(
                            name=name, kind=kind, config=text, created_time=now
                        )
                    )
                    return ComputeTargetInfo(name, kind, json.loads(text), now)
            except StoreError as exc:  # two attaches at once: the second reads the first's row
                if not isinstance(exc.__cause__, IntegrityError) or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get_compute(self, name: str) -> ComputeTargetInfo:
        with self._read() as conn:
            row = conn.execute(
                select(compute_targets).where(compute_targets.c.name == str(name)[:100])
            ).first()
        if row is None:
            raise compute_missing(str(name))
        return _info(row)

    def list_compute(self) -> list[ComputeTargetInfo]:
        with self._read() as conn:
            rows = conn.execute(select(compute_targets).order_by(compute_targets.c.name))
            return [_info(row) for row in rows]

    def detach_compute(self, name: str) -> None:
        with self._write() as conn:
            deleted = conn.execute(
                compute_targets.delete().where(compute_targets.c.name == str(name)[:100])
            ).rowcount
        if not deleted:
            raise compute_missing(str(name))


__all__ = ["SqlComputeVerbs"]
