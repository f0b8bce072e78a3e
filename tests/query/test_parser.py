"""The query grammar: every operator and field kind parses to the expression it says, and every
mistake is refused with a message naming its source (``filter``, ``order_by[i]``), its column
and what was expected there."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.errors import InvalidQueryError
from runyard.limits import MAX_ORDER_KEYS, MAX_QUERY_CLAUSES, MAX_QUERY_DEPTH, MAX_QUERY_LENGTH
from runyard.query import (
    Aggregate,
    And,
    Comparison,
    Field,
    FieldKind,
    Op,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)

M, T, P, A = FieldKind.METRIC, FieldKind.TAG, FieldKind.PROPERTY, FieldKind.ATTRIBUTE


def metric(key: str, aggregate: Aggregate = Aggregate.LAST) -> Field:
    return Field(M, key, aggregate)


def tag(key: str) -> Field:
    return Field(T, key)


def attr(key: str) -> Field:
    return Field(A, key)


def cmp(field: Field, op: Op, *values: str | float) -> Comparison:
    return Comparison(field, op, tuple(values))


def utc(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()  # type: ignore[misc]


# -- what parses ---------------------------------------------------------------------------------

OPERATORS = [
    ("metrics.acc = 0.5", cmp(metric("acc"), Op.EQ, 0.5)),
    ("metrics.acc == 0.5", cmp(metric("acc"), Op.EQ, 0.5)),
    ("metrics.acc != 0.5", cmp(metric("acc"), Op.NE, 0.5)),
    ("metrics.acc <> 0.5", cmp(metric("acc"), Op.NE, 0.5)),
    ("metrics.acc < 1", cmp(metric("acc"), Op.LT, 1.0)),
    ("metrics.acc <= -1", cmp(metric("acc"), Op.LE, -1.0)),
    ("metrics.acc > +1.5e3", cmp(metric("acc"), Op.GT, 1500.0)),
    ("metrics.acc >= -.5", cmp(metric("acc"), Op.GE, -0.5)),
    ("metrics.acc>=2", cmp(metric("acc"), Op.GE, 2.0)),
    ("tags.team LIKE 'vis%'", cmp(tag("team"), Op.LIKE, "vis%")),
    ("tags.team ILIKE '_IS%'", cmp(tag("team"), Op.ILIKE, "_IS%")),
    ("tags.team IN ('a', 'b')", cmp(tag("team"), Op.IN, "a", "b")),
    ("metrics.epoch IN (1, 2.5)", cmp(metric("epoch"), Op.IN, 1.0, 2.5)),
    ("tags.team NOT IN ('a')", cmp(tag("team"), Op.NOT_IN, "a")),
    ("tags.team IS NULL", cmp(tag("team"), Op.IS_NULL)),
    ("tags.team IS NOT NULL", cmp(tag("team"), Op.IS_NOT_NULL)),
    ("metrics.acc IS NULL", cmp(metric("acc"), Op.IS_NULL)),
    ("end_time IS NOT NULL", cmp(attr("end_time"), Op.IS_NOT_NULL)),
]

FIELDS = [
    ("metrics.loss < 1", cmp(metric("loss"), Op.LT, 1.0)),
    ("metric.loss < 1", cmp(metric("loss"), Op.LT, 1.0)),
    ("metrics.loss.last < 1", cmp(metric("loss"), Op.LT, 1.0)),
    ("metrics.loss.min < 1", cmp(metric("loss", Aggregate.MIN), Op.LT, 1.0)),
    ("metrics.loss.MAX < 1", cmp(metric("loss", Aggregate.MAX), Op.LT, 1.0)),
    ("metrics.layer.0.loss.max > 2", cmp(metric("layer.0.loss", Aggregate.MAX), Op.GT, 2.0)),
    ("metrics.val-loss < 1", cmp(metric("val-loss"), Op.LT, 1.0)),
    ("metrics.`val loss` < 1", cmp(metric("val loss"), Op.LT, 1.0)),
    ("metrics.`loss.min` < 1", cmp(metric("loss.min"), Op.LT, 1.0)),
    ("metrics.`loss.min`.min < 1", cmp(metric("loss.min", Aggregate.MIN), Op.LT, 1.0)),
    ('metrics."val loss".max < 1', cmp(metric("val loss", Aggregate.MAX), Op.LT, 1.0)),
    ("metrics.`a``b` < 1", cmp(metric("a`b"), Op.LT, 1.0)),
    ("tags.lr = '0.1'", cmp(tag("lr"), Op.EQ, "0.1")),
    ("tag.lr = '0.1'", cmp(tag("lr"), Op.EQ, "0.1")),
    ("tags.`my tag` = 'x'", cmp(tag("my tag"), Op.EQ, "x")),
    ("tags.azureml.nodeCount = '2'", cmp(tag("azureml.nodeCount"), Op.EQ, "2")),
    ("tags.and = 'x'", cmp(tag("and"), Op.EQ, "x")),
    ("properties.author = 'ann'", cmp(Field(P, "author"), Op.EQ, "ann")),
    ("props.author = 'ann'", cmp(Field(P, "author"), Op.EQ, "ann")),
    ("params.lr = '0.1'", cmp(Field(P, "lr"), Op.EQ, "0.1")),
    ("param.lr = '0.1'", cmp(Field(P, "lr"), Op.EQ, "0.1")),
    ("parameters.lr = '0.1'", cmp(Field(P, "lr"), Op.EQ, "0.1")),
    ("status = 'Running'", cmp(attr("status"), Op.EQ, "Running")),
    ("attributes.status = 'running'", cmp(attr("status"), Op.EQ, "Running")),
    ("attribute.status = 'RUNNING'", cmp(attr("status"), Op.EQ, "Running")),
    ("attr.status = 'Failed'", cmp(attr("status"), Op.EQ, "Failed")),
    ("run.status = 'Queued'", cmp(attr("status"), Op.EQ, "Queued")),
    ("status = 'FINISHED'", cmp(attr("status"), Op.EQ, "Completed")),
    ("status = 'KILLED'", cmp(attr("status"), Op.EQ, "Canceled")),
    ("status != 'killed'", cmp(attr("status"), Op.NE, "Canceled")),
    (
        "status IN ('FINISHED', 'Failed', 'cancelrequested')",
        cmp(attr("status"), Op.IN, "Completed", "Failed", "CancelRequested"),
    ),
    ("run_id = 'r1'", cmp(attr("run_id"), Op.EQ, "r1")),
    ("id = 'r1'", cmp(attr("run_id"), Op.EQ, "r1")),
    ("attributes.run_id = 'r1'", cmp(attr("run_id"), Op.EQ, "r1")),
    ("run_name = 'best'", cmp(attr("display_name"), Op.EQ, "best")),
    ("attributes.run_name = 'best'", cmp(attr("display_name"), Op.EQ, "best")),
    ("name ILIKE 'B%'", cmp(attr("display_name"), Op.ILIKE, "B%")),
    ("display_name LIKE 'b%'", cmp(attr("display_name"), Op.LIKE, "b%")),
    ("description = 'x'", cmp(attr("description"), Op.EQ, "x")),
    ("type = 'runyard.script'", cmp(attr("run_type"), Op.EQ, "runyard.script")),
    ("run_type IS NULL", cmp(attr("run_type"), Op.IS_NULL)),
    ("target = 'local'", cmp(attr("target"), Op.EQ, "local")),
    ("submitted_by = 'ann'", cmp(attr("submitted_by"), Op.EQ, "ann")),
    ("number <= 3", cmp(attr("number"), Op.LE, 3.0)),
    ("duration > 60", cmp(attr("duration"), Op.GT, 60.0)),
    ("parent_run_id = 'r1'", cmp(attr("parent_run_id"), Op.EQ, "r1")),
    ("parent_run_id LIKE 'r%'", cmp(attr("parent_run_id"), Op.LIKE, "r%")),
    ("root_run_id IS NULL", cmp(attr("root_run_id"), Op.IS_NULL)),
    ("experiment_name = 'e'", cmp(attr("experiment_name"), Op.EQ, "e")),
    ("experiment = 'e'", cmp(attr("experiment_name"), Op.EQ, "e")),
    ("created_time > 1700000000", cmp(attr("created_time"), Op.GT, 1_700_000_000.0)),
    ("created > 1700000000.5", cmp(attr("created_time"), Op.GT, 1_700_000_000.5)),
    ("start_time >= '2026-11-30'", cmp(attr("start_time"), Op.GE, utc(2026, 11, 30))),
    (
        "end_time < '2026-11-30T14:05:00Z'",
        cmp(attr("end_time"), Op.LT, utc(2026, 11, 30, 14, 5)),
    ),
    (
        "end_time < '2026-11-30T14:05:00+02:00'",
        cmp(attr("end_time"), Op.LT, utc(2026, 11, 30, 12, 5)),
    ),
    (
        "start_time IN ('2026-11-30', 0)",
        cmp(attr("start_time"), Op.IN, utc(2026, 11, 30), 0.0),
    ),
]

QUOTING = [
    ("tags.a = 'it''s'", "it's"),
    ("tags.a = 'it\\'s'", "it's"),
    ("tags.a = 'back\\\\slash'", "back\\slash"),
    ("tags.a = 'a\\b'", "a\\b"),  # a backslash before anything else is itself
    ('tags.a = "say ""hi"""', 'say "hi"'),
    ('tags.a = "x\\"y"', 'x"y'),
    ('tags.a = "it\'s"', "it's"),
    ("tags.a = ''", ""),
    ("tags.a = 'AND or ( ) , .'", "AND or ( ) , ."),
    ("tags.a = 'ünï çødé'", "ünï çødé"),
]


@pytest.mark.parametrize(("text", "expected"), OPERATORS + FIELDS)
def test_a_comparison_parses_to_its_field_operator_and_values(
    text: str, expected: Comparison
) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(("text", "value"), QUOTING)
def test_quoted_strings_unescape(text: str, value: str) -> None:
    assert parse_filter(text) == cmp(tag("a"), Op.EQ, value)


A1 = cmp(tag("a"), Op.EQ, "1")
B2 = cmp(tag("b"), Op.EQ, "2")
C3 = cmp(tag("c"), Op.EQ, "3")
D4 = cmp(tag("d"), Op.EQ, "4")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.a = '1' AND tags.b = '2'", And((A1, B2))),
        ("tags.a = '1' and tags.b = '2' AnD tags.c = '3'", And((A1, B2, C3))),
        ("tags.a = '1' OR tags.b = '2' or tags.c = '3'", Or((A1, B2, C3))),
        # AND binds tighter than OR, on either side.
        ("tags.a = '1' OR tags.b = '2' AND tags.c = '3'", Or((A1, And((B2, C3))))),
        ("tags.a = '1' AND tags.b = '2' OR tags.c = '3'", Or((And((A1, B2)), C3))),
        (
            "tags.a = '1' AND tags.b = '2' OR tags.c = '3' AND tags.d = '4'",
            Or((And((A1, B2)), And((C3, D4)))),
        ),
        # Parentheses override it.
        ("(tags.a = '1' OR tags.b = '2') AND tags.c = '3'", And((Or((A1, B2)), C3))),
        ("tags.a = '1' AND (tags.b = '2' OR tags.c = '3')", And((A1, Or((B2, C3))))),
        ("((tags.a = '1'))", A1),
        ("(tags.a = '1' or (tags.b = '2' and (tags.c = '3')))", Or((A1, And((B2, C3))))),
        ("tags.a='1'AND(tags.b='2'OR tags.c='3')", And((A1, Or((B2, C3))))),
    ],
)
def test_and_binds_tighter_than_or_and_parentheses_group(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tags.a in ('1') and tags.b not in ('2') or tags.c is null or tags.d is not null "
        "or tags.e like 'x' or tags.e ilike 'y'",
        "TAGS.a IN ('1') AND tags.b NOT IN ('2') OR tags.c IS NULL OR tags.d IS NOT NULL "
        "OR tags.e LIKE 'x' OR tags.e ILIKE 'y'",
        "Tags.a In ('1') aNd tags.b nOt iN ('2') Or tags.c Is NuLl oR tags.d iS nOT nulL "
        "OR tags.e Like 'x' OR tags.e iLike 'y'",
    ],
)
def test_keywords_and_prefixes_are_case_insensitive(text: str) -> None:
    assert parse_filter(text) == Or(
        (
            And((cmp(tag("a"), Op.IN, "1"), cmp(tag("b"), Op.NOT_IN, "2"))),
            cmp(tag("c"), Op.IS_NULL),
            cmp(tag("d"), Op.IS_NOT_NULL),
            cmp(tag("e"), Op.LIKE, "x"),
            cmp(tag("e"), Op.ILIKE, "y"),
        )
    )


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_no_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


def test_the_most_a_filter_may_hold_parses() -> None:
    nested = "(" * MAX_QUERY_DEPTH + "tags.a = '1'" + ")" * MAX_QUERY_DEPTH
    assert parse_filter(nested) == A1
    many = " OR ".join([f"tags.a = '{i}'" for i in range(MAX_QUERY_CLAUSES)])
    parsed = parse_filter(many)
    assert isinstance(parsed, Or) and len(parsed.terms) == MAX_QUERY_CLAUSES
    long = "tags.a = '" + "x" * (MAX_QUERY_LENGTH - len("tags.a = ''")) + "'"
    assert parse_filter(long) == cmp(tag("a"), Op.EQ, "x" * (MAX_QUERY_LENGTH - 11))


# -- order_by ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (None, ()),
        ([], ()),
        ("metrics.acc", (OrderKey(metric("acc")),)),
        (["metrics.acc DESC"], (OrderKey(metric("acc"), True),)),
        (["metrics.loss.min asc"], (OrderKey(metric("loss", Aggregate.MIN)),)),
        (["metrics.`val loss`.max desc"], (OrderKey(metric("val loss", Aggregate.MAX), True),)),
        (
            ("tags.team", "params.lr DeSc", "attributes.start_time", "run_name ASC"),
            (
                OrderKey(tag("team")),
                OrderKey(Field(P, "lr"), True),
                OrderKey(attr("start_time")),
                OrderKey(attr("display_name")),
            ),
        ),
        (["status"] * MAX_ORDER_KEYS, (OrderKey(attr("status")),) * MAX_ORDER_KEYS),
    ],
)
def test_order_by_parses_each_key(keys: object, expected: tuple[OrderKey, ...]) -> None:
    assert parse_order_by(keys) == expected  # type: ignore[arg-type]


# -- errors --------------------------------------------------------------------------------------

FIELD_HELP = (
    "metrics.NAME, tags.KEY, properties.KEY (or params.KEY) or an attribute such as status, "
    "display_name or start_time"
)
STATUSES = (
    "NotStarted, Queued, Preparing, Provisioning, Starting, Running, CancelRequested, Canceled, "
    "Finalizing, Completed, Failed, Unapproved, NotResponding, Pausing, Paused"
)
ATTRIBUTE_NAMES = (
    "run_id, display_name, description, status, run_type, target, submitted_by, number, "
    "created_time, start_time, end_time, duration, deleted_time, parent_run_id, root_run_id, "
    "experiment_name"
)

FILTER_ERRORS = [
    # A missing value, operator or field.
    ("metrics.val_auc > ", 18, "expected a value after '>'"),
    ("metrics.val_auc >", 18, "expected a value after '>'"),
    ("metrics.a > 1 and", 18, f"expected a field ({FIELD_HELP}) after 'and'"),
    ("tags.a = 'x' AND AND", 18, f"expected a field ({FIELD_HELP}) after 'AND', found 'AND'"),
    ("NOT tags.a = 'x'", 1, f"expected a field ({FIELD_HELP}), found 'NOT'"),
    (
        "metrics.a 1",
        11,
        "expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL or "
        "IS NOT NULL) after 'metrics.a', found '1'",
    ),
    ("metrics.a ~ 1", 11, "unexpected character '~'"),
    ("metrics.a > 1 @", 15, "unexpected character '@'"),
    ("metrics.a > 1x", 13, "'1x' is not a number"),
    ("metrics.a > 1e400", 13, "1e400 is too large a number"),
    (
        "tags.a = 'x' tags.b = 'y'",
        14,
        "expected AND, OR or the end of the filter after 'x', found 'tags'",
    ),
    ("metrics. = 1", 10, "expected a metric name after '.', found '='"),
    ("tags. = 'x'", 7, "expected a key after '.', found '='"),
    ("metrics.`` = 1", 1, "a name cannot be empty"),
    ("tags.a IS 'x'", 11, "expected NULL after 'IS', found 'x'"),
    ("tags.a IS NOT 5", 15, "expected NULL after 'IS NOT', found '5'"),
    ("tags.a NOT 'x'", 12, "expected IN (as in NOT IN) after 'NOT', found 'x'"),
    # Unknown fields and statuses.
    ("foo = 1", 1, f"unknown field 'foo': use {FIELD_HELP}"),
    ("attributes.foo = 1", 1, f"unknown field 'foo': use {FIELD_HELP}"),
    ("attributes.`status` = 'Running'", 1, f"unknown attribute; use one of {ATTRIBUTE_NAMES}"),
    ("attributes.a.b = 1", 1, f"unknown attribute; use one of {ATTRIBUTE_NAMES}"),
    ("status = 'nope'", 10, f"unknown status 'nope': use one of {STATUSES}"),
    ("status IN ('Running', 'bogus')", 23, f"unknown status 'bogus': use one of {STATUSES}"),
    # Values of the wrong kind.
    ("tags.x = abc", 10, "expected a value after '=', found the word 'abc': quote text ('abc')"),
    (
        "status = FINISHED",
        10,
        "expected a value after '=', found the word 'FINISHED': quote text ('FINISHED')",
    ),
    ("tags.x = 1", 10, "tag values are text: quote it ('1')"),
    ("params.x = 1", 12, "property values are text: quote it ('1')"),
    ("display_name = 1", 16, "display_name values are text: quote it ('1')"),
    (
        "metrics.a > abc",
        13,
        "expected a value after '>', found the word 'abc': metrics.a takes a number",
    ),
    ("metrics.a = 'x'", 13, "metrics.a takes a number, found 'x'"),
    ("metrics.a IN (1, 'x')", 18, "metrics.a takes a number, found 'x'"),
    ("number = '3'", 10, "number takes a number, found '3'"),
    (
        "start_time > 'yesterday'",
        14,
        "start_time takes POSIX seconds or an ISO 8601 time such as '2026-11-30' or "
        "'2026-11-30T14:05:00Z', found 'yesterday'",
    ),
    # Operators a field does not take.
    ("metrics.a LIKE '%x'", 11, "LIKE applies to text; metrics.a is a number"),
    ("metrics.loss.min ILIKE 'x'", 18, "ILIKE applies to text; metrics.loss.min is a number"),
    ("status LIKE 'R%'", 8, "LIKE applies to text; status is a status"),
    ("created_time LIKE '2026%'", 14, "LIKE applies to text; created_time is a time"),
    ("tags.a LIKE 5", 13, "LIKE takes a quoted pattern, such as '%5%'"),
    (
        "tags.a > 'x'",
        8,
        "tags.a is text: compare it with =, !=, IN, NOT IN, LIKE or ILIKE",
    ),
    (
        "run_name <= 'x'",
        10,
        "display_name is text: compare it with =, !=, IN, NOT IN, LIKE or ILIKE",
    ),
    ("status > 'Running'", 8, "status is a status: compare it with =, !=, IN, NOT IN"),
    ("status IS NULL", 1, "status is never missing: IS NULL would be constant"),
    ("run_id IS NOT NULL", 1, "run_id is never missing: IS NOT NULL would be constant"),
    # Parentheses and lists.
    (
        "(metrics.a > 1",
        15,
        "expected ')' to close the '(' of column 1 after '1'",
    ),
    (
        "tags.a = '1' AND (tags.b = '2' OR (tags.c = '3')",
        49,
        "expected ')' to close the '(' of column 18 after ')'",
    ),
    ("metrics.a > 1)", 14, "this ')' closes no '('"),
    ("(tags.a = '1')) OR tags.b = '2'", 15, "this ')' closes no '('"),
    ("()", 2, "expected a comparison inside the parentheses after '(', found ')'"),
    ("tags.a IN ()", 12, "IN needs at least one value"),
    ("tags.a NOT IN ( )", 17, "NOT IN needs at least one value"),
    ("metrics.a IN 1", 14, "expected '(' and a list of values after 'IN', found '1'"),
    ("tags.a IN ('x' 'y')", 16, "expected ',' or ')' in the list of values after 'x', found 'y'"),
    ("tags.a IN ('x',", 16, "expected a value after ','"),
    # Unclosed quotes.
    ("tags.a = 'abc", 10, "this string has no closing '"),
    ('tags.a = "abc', 10, 'this string has no closing "'),
    ("tags.`abc = 'x'", 6, "this name has no closing `"),
    ("tags.a = 'it\\'", 10, "this string has no closing '"),
]


@pytest.mark.parametrize(("text", "column", "message"), FILTER_ERRORS)
def test_a_bad_filter_names_its_column_and_what_was_expected(
    text: str, column: int, message: str
) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        parse_filter(text)
    assert str(caught.value) == f"filter: {message} at column {column}"
    assert (caught.value.source, caught.value.column) == ("filter", column)


def test_a_filter_past_the_limits_is_refused() -> None:
    deep = "(" * (MAX_QUERY_DEPTH + 1) + "tags.a = '1'" + ")" * (MAX_QUERY_DEPTH + 1)
    with pytest.raises(InvalidQueryError) as caught:
        parse_filter(deep)
    column = MAX_QUERY_DEPTH + 2  # the comparison inside the parenthesis one too deep
    assert str(caught.value) == (
        f"filter: parentheses nest deeper than {MAX_QUERY_DEPTH} levels at column {column}"
    )
    clause = "tags.a = '1'"
    many = " OR ".join([clause] * (MAX_QUERY_CLAUSES + 1))
    with pytest.raises(InvalidQueryError) as caught:
        parse_filter(many)
    column = MAX_QUERY_CLAUSES * len(clause + " OR ") + 1  # the first comparison too many
    assert str(caught.value) == (
        f"filter: a filter may hold at most {MAX_QUERY_CLAUSES} comparisons at column {column}"
    )
    long = "tags.a = '" + "x" * (MAX_QUERY_LENGTH - 10) + "'"
    with pytest.raises(InvalidQueryError) as caught:
        parse_filter(long)
    assert str(caught.value) == (
        f"filter is {MAX_QUERY_LENGTH + 1:,} characters long; the most a query may be is "
        f"{MAX_QUERY_LENGTH:,}. Split the question into several searches."
    )
    assert caught.value.source == "filter"


def test_a_filter_must_be_text() -> None:
    with pytest.raises(InvalidQueryError, match=re.escape("filter must be a string, got int.")):
        parse_filter(5)  # type: ignore[arg-type]


ORDER_BY_ERRORS = [
    (
        ["metrics.a DOWN"],
        "order_by[0]: expected ASC, DESC or the end of the sort key after 'a', "
        "found 'DOWN' at column 11",
    ),
    (
        ["metrics.a DESC x"],
        "order_by[0]: expected ASC, DESC or the end of the sort key after "
        "'DESC', found 'x' at column 16",
    ),
    ([""], f"order_by[0]: expected a field to sort by ({FIELD_HELP}) at column 1"),
    (["tags.x", "  "], f"order_by[1]: expected a field to sort by ({FIELD_HELP}) at column 1"),
    (["tags.x", "foo DESC"], f"order_by[1]: unknown field 'foo': use {FIELD_HELP} at column 1"),
    (["tags.x", "status", "metrics."], "order_by[2]: expected a metric name after '.' at column 9"),
    (
        ["metrics.a > 1"],
        "order_by[0]: expected ASC, DESC or the end of the sort key after 'a', "
        "found '>' at column 11",
    ),
    (["tags.`x DESC"], "order_by[0]: this name has no closing ` at column 6"),
    ([5], "order_by[0] must be a string, got int."),
    (5, "order_by takes a list of sort keys such as ['metrics.acc DESC'], got int."),
    (
        ["status"] * (MAX_ORDER_KEYS + 1),
        f"order_by holds {MAX_ORDER_KEYS + 1} keys; the most it takes is {MAX_ORDER_KEYS}.",
    ),
]


@pytest.mark.parametrize(("keys", "message"), ORDER_BY_ERRORS)
def test_a_bad_sort_key_names_which_key_and_its_column(keys: object, message: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        parse_order_by(keys)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert caught.value.source == message.split(":")[0].split(" ")[0]


# -- str(Field) is what a query writes -------------------------------------------------------------

# Names built from the characters that need care: dots, quotes, backslashes, spaces, keywords,
# aggregates' names (any case), digits, non-ASCII letters and combining marks.
_PIECES = st.sampled_from(
    [
        "a",
        "Z9",
        "_",
        "-",
        ".",
        "`",
        "``",
        "'",
        '"',
        "\\",
        " ",
        "min",
        "MAX",
        "Last",
        "and",
        "OR",
        "0",
        "é",
        "e\u0301",
        "\u2118",
        "ß",
        "(",
        ",",
        "%",
    ]
)
NAMES = st.lists(_PIECES, min_size=1, max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from([M, T, P]),
    key=NAMES,
    aggregate=st.sampled_from(list(Aggregate)),
    descending=st.booleans(),
)
def test_str_of_a_field_parses_back_to_it(
    kind: FieldKind, key: str, aggregate: Aggregate, descending: bool
) -> None:
    field = Field(kind, key, aggregate if kind is M else Aggregate.LAST)
    parsed = parse_filter(f"{field} IS NULL")
    assert parsed == Comparison(field, Op.IS_NULL)
    key_ = OrderKey(field, descending)
    assert parse_order_by([str(key_)]) == (key_,)


@pytest.mark.parametrize("name", ["status", "display_name", "start_time", "parent_run_id"])
def test_str_of_an_attribute_parses_back_to_it(name: str) -> None:
    assert parse_order_by([str(OrderKey(attr(name), True))]) == (OrderKey(attr(name), True),)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (metric("loss"), "metrics.loss"),
        (metric("loss", Aggregate.MIN), "metrics.loss.min"),
        (tag("azureml.nodeCount"), "tags.azureml.nodeCount"),
        (metric("loss.min"), "metrics.`loss.min`"),
        (metric("loss.MIN"), "metrics.`loss.MIN`"),  # the parser reads aggregates in any case
        (metric("loss.Max", Aggregate.MAX), "metrics.`loss.Max`.max"),
        (tag("a b"), "tags.`a b`"),
        (tag("a`b"), "tags.`a``b`"),
        (tag("ends\\"), "tags.`ends\\\\`"),  # a backslash before the closing backtick
        (tag("a\\`b"), "tags.`a\\\\``b`"),
        (Field(P, "cafe\u0301"), "properties.`cafe\u0301`"),  # a combining mark
        (Field(P, "0"), "properties.`0`"),
        (Field(P, "a..b"), "properties.`a..b`"),
    ],
)
def test_str_of_a_field_quotes_what_needs_it(field: Field, text: str) -> None:
    assert str(field) == text
    assert parse_filter(f"{text} IS NULL") == Comparison(field, Op.IS_NULL)
