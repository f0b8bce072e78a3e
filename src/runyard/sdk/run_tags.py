"""The tag and property calls of ``Run``: mutable tags, add-only properties, read back from
the store (``run.tags`` and ``run.properties`` are the values as last read)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from runyard.entities import RunInfo
from runyard.errors import InvalidArgumentError
from runyard.sdk.filters import as_str, tag_values

if TYPE_CHECKING:
    from runyard.store.base import Store


class _TaggedRun(Protocol):
    """What the tag and property calls use of the run they are called on."""

    _store: Store
    _info: RunInfo  # the run as last read: updated in place after a write

    @property
    def id(self) -> str: ...

    def _refresh(self) -> RunInfo: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...


class TagCalls:
    """The tag and property calls of a run (a base class of ``Run``; see ``_TaggedRun`` for
    what they use of it)."""

    def tag(self: _TaggedRun, key: str, value: Any = None) -> None:
        """Set one tag; without a value, a value-less tag (its value is None)."""
        self.set_tags({key: value})

    def set_tags(self: _TaggedRun, tags: Mapping[str, Any]) -> None:
        """Merge tags into the run's tags (non-string values are stored as str(value))."""
        values = tag_values(tags)
        self._store.set_tags(self.id, values)
        # Update the cache without a read: it works while a server is away (the change waits
        # in the journal), and get_tags() re-reads when the current tags are wanted.
        self._info = dataclasses.replace(self._info, tags={**self._info.tags, **values})

    def remove_tags(self: _TaggedRun, tags: Iterable[str] | str) -> None:
        keys = [tags] if isinstance(tags, str) else list(tags)
        self._store.remove_tags(self.id, keys)
        kept = {k: v for k, v in self._info.tags.items() if k not in keys}
        self._info = dataclasses.replace(self._info, tags=kept)

    def get_tags(self: _TaggedRun) -> dict[str, str | None]:
        return dict(self._refresh().tags)

    def add_properties(self: _TaggedRun, properties: Mapping[str, Any] | None) -> None:
        """Add immutable properties: an existing key accepts only its current value.

        Raises:
            PropertyConflictError: a key already holds another value; nothing is written.
        """
        if not properties:
            return
        if not isinstance(properties, Mapping):
            raise InvalidArgumentError(
                f"properties must be a dict, got {type(properties).__name__}."
            )
        values = {k: as_str("property", k, v) or "" for k, v in properties.items()}
        self._store.add_properties(self.id, values)
        # The store accepted them (or keeps them while a server is away): cache without a read.
        merged = {**values, **self._info.properties}
        self._info = dataclasses.replace(self._info, properties=merged)

    def get_properties(self: _TaggedRun) -> dict[str, str]:
        return dict(self._refresh().properties)
