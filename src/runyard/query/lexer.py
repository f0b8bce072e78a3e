"""Cutting a query into tokens, each with its column (1-based) for error messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from runyard.errors import InvalidQueryError


class T(enum.StrEnum):
    WORD = "word"
    QUOTED_NAME = "quoted name"
    """A name in backticks: metrics.`val loss`."""
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    DOT = "'.'"
    END = "end of the query"


@dataclass(frozen=True, slots=True)
class Token:
    type: T
    text: str
    """The token's value: the word, the unquoted string, the operator, the number's text."""
    column: int

    def describe(self) -> str:
        if self.type is T.END:
            return "the end of the query"
        if self.type is T.STRING:
            return f"'{self.text}'" if len(self.text) <= 30 else f"'{self.text[:27]}...'"
        if self.type is T.QUOTED_NAME:
            return f"`{self.text}`"
        return f"'{self.text}'"

    def is_word(self, *words: str) -> bool:
        return self.type is T.WORD and self.text.upper() in words


_OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_SINGLE = {"(": T.LPAREN, ")": T.RPAREN, ",": T.COMMA, ".": T.DOT}


def _fail(source: str, column: int, message: str) -> InvalidQueryError:
    return InvalidQueryError(
        f"{source}: {message} at column {column}", source=source, column=column
    )


def _quoted(text: str, start: int, source: str) -> tuple[str, int]:
    """The content of the quoted token at ``start`` and the index after it; a doubled quote
    inside stands for one (``'it''s'``), and so does a backslash before it (``'it\\'s'``)."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    what = "name" if quote == "`" else "string"
    raise _fail(source, start + 1, f"this {what} has no closing {quote}")


def _number_end(text: str, i: int) -> int:
    """The index after the number starting at ``i`` (digits, one '.', an exponent)."""
    n = len(text)
    j = i
    if j < n and text[j] in "+-":
        j += 1
    while j < n and _digit(text[j]):
        j += 1
    if j < n and text[j] == ".":
        j += 1
        while j < n and _digit(text[j]):
            j += 1
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and _digit(text[k]):
            while k < n and _digit(text[k]):
                k += 1
            j = k
    return j


def tokenize(text: str, source: str = "filter") -> list[Token]:
    """The tokens of ``text``, ending with an END token.

    Raises:
        InvalidQueryError: an unclosed quote or a character no token starts with.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch in "'\"`":
            value, i = _quoted(text, i, source)
            tokens.append(Token(T.QUOTED_NAME if ch == "`" else T.STRING, value, column))
        elif tokens and tokens[-1].type is T.DOT and (ch.isalnum() or ch == "_"):
            j = i + 1  # a part of a dotted name: metrics.layer.0.loss
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            tokens.append(Token(T.WORD, text[i:j], column))
            i = j
        elif _digit(ch) or (
            ch in "+-." and i + 1 < n and _starts_value(tokens) and _digit_follows(text, i + 1)
        ):
            end = _number_end(text, i)
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise _fail(source, column, f"'{text[i : end + 1]}' is not a number")
            tokens.append(Token(T.NUMBER, text[i:end], column))
            i = end
        elif ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            tokens.append(Token(T.WORD, text[i:j], column))
            i = j
        elif ch in _SINGLE:
            tokens.append(Token(_SINGLE[ch], ch, column))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise _fail(source, column, f"unexpected character {ch!r}")
            tokens.append(Token(T.OP, op, column))
            i += len(op)
    # The end is just after the last character that is not blank: "metrics.acc > " lacks a
    # value at column 15 (right after '>'), whatever blanks follow.
    tokens.append(Token(T.END, "", len(text.rstrip()) + 1))
    return tokens


def _starts_value(tokens: list[Token]) -> bool:
    """Whether a sign or a '.' here starts a number: after an operator, '(' or ','."""
    return not tokens or tokens[-1].type in (T.OP, T.LPAREN, T.COMMA)


def _digit(text: str) -> bool:
    """``text`` is ASCII digits ("²" and "٣" are digits to ``str.isdigit``, not to ``float``)."""
    return text.isascii() and text.isdigit()


def _digit_follows(text: str, i: int) -> bool:
    """A digit at ``i``, or a '.' and a digit (``-.5``)."""
    if _digit(text[i : i + 1]):
        return True
    return text[i : i + 1] == "." and _digit(text[i + 1 : i + 2])
