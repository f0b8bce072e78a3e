"""A run's tags and properties in SQL: merged, removed and added under the run's row lock.

The statements are built once, with bound parameters: a tag or a property is set on every run,
often several times, and building a statement costs more than SQLite takes to run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Connection, bindparam, delete, select

from runyard.errors import PropertyConflictError
from runyard.limits import MAX_PROPERTIES_PER_RUN, MAX_TAGS_PER_RUN, check_count
from runyard.store.sql.schema import run_properties, run_tags

_TAG_KEYS = select(run_tags.c.key).where(run_tags.c.run_pk == bindparam("b_pk"))
_DELETE_TAG = delete(run_tags).where(
    run_tags.c.run_pk == bindparam("b_pk"), run_tags.c.key == bindparam("b_key")
)
_INSERT_TAGS = run_tags.insert()
_PROPERTIES = select(run_properties.c.key, run_properties.c.value).where(
    run_properties.c.run_pk == bindparam("b_pk")
)
_INSERT_PROPERTIES = run_properties.insert()


def set_tags(conn: Connection, pk: int, tags: Mapping[str, str | None]) -> None:
    """Merge ``tags`` into the tags of the run ``pk`` (its row locked by the caller).

    Raises:
        LimitExceededError: the run would hold more than ``MAX_TAGS_PER_RUN`` tags.
    """
    existing = set(conn.execute(_TAG_KEYS, {"b_pk": pk}).scalars())
    check_count("tag", len(existing | set(tags)), MAX_TAGS_PER_RUN)
    replaced = [{"b_pk": pk, "b_key": key} for key in tags if key in existing]
    if replaced:
        conn.execute(_DELETE_TAG, replaced)
    conn.execute(_INSERT_TAGS, [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()])


def immutable_additions(
    stored: Mapping[str, str],
    given: Mapping[str, str],
    conflict: Callable[[str, str, str], str],
) -> dict[str, str]:
    """The items of ``given`` that ``stored`` lacks: add-only key-values (run properties, model
    properties, logged models' params) take a key again only with the same value.

    Raises:
        PropertyConflictError: a key of ``stored`` given another value; its message is
            ``conflict(key, stored value, given value)``.
    """
    for key, value in given.items():
        if key in stored and stored[key] != value:
            raise PropertyConflictError(conflict(key, stored[key], value))
    return {k: v for k, v in given.items() if k not in stored}


def add_properties(conn: Connection, pk: int, properties: Mapping[str, str]) -> None:
    """Add ``properties`` to the run ``pk`` (its row locked by the caller).

    Raises:
        PropertyConflictError: a key already holds another value; nothing is written.
        LimitExceededError: the run would hold more than ``MAX_PROPERTIES_PER_RUN``.
    """
    stored: dict[str, str] = {k: v for k, v in conn.execute(_PROPERTIES, {"b_pk": pk})}
    new = immutable_additions(
        stored,
        properties,
        lambda key, old, value: (
            f"Property {key!r} is already {old!r} and cannot be changed to {value!r}: "
            f"properties are immutable once set. Use a tag (run.tag({key!r}, {value!r})) for "
            "values that change."
        ),
    )
    check_count("property", len(stored) + len(new), MAX_PROPERTIES_PER_RUN)
    if new:
        conn.execute(
            _INSERT_PROPERTIES, [{"run_pk": pk, "key": k, "value": v} for k, v in new.items()]
        )
