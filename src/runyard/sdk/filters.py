"""Turning the SDK's filter arguments (tags, properties, statuses, queries) into store filters.

A query's filter and sort keys are parsed here once, so that a bad one is reported when the call
is made (not when the first run is read); they travel as text to the store, which parses them
again (the server checks what every client sends).
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import RunLifecycle, RunQuery, RunStatus, TagFilter
from runyard.errors import (
    InvalidArgumentError,
    InvalidFilterTypeError,
    InvalidQueryError,
    TagConversionWarning,
)
from runyard.query import parse_filter, parse_order_by


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside runyard, so that a warning names the
    user's line (and Python's default filter shows it once there, not once for all users)."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("runyard"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def as_str(what: str, key: str, value: Any) -> str | None:
    """Tag and property values are strings (or None); anything else becomes ``str(value)``,
    with a ``TagConversionWarning`` naming the key (not the value: with the value in its text,
    a sweep would show it once per value instead of once per line of the user's code)."""
    if value is None or isinstance(value, str):
        return value
    warnings.warn(
        TagConversionWarning(
            f"Converting non-string {what} to string: {key!r} (stored as str(value); "
            "pass a str to silence this)"
        ),
        stacklevel=_caller_stacklevel(),
    )
    return str(value)


def tag_values(tags: Mapping[str, Any]) -> dict[str, str | None]:
    if not isinstance(tags, Mapping):
        raise InvalidArgumentError(
            f"Tags must be a dict of key to value, got {type(tags).__name__}; for one tag use "
            "run.tag(key, value)."
        )
    return {key: as_str("tag", key, value) for key, value in tags.items()}


def key_filters(what: str, spec: str | Mapping[str, Any] | None) -> tuple[TagFilter, ...]:
    """``"key"`` keeps runs that have the key; ``{"key": value}`` those where it equals value."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return (TagFilter(key=spec),)
    if isinstance(spec, Mapping):
        return tuple(
            TagFilter(key=k, value=None if v is None else str(v), match_value=True)
            for k, v in spec.items()
        )
    raise InvalidFilterTypeError(
        f"Unknown filter type for run {what}: {type(spec)}. Pass a key (str) or a dict of key to "
        "value."
    )


def parse_status(status: str | RunStatus | None) -> RunStatus | None:
    if status is None:
        return None
    try:
        return RunStatus.parse(str(status))
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None


def with_lifecycle(query: RunQuery, lifecycle: str | RunLifecycle) -> RunQuery:
    """``query`` finding the runs of ``lifecycle``: ``"active"`` (not deleted), ``"deleted"``
    or ``"all"``.

    Raises:
        InvalidArgumentError: ``lifecycle`` is none of them (the message lists them).
    """
    return dataclasses.replace(query, lifecycle=RunLifecycle.parse(lifecycle))


def checked_query(
    base: RunQuery, filter: str | None, order_by: str | Sequence[str] | None
) -> RunQuery:
    """``base`` with ``filter`` and ``order_by``, both parsed now.

    Raises:
        InvalidQueryError: either does not parse; the message names the column.
    """
    keys: tuple[str, ...] = ()
    if order_by is not None:
        if isinstance(order_by, str):
            keys = (order_by,)
        elif isinstance(order_by, (list, tuple)):
            keys = tuple(order_by)
        else:
            raise InvalidQueryError(
                "order_by takes a sort key or a list of them, such as ['metrics.acc DESC'], "
                f"got {type(order_by).__name__}.",
                source="order_by",
            )
    parse_order_by(list(keys))
    if isinstance(filter, str) and not filter.strip():
        filter = None
    parse_filter(filter)
    return dataclasses.replace(base, filter=filter, order_by=keys)
