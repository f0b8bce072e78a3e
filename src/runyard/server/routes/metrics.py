"""Metrics: chunks in, series summaries and points out, packed (``runyard.store.codec``)."""

from __future__ import annotations

from starlette.responses import Response

from runyard.server import schemas
from runyard.server.auth import Reader, Writer
from runyard.server.routes import RequestId, json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("metrics")


@router.post("/metrics", status_code=204)
def log_metrics(
    body: schemas.LogMetricsBody, access: Writer, request_id: RequestId = None
) -> Response:
    """`Store.log_metrics`: append every chunk in one transaction. The one write path of
    metric points; sent again with the same request id, it appends nothing."""
    chunks = [wire.chunk_from_json(c.model_dump()) for c in body.chunks]
    access.store.log_metrics(chunks, request_id=request_id)
    return no_content()


@router.post("/metrics/series/query", response_model=schemas.SeriesList)
def list_metric_series(body: schemas.RunIdsBody, access: Reader) -> Response:
    """`Store.list_metric_series`: count, min, max and the last point (value, step, time) of
    every series of the runs."""
    series = access.store.list_metric_series(body.run_ids)
    return json({"series": [wire.to_json(s) for s in series]})


@router.post("/metrics/query", response_model=schemas.MetricChunkList)
def read_metrics(body: schemas.RunIdsBody, access: Reader) -> Response:
    """`Store.read_metrics`: every point of the runs' series (all, or only ``names``)."""
    data = access.store.read_metrics(body.run_ids, body.names)
    return json({"metrics": [wire.chunk_to_json(d) for d in data]})
