"""Metric points cut into requests a server takes: at most ``MAX_METRICS_BODY_BYTES`` each.

The server refuses a request body past its limit (413, 64 MiB by default), and a refused batch
would be lost, so ``HttpStore.log_metrics`` never sends one that large: chunks are grouped in
order, and a chunk too large alone is cut into consecutive parts. Each chunk is encoded once;
only one that must be cut is encoded again, in halves. A server set to take less than
``MAX_METRICS_BODY_BYTES`` answers 413: the request is then cut in halves and sent again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runyard.entities import MetricChunk
from runyard.store import wire

MAX_METRICS_BODY_BYTES = 8 * 1024 * 1024
"""The most a metrics request carries, about: well under a server's body limit, whatever the
points hold (numbers take 8 bytes each, packed; strings and rows their JSON)."""


@dataclass
class MetricRequest:
    """The encoded chunks of one request, and what it is about."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    sources: list[MetricChunk] = field(default_factory=list)
    """The chunks before encoding (to cut the request again, should the server want less)."""
    run_ids: list[str] = field(default_factory=list)
    points: int = 0
    size: int = 0


def metric_requests(chunks: Sequence[MetricChunk], limit: int | None) -> list[MetricRequest]:
    """``chunks`` encoded (``wire.chunk_to_json``), in order, in requests of at most ``limit``
    bytes of packed data each (None: all in one); one point alone always goes."""
    requests = [MetricRequest()]
    pending = [(chunk, wire.chunk_to_json(chunk)) for chunk in reversed(chunks)]
    while pending:
        chunk, encoded = pending.pop()
        size = _size(encoded)
        if limit is not None and size > limit and len(chunk.values) > 1:
            half = len(chunk.values) // 2
            for part in (_points(chunk, half, len(chunk.values)), _points(chunk, 0, half)):
                pending.append((part, wire.chunk_to_json(part)))
            continue
        request = requests[-1]
        if limit is not None and request.chunks and request.size + size > limit:
            request = MetricRequest()
            requests.append(request)
        request.chunks.append(encoded)
        request.sources.append(chunk)
        if chunk.run_id not in request.run_ids:
            request.run_ids.append(chunk.run_id)
        request.points += len(chunk.values)
        request.size += size
    for request in requests:
        request.run_ids.sort()
    return requests


def _size(encoded: dict[str, Any]) -> int:
    """The bytes of packed data an encoded chunk holds (its base64 strings), about."""
    steps = encoded.get("steps")
    return (
        200
        + len(encoded["values"]["data"])
        + len(encoded["times"])
        + (0 if steps is None else len(steps["data"]))
    )


def _points(chunk: MetricChunk, start: int, stop: int) -> MetricChunk:
    steps = None if chunk.steps is None else chunk.steps[start:stop]
    return dataclasses.replace(
        chunk, values=chunk.values[start:stop], times=chunk.times[start:stop], steps=steps
    )
