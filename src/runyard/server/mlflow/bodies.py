"""Reading MLflow request fields: JSON bodies of POSTs, query strings of GETs.

MLflow's client sends proto3 JSON; a missing or mistyped field is answered with
INVALID_PARAMETER_VALUE naming the field (MLflow's own server does the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Body

from runyard.errors import InvalidArgumentError

Payload = Annotated[dict[str, Any], Body(default_factory=dict)]
"""The JSON object of an MLflow POST."""


def text(fields: Mapping[str, Any], name: str, *aliases: str) -> str:
    """A required string field (``run_id`` also read as ``run_uuid``)."""
    for key in (name, *aliases):
        value = fields.get(key)
        if value is not None and value != "":
            if not isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a string, got {value!r}.")
            return value
    raise InvalidArgumentError(f"Missing value for required parameter '{name}'.")


def optional_text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {value!r}.")
    return value


def integer(fields: Mapping[str, Any], name: str, default: int) -> int:
    """An int64 field: a JSON number or its text (proto3 JSON writes int64 either way)."""
    value = fields.get(name)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}.") from None
    return number


def strings(fields: Mapping[str, Any], name: str) -> list[str]:
    value = fields.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgumentError(f"{name} must be a list of strings, got {value!r}.")
    return list(value)


def key_values(fields: Mapping[str, Any], name: str) -> list[tuple[str, str]]:
    """A list of ``{"key", "value"}`` objects (tags, params) as pairs, in order."""
    value = fields.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgumentError(f"{name} must be a list of {{key, value}} objects.")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidArgumentError(f"{name} must be a list of {{key, value}} objects.")
        pairs.append((text(item, "key"), _value(item, name)))
    return pairs


def _value(item: Mapping[str, Any], name: str) -> str:
    value = item.get("value", "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Each value of {name} must be a string, got {value!r}.")
    return value


def value_of(fields: Mapping[str, Any], name: str) -> str:
    """A string ``value`` that may be empty (tags and params may be ""; an empty string may
    also be left out of the JSON)."""
    value = fields.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {value!r}.")
    return value
