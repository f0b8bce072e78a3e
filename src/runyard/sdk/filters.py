"""Turning the SDK's filter arguments (tags, properties, statuses) into store filters."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from runyard.entities import RunStatus, TagFilter
from runyard.errors import InvalidArgumentError

logger = logging.getLogger("runyard")


def as_str(what: str, key: str, value: Any) -> str | None:
    """Tag and property values are strings (or None); anything else becomes ``str(value)``."""
    if value is None or isinstance(value, str):
        return value
    logger.warning("Converting non-string %s to string: (%s: %s)", what, key, value)
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
    raise InvalidArgumentError(
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
