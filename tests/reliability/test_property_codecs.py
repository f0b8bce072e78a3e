"""Property-based tests of the metric codec and the wire encoding (issue 8, bad input).

For any values: what is encoded decodes to the same values (floats to the bit, NaN and -0.0
included; ints of any size; strings with lone surrogates; table rows). For any garbage: decoding
raises ``InvalidArgumentError`` (wire) or ``ValueError`` (codec), never anything else, so a
server answers a 400 to it, never a 500.
"""

from __future__ import annotations

import base64
import contextlib
import math
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.errors import InvalidArgumentError
from runyard.store import codec, wire

PROPERTIES = settings(
    deadline=None,  # the machine is shared: no speed assertion
    max_examples=200,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udfff"]))
scalars = st.none() | st.booleans() | st.integers() | floats | texts
rows = st.dictionaries(texts, scalars, max_size=5)
values = st.lists(scalars | rows, max_size=30)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4)
)


def _bits(value: Any) -> Any:
    """``value`` with every float as its 8 bytes (-0.0 differs from 0.0), and every NaN one NaN
    (JSON has one NaN: it keeps no payload)."""
    if type(value) is float:
        return ("float", "NaN" if math.isnan(value) else struct.pack("<d", value))
    if isinstance(value, list):
        return [_bits(v) for v in value]
    if isinstance(value, dict):
        return [(k, _bits(v)) for k, v in value.items()]
    return (type(value).__name__, value)


@PROPERTIES
@given(st.lists(floats, max_size=50))
def test_codec_floats_round_trip_to_the_bit(points: list[float]) -> None:
    encoding, data = codec.encode(points)
    assert encoding == (codec.F64 if points else codec.JSON)
    packed = struct.pack(f"<{len(points)}d", *points)  # NaN payloads too: packed, not JSON
    assert struct.pack(f"<{len(points)}d", *codec.decode(encoding, data)) == packed
    assert (
        struct.pack(f"<{len(points)}d", *codec.decode_times(codec.encode_times(points))) == packed
    )


@PROPERTIES
@given(st.lists(st.integers(), max_size=50))
def test_codec_ints_of_any_size_round_trip(points: list[int]) -> None:
    encoding, data = codec.encode(points)
    assert _bits(codec.decode(encoding, data)) == _bits(points)


@PROPERTIES
@given(values)
def test_codec_any_values_round_trip(points: list[Any]) -> None:
    encoding, data = codec.encode(points)
    assert _bits(codec.decode(encoding, data)) == _bits(points)


@PROPERTIES
@given(st.text(max_size=8), st.binary(max_size=64))
def test_codec_garbage_raises_value_error_only(encoding: str, data: bytes) -> None:
    for name in (encoding, "f64", "i64", "json"):
        with contextlib.suppress(ValueError):
            assert isinstance(codec.decode(name, data), list)


@PROPERTIES
@given(json_values)
def test_wire_json_round_trips(value: Any) -> None:
    assert _bits(wire.loads(wire.dumps(value))) == _bits(value)


@PROPERTIES
@given(
    st.sampled_from(list(MetricKind)),
    st.sampled_from(list(ValueType)),
    values,
    st.booleans(),
    texts,
)
def test_wire_chunks_round_trip(
    kind: MetricKind, value_type: ValueType, points: list[Any], with_steps: bool, name: str
) -> None:
    times = [float(i) for i in range(len(points))]
    steps = list(range(len(points))) if with_steps else None
    chunk = MetricChunk("run", name, kind, value_type, points, times, steps, "described")
    sent = wire.loads(wire.dumps(wire.chunk_to_json(chunk)))
    back = wire.chunk_from_json(sent)
    assert (back.run_id, back.name, back.kind, back.value_type) == ("run", name, kind, value_type)
    assert _bits(back.values) == _bits(points)
    assert back.times == times
    assert back.steps == steps
    assert back.description == "described"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


garbage_packed = (
    json_values
    | st.fixed_dictionaries({"encoding": json_values, "data": json_values})
    | st.fixed_dictionaries(
        {"encoding": st.sampled_from(["f64", "i64", "json", "x"]), "data": st.binary().map(_b64)}
    )
    | st.fixed_dictionaries(
        {"encoding": st.just("json"), "data": json_values.map(lambda v: _b64(wire.dumps(v)))}
    )
)
garbage_chunks = json_values | st.fixed_dictionaries(
    {
        "run_id": json_values,
        "name": json_values,
        "kind": st.sampled_from([k.value for k in MetricKind]) | json_values,
        "value_type": st.sampled_from([v.value for v in ValueType]) | json_values,
        "values": garbage_packed,
        "times": st.binary().map(_b64) | json_values,
        "steps": st.none() | garbage_packed,
    },
    optional={"description": json_values},
)


@PROPERTIES
@given(garbage_packed)
def test_wire_garbage_values_raise_invalid_argument_only(packed: Any) -> None:
    try:
        unpacked = wire.unpack_values(packed)
    except InvalidArgumentError:
        return
    assert isinstance(unpacked, list)


@PROPERTIES
@given(garbage_chunks)
def test_wire_garbage_chunks_raise_invalid_argument_only(data: Any) -> None:
    try:
        chunk = wire.chunk_from_json(data)
    except InvalidArgumentError:
        return
    assert isinstance(chunk.values, list)
    assert all(isinstance(t, float) for t in chunk.times)


def test_wire_nan_and_infinity_travel() -> None:
    sent = wire.loads(wire.dumps({"v": [math.nan, math.inf, -math.inf]}))
    assert math.isnan(sent["v"][0]) and sent["v"][1:] == [math.inf, -math.inf]
