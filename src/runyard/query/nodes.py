"""What a parsed run filter or sort key is: fields, operators, comparisons, AND and OR.

The parser (``runyard.query.parser``) builds these; a store compiles them (SQL in
``runyard.store.sql.search``). Values are already checked and converted for their field: a
metric compares with a float, a time with POSIX seconds, a status with its canonical name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias


class FieldKind(enum.StrEnum):
    METRIC = "metrics"
    TAG = "tags"
    PROPERTY = "properties"
    ATTRIBUTE = "attributes"


class Aggregate(enum.StrEnum):
    """Which value of a metric series a clause compares: its last value (the default), its
    minimum or its maximum (NaN and non-numbers left out)."""

    LAST = "last"
    MIN = "min"
    MAX = "max"


class ValueKind(enum.StrEnum):
    """What a field holds, which decides the operators and literals it takes."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    """POSIX seconds; a literal may also be an ISO 8601 date or time (UTC unless it says)."""
    STATUS = "status"
    RUN_ID = "run id"


class Op(enum.StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


ORDERING_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
PATTERN_OPS = frozenset({Op.LIKE, Op.ILIKE})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
NULL_OPS = frozenset({Op.IS_NULL, Op.IS_NOT_NULL})


@dataclass(frozen=True, slots=True)
class Attribute:
    """A column of the run that filters and sorts can name."""

    name: str
    kind: ValueKind
    nullable: bool
    description: str


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute("run_id", ValueKind.TEXT, False, "the run's id"),
        Attribute("display_name", ValueKind.TEXT, True, "the run's display name"),
        Attribute("description", ValueKind.TEXT, True, "the run's description"),
        Attribute("status", ValueKind.STATUS, False, "Running, Completed, Failed..."),
        Attribute("run_type", ValueKind.TEXT, True, "'runyard.script', 'runyard.interactive'..."),
        Attribute("target", ValueKind.TEXT, False, "the compute target ('local')"),
        Attribute("submitted_by", ValueKind.TEXT, True, "who submitted the run"),
        Attribute("number", ValueKind.NUMBER, False, "the run's number in its experiment"),
        Attribute("created_time", ValueKind.TIME, False, "when the run was created"),
        Attribute("start_time", ValueKind.TIME, True, "when the run started"),
        Attribute("end_time", ValueKind.TIME, True, "when the run ended"),
        Attribute("duration", ValueKind.NUMBER, True, "end_time - start_time, in seconds"),
        Attribute(
            "deleted_time", ValueKind.TIME, True, "when the run was deleted (deleted runs only)"
        ),
        Attribute("parent_run_id", ValueKind.RUN_ID, True, "the parent's run id (children)"),
        Attribute("root_run_id", ValueKind.RUN_ID, True, "the top-level ancestor's run id"),
        Attribute("experiment_name", ValueKind.TEXT, False, "the run's experiment"),
    )
}

ATTRIBUTE_ALIASES = {
    "id": "run_id",
    "run_name": "display_name",
    "name": "display_name",
    "type": "run_type",
    "created": "created_time",
    "experiment": "experiment_name",
    "user_id": "submitted_by",
}
"""Other names for attributes: MLflow's (``run_name``, ``user_id``) and the Azure SDK's
(``type``)."""


@dataclass(frozen=True, slots=True)
class Field:
    """``metrics.loss.min``, ``tags.lr``, ``properties.author``, ``status``."""

    kind: FieldKind
    key: str
    """The metric name, tag or property key, or the attribute's canonical name."""
    aggregate: Aggregate = Aggregate.LAST
    """For metrics only."""

    @property
    def value_kind(self) -> ValueKind:
        if self.kind is FieldKind.METRIC:
            return ValueKind.NUMBER
        if self.kind is FieldKind.ATTRIBUTE:
            return ATTRIBUTES[self.key].kind
        return ValueKind.TEXT

    def __str__(self) -> str:
        """The field as a query writes it (and parses back to this field)."""
        if self.kind is FieldKind.ATTRIBUTE:
            return self.key
        plain = all(_plain_part(part) for part in self.key.split("."))
        last = self.key.rsplit(".", 1)[-1].lower()  # the parser reads aggregates in any case
        if self.kind is FieldKind.METRIC and last in set(Aggregate):
            plain = False  # metrics.`loss.min` is a metric named so, not loss's minimum
        if not plain:  # in backticks, a backslash escapes a backtick or a backslash
            key = "`" + self.key.replace("\\", "\\\\").replace("`", "``") + "`"
        else:
            key = self.key
        if self.kind is FieldKind.METRIC and self.aggregate is not Aggregate.LAST:
            return f"{self.kind}.{key}.{self.aggregate}"
        return f"{self.kind}.{key}"


def _plain_part(part: str) -> bool:
    """Whether a name part reads back as itself unquoted: an identifier made of the characters
    the lexer takes in a name (letters, digits, '_'; not the combining marks an identifier may
    hold)."""
    return part.isidentifier() and all(ch.isalnum() or ch == "_" for ch in part)


Value: TypeAlias = str | float
"""A checked literal: text (tags, properties, text attributes, statuses) or a number (metrics,
numbers, times as POSIX seconds)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``: ``values`` holds one value, the list of ``IN``, or none for
    ``IS [NOT] NULL``."""

    field: Field
    op: Op
    values: tuple[Value, ...] = ()

    @property
    def value(self) -> Value:
        return self.values[0]


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[Expr, ...]


Expr: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One sort key: runs missing the field come last in either direction."""

    field: Field
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.field} {'DESC' if self.descending else 'ASC'}"
