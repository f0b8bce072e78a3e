"""A recursive-descent parser for run filters and sort keys.

::

    filter     := or_expr END
    or_expr    := and_expr (OR and_expr)*
    and_expr   := term (AND term)*
    term       := '(' or_expr ')' | comparison
    comparison := field op value
                | field [NOT] IN '(' value (',' value)* ')'
                | field (LIKE | ILIKE) string
                | field IS [NOT] NULL
    field      := prefix '.' name ('.' name)* | attribute
    order_key  := field [ASC | DESC] END

AND binds tighter than OR, as in SQL. Keywords are case-insensitive. A name part is a word
(letters, digits, '_', '-'), or any text in backticks or quotes (``metrics.`val loss```).
"""

from __future__ import annotations

import datetime as dt
import math

from runyard.entities import RunStatus
from runyard.errors import InvalidQueryError
from runyard.limits import (
    MAX_ORDER_KEYS,
    MAX_QUERY_CLAUSES,
    MAX_QUERY_DEPTH,
    MAX_QUERY_LENGTH,
    check_chars,
)
from runyard.query.lexer import T, Token, tokenize
from runyard.query.nodes import (
    ATTRIBUTE_ALIASES,
    ATTRIBUTES,
    NULL_OPS,
    ORDERING_OPS,
    PATTERN_OPS,
    Aggregate,
    And,
    Comparison,
    Expr,
    Field,
    FieldKind,
    Op,
    Or,
    OrderKey,
    Value,
    ValueKind,
)

PREFIXES = {
    "metrics": FieldKind.METRIC,
    "metric": FieldKind.METRIC,
    "tags": FieldKind.TAG,
    "tag": FieldKind.TAG,
    "properties": FieldKind.PROPERTY,
    "property": FieldKind.PROPERTY,
    "props": FieldKind.PROPERTY,
    "params": FieldKind.PROPERTY,
    "param": FieldKind.PROPERTY,
    "parameters": FieldKind.PROPERTY,
    "attributes": FieldKind.ATTRIBUTE,
    "attribute": FieldKind.ATTRIBUTE,
    "attr": FieldKind.ATTRIBUTE,
    "run": FieldKind.ATTRIBUTE,
}
"""``params.`` is MLflow's name for what Azure calls properties; ``attributes.`` is optional."""

STATUS_ALIASES = {
    "finished": RunStatus.COMPLETED,
    "killed": RunStatus.CANCELED,
    "scheduled": RunStatus.QUEUED,
}
"""MLflow's names for runyard's statuses (its RUNNING and FAILED are runyard's own)."""

_COMPARISONS = {"=": Op.EQ, "==": Op.EQ, "!=": Op.NE, "<>": Op.NE}
_COMPARISONS.update({o.value: o for o in ORDERING_OPS})
_OPERATOR_LIST = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL"
_FIELD_HELP = (
    "metrics.NAME, tags.KEY, properties.KEY (or params.KEY) or an attribute such as status, "
    "display_name or start_time"
)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        if not isinstance(text, str):
            raise InvalidQueryError(
                f"{source} must be a string, got {type(text).__name__}.", source=source
            )
        if len(text) > MAX_QUERY_LENGTH:
            raise InvalidQueryError(
                f"{source} is {len(text):,} characters long; the most a query may be is "
                f"{MAX_QUERY_LENGTH:,}. Split the question into several searches.",
                source=source,
            )
        check_chars(source, text, InvalidQueryError)  # what a database could not compare
        self.source = source
        self.tokens = tokenize(text, source)
        self.pos = 0
        self.clauses = 0

    # -- tokens ------------------------------------------------------------------------------------

    def peek(self) -> Token:
        """The next token (a method, not an attribute: it changes as the parser advances)."""
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.type is not T.END:
            self.pos += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> InvalidQueryError:
        column = (token or self.peek()).column
        return InvalidQueryError(
            f"{self.source}: {message} at column {column}", source=self.source, column=column
        )

    def expected(self, what: str, after: Token | None = None) -> InvalidQueryError:
        found = self.peek()
        if after is None and self.pos > 0:
            after = self.tokens[self.pos - 1]
        where = f" after {after.describe()}" if after is not None else ""
        but = "" if found.type is T.END else f", found {found.describe()}"
        return self.fail(f"expected {what}{where}{but}", found)

    # -- grammar -----------------------------------------------------------------------------------

    def filter(self) -> Expr | None:
        if self.peek().type is T.END:
            return None
        expr = self.or_expr(0)
        if self.peek().type is not T.END:
            if self.peek().type is T.RPAREN:
                raise self.fail("this ')' closes no '('")
            raise self.expected("AND, OR or the end of the filter")
        return expr

    def or_expr(self, depth: int) -> Expr:
        if depth > MAX_QUERY_DEPTH:
            raise self.fail(f"parentheses nest deeper than {MAX_QUERY_DEPTH} levels")
        terms = [self.and_expr(depth)]
        while self.peek().is_word("OR"):
            self.advance()
            terms.append(self.and_expr(depth))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_expr(self, depth: int) -> Expr:
        terms = [self.term(depth)]
        while self.peek().is_word("AND"):
            self.advance()
            terms.append(self.term(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def term(self, depth: int) -> Expr:
        if self.peek().type is T.LPAREN:
            opening = self.advance()
            if self.peek().type is T.RPAREN:
                raise self.expected("a comparison inside the parentheses")
            expr = self.or_expr(depth + 1)
            if self.peek().type is not T.RPAREN:
                raise self.expected(f"')' to close the '(' of column {opening.column}")
            self.advance()
            return expr
        return self.comparison()

    def comparison(self) -> Comparison:
        self.clauses += 1
        if self.clauses > MAX_QUERY_CLAUSES:
            raise self.fail(f"a filter may hold at most {MAX_QUERY_CLAUSES} comparisons")
        start = self.peek()
        field = self.field()
        named = Token(T.WORD, str(field), start.column)
        token = self.peek()
        if token.type is T.OP:
            op_token = self.advance()
            if op_token.text not in _COMPARISONS:
                raise self.fail(f"unknown operator '{op_token.text}'", op_token)
            op = _COMPARISONS[op_token.text]
            return Comparison(field, op, (self.value(field, op, op_token),))
        if token.is_word("LIKE", "ILIKE"):
            op_token = self.advance()
            op = Op(op_token.text.upper())
            return Comparison(field, op, (self.value(field, op, op_token),))
        if token.is_word("IS"):
            self.advance()
            negated = self.peek().is_word("NOT")
            if negated:
                self.advance()
            if not self.peek().is_word("NULL"):
                raise self.expected("NULL", Token(T.WORD, "IS NOT" if negated else "IS", 0))
            self.advance()
            return self.checked(Comparison(field, Op.IS_NOT_NULL if negated else Op.IS_NULL), start)
        if token.is_word("NOT"):
            self.advance()
            if not self.peek().is_word("IN"):
                raise self.expected("IN (as in NOT IN)")
            return self.in_list(field, Op.NOT_IN, start)
        if token.is_word("IN"):
            return self.in_list(field, Op.IN, start)
        raise self.expected(f"an operator ({_OPERATOR_LIST})", named)

    def in_list(self, field: Field, op: Op, start: Token) -> Comparison:
        op_token = self.advance()  # IN
        if self.peek().type is not T.LPAREN:
            raise self.expected("'(' and a list of values", op_token)
        self.advance()
        if self.peek().type is T.RPAREN:
            raise self.fail(f"{op} needs at least one value")
        values = [self.value(field, op, op_token)]
        while self.peek().type is T.COMMA:
            comma = self.advance()
            values.append(self.value(field, op, comma))
        if self.peek().type is not T.RPAREN:
            raise self.expected("',' or ')' in the list of values")
        self.advance()
        return self.checked(Comparison(field, op, tuple(values)), start)

    def field(self) -> Field:
        token = self.peek()
        if token.type is not T.WORD or token.is_word(
            "AND", "OR", "NOT", "IN", "IS", "LIKE", "ILIKE", "NULL"
        ):
            raise self.expected(f"a field ({_FIELD_HELP})")
        self.advance()
        kind = PREFIXES.get(token.text.lower())
        if kind is None or self.peek().type is not T.DOT:
            return self.attribute(token)
        dot = self.advance()
        parts: list[tuple[str, bool]] = []  # (text, quoted)
        while True:
            part = self.peek()
            if part.type not in (T.WORD, T.QUOTED_NAME, T.STRING):
                what = "a metric name" if kind is FieldKind.METRIC else "a key"
                if kind is FieldKind.ATTRIBUTE:
                    what = "an attribute"
                raise self.expected(what, dot)
            self.advance()
            parts.append((part.text, part.type is not T.WORD))
            if self.peek().type is not T.DOT:
                break
            dot = self.advance()
        if kind is FieldKind.ATTRIBUTE:
            if len(parts) > 1 or parts[0][1]:
                raise self.fail(f"unknown attribute; use one of {', '.join(ATTRIBUTES)}", token)
            return self.attribute(Token(T.WORD, parts[0][0], token.column))
        aggregate = Aggregate.LAST
        if kind is FieldKind.METRIC and len(parts) > 1 and not parts[-1][1]:
            last = parts[-1][0].lower()
            if last in set(Aggregate):
                aggregate = Aggregate(last)
                parts.pop()
        key = ".".join(text for text, _ in parts)
        if not key:
            raise self.fail("a name cannot be empty", token)
        return Field(kind, key, aggregate)

    def attribute(self, token: Token) -> Field:
        name = token.text.lower()
        name = ATTRIBUTE_ALIASES.get(name, name)
        if name not in ATTRIBUTES:
            raise self.fail(f"unknown field '{token.text}': use {_FIELD_HELP}", token)
        return Field(FieldKind.ATTRIBUTE, name)

    # -- values ------------------------------------------------------------------------------------

    def value(self, field: Field, op: Op, after: Token) -> Value:
        token = self.peek()
        if token.type not in (T.STRING, T.NUMBER):
            if token.type is T.WORD and not token.is_word("AND", "OR", "NOT", "IN", "IS"):
                numeric = field.value_kind in (ValueKind.NUMBER, ValueKind.TIME)
                hint = f"{field} takes a number" if numeric else f"quote text ('{token.text}')"
                raise self.fail(
                    f"expected a value after {after.describe()}, found the word "
                    f"{token.describe()}: {hint}",
                    token,
                )
            raise self.expected("a value", after)
        self.advance()
        kind = field.value_kind
        if op in PATTERN_OPS:
            if kind not in (ValueKind.TEXT, ValueKind.RUN_ID):
                raise self.fail(f"{op} applies to text; {field} is a {kind}", after)
            if token.type is not T.STRING:
                raise self.fail(f"{op} takes a quoted pattern, such as '%{token.text}%'", token)
            return token.text
        if op in ORDERING_OPS and kind not in (ValueKind.NUMBER, ValueKind.TIME):
            raise self.fail(
                f"{field} is {'a status' if kind is ValueKind.STATUS else 'text'}: compare it "
                "with =, !=, IN, NOT IN" + ("" if kind is ValueKind.STATUS else ", LIKE or ILIKE"),
                after,
            )
        if kind is ValueKind.NUMBER:
            return self.number(field, token)
        if kind is ValueKind.TIME:
            return self.time(field, token)
        if token.type is not T.STRING:
            what = {FieldKind.TAG: "tag values", FieldKind.PROPERTY: "property values"}.get(
                field.kind, f"{field} values"
            )
            raise self.fail(f"{what} are text: quote it ('{token.text}')", token)
        if kind is ValueKind.STATUS:
            return self.status(token)
        return token.text

    def number(self, field: Field, token: Token) -> float:
        if token.type is not T.NUMBER:
            raise self.fail(f"{field} takes a number, found {token.describe()}", token)
        value = float(token.text)
        if not math.isfinite(value):
            raise self.fail(f"{token.text} is too large a number", token)
        return value

    def time(self, field: Field, token: Token) -> float:
        if token.type is T.NUMBER:
            return self.number(field, token)
        try:
            moment = dt.datetime.fromisoformat(token.text)
        except ValueError:
            raise self.fail(
                f"{field} takes POSIX seconds or an ISO 8601 time such as '2026-11-30' or "
                f"'2026-11-30T14:05:00Z', found {token.describe()}",
                token,
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()

    def status(self, token: Token) -> str:
        alias = STATUS_ALIASES.get(token.text.lower())
        if alias is not None:
            return alias.value
        try:
            return RunStatus.parse(token.text).value
        except ValueError:
            names = ", ".join(s.value for s in RunStatus)
            raise self.fail(
                f"unknown status {token.describe()}: use one of {names}", token
            ) from None

    def checked(self, comparison: Comparison, start: Token) -> Comparison:
        field = comparison.field
        attribute = ATTRIBUTES.get(field.key) if field.kind is FieldKind.ATTRIBUTE else None
        if comparison.op in NULL_OPS and attribute is not None and not attribute.nullable:
            raise self.fail(f"{field} is never missing: {comparison.op} would be constant", start)
        return comparison

    # -- sort keys ---------------------------------------------------------------------------------

    def order_key(self) -> OrderKey:
        if self.peek().type is T.END:
            raise self.expected(f"a field to sort by ({_FIELD_HELP})")
        field = self.field()
        descending = False
        if self.peek().is_word("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        if self.peek().type is not T.END:
            raise self.expected("ASC, DESC or the end of the sort key")
        return OrderKey(field, descending)


def parse_filter(text: str | None, source: str = "filter") -> Expr | None:
    """The expression ``text`` says (None for no filter: None, empty or blank).

    Raises:
        InvalidQueryError: the text does not parse, names an unknown field or status, or
            compares a field with the wrong kind of value; the message names the column.
    """
    if text is None:
        return None
    return _Parser(text, source).filter()


def parse_order_by(keys: str | list[str] | tuple[str, ...] | None) -> tuple[OrderKey, ...]:
    """The sort keys ``keys`` names: each ``"FIELD [ASC|DESC]"`` (ascending by default).

    Raises:
        InvalidQueryError: a key does not parse; the message names it (``order_by[1]``).
    """
    if keys is None:
        return ()
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, (list, tuple)):
        raise InvalidQueryError(
            f"order_by takes a list of sort keys such as ['metrics.acc DESC'], got "
            f"{type(keys).__name__}.",
            source="order_by",
        )
    if len(keys) > MAX_ORDER_KEYS:
        raise InvalidQueryError(
            f"order_by holds {len(keys)} keys; the most it takes is {MAX_ORDER_KEYS}.",
            source="order_by",
        )
    return tuple(_Parser(key, f"order_by[{i}]").order_key() for i, key in enumerate(keys))
