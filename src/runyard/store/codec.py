"""Compact encodings of metric points, shared by every backend and transport.

A chunk's values are packed little-endian doubles (``f64``) when they are all floats, packed
int64 (``i64``) when they are all ints, and JSON otherwise (strings, bools, None, table rows,
mixes). Times are always packed doubles; steps are absent, ``i64`` or JSON (when some points
have none). Packing is what makes a million points cost milliseconds to encode: formatting a
float as text costs far more than copying its 8 bytes.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class Encoding(StrEnum):
    """How a sequence of values is packed."""

    F64 = "f64"
    I64 = "i64"
    JSON = "json"


F64 = Encoding.F64
I64 = Encoding.I64
JSON = Encoding.JSON

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_SWAP = sys.byteorder != "little"


def _pack(typecode: str, values: Sequence[Any]) -> bytes:
    packed = array(typecode, values)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def _unpack(typecode: str, data: bytes) -> list[Any]:
    packed = array(typecode)
    packed.frombytes(data)
    if _SWAP:
        packed.byteswap()
    return packed.tolist()


def encode(values: Sequence[Any]) -> tuple[Encoding, bytes]:
    """(encoding, bytes) of a list of values, packed when they are all floats or all ints."""
    types = set(map(type, values))  # one C pass
    if types == {float}:
        return F64, _pack("d", values)
    if types == {int}:
        try:
            return I64, _pack("q", values)
        except OverflowError:
            pass
    return JSON, _dumps(list(values)).encode()


def decode(encoding: str, data: bytes) -> list[Any]:
    """The values of ``encode``.

    Raises:
        ValueError: ``data`` is not a packing of values in ``encoding`` (a length that is no
            multiple of 8, JSON that is not a list), or the encoding is unknown.
    """
    if encoding == F64:
        return _unpack("d", data)
    if encoding == I64:
        return _unpack("q", data)
    if encoding == JSON:
        try:
            loaded = json.loads(data)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        if not isinstance(loaded, list):
            raise ValueError(f"the JSON is a {type(loaded).__name__}, not a list of values")
        return loaded
    raise ValueError(
        f"Unknown metric encoding {encoding!r}: this store was written by a newer "
        "runyard; upgrade runyard to read it."
    )


def encode_times(times: Sequence[float]) -> bytes:
    return _pack("d", times)


def decode_times(data: bytes) -> list[float]:
    """The times of ``encode_times``; ValueError if ``data`` is no packing of doubles."""
    return _unpack("d", data)
