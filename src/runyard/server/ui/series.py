"""The metrics the UI's charts, tables and image viewers read, under ``/ui/api/w/<workspace>``.

Numeric series are windowed and downsampled on the server (``downsample``): a chart asks for
``buckets`` (about its width in pixels) and gets at most four points per bucket plus the
min/max band, whatever the series' length; zooming asks again for the zoomed window, which is
served at full resolution once it holds few enough points.

Routes (all reads: ``UiReader``):

- ``GET runs/<id>/metrics``: every series of a run with kind, value type, count, last/min/max.
- ``GET runs/<id>/metrics/<name>?x=step|relative|wall&start=&end=&buckets=``: one numeric
  series' window: ``{x, y, band: {x, min, max} | null, total, returned, downsampled}``.
- ``GET metric-series?name=&run=<id>&run=<id>...&x=&start=&end=&buckets=``: the same for one
  metric of several runs (the compare page's overlay), ``{series: [...]}``.
- ``GET runs/<id>/metric-values?name=``: a table (rows and columns), string, image or JSON
  metric's points.
- ``GET runs/<id>/metric-image?path=``: the bytes of an image a metric points at; only PNG,
  JPEG, GIF and BMP (recognised by their first bytes, never by the name), with nosniff and
  ``Content-Security-Policy: sandbox``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response, StreamingResponse

from runyard.entities import MetricChunk, MetricKind, MetricSeries, RunInfo
from runyard.errors import ArtifactNotFoundError, InvalidArgumentError, MetricNotFoundError
from runyard.server.ui import downsample
from runyard.server.ui.access import UI_PREFIX, UiAccess, UiReader
from runyard.server.ui.answers import json_response, plain
from runyard.server.ui.downsample import XAxis
from runyard.server.ui.series_cache import CACHE, SeriesArrays, is_numeric

router = APIRouter(prefix=f"{UI_PREFIX}/api/w/{{workspace}}", include_in_schema=False)

MAX_VALUES = 10_000
"""A table, string or image metric answers with its last this many points."""
MAX_JSON_BYTES = 1 << 20
MAX_COMPARE_RUNS = 500
ARTIFACT_URI = "runyard://artifacts/"
IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)

Axis = Annotated[XAxis, Query(alias="x")]
Buckets = Annotated[int, Query(ge=1, le=downsample.MAX_BUCKETS)]


def series_summary(series: MetricSeries) -> dict[str, Any]:
    return {
        "name": series.name,
        "kind": series.kind.value,
        "value_type": series.value_type.value,
        "count": series.count,
        "last": plain(series.last_value),
        "min": plain(series.min_value),
        "max": plain(series.max_value),
        "description": series.description,
        "numeric": is_numeric(series.kind, series.value_type),
    }


def window_json(
    chunk: SeriesArrays,
    run: RunInfo,
    axis: XAxis,
    start: float | None,
    end: float | None,
    buckets: int,
) -> dict[str, Any]:
    """The drawable window of one numeric series (see ``downsample.window``).

    Raises:
        InvalidArgumentError: the series is not numeric, or the window is (see ``window``).
    """
    if not is_numeric(chunk.kind, chunk.value_type):
        raise InvalidArgumentError(
            f"Metric {chunk.name!r} holds {chunk.kind.value} values of type "
            f"{chunk.value_type.value}, not numbers: read it with metric-values."
        )
    x = downsample.x_values(axis, chunk.steps, chunk.times, run.start_time)
    found = downsample.window(x, chunk.values, start, end, buckets)
    band = found.band
    return {
        "run_id": chunk.run_id,
        "name": chunk.name,
        "axis": axis.value,
        "x": found.x.tolist(),
        "y": found.y.tolist(),
        "band": None
        if band is None
        else {"x": band.x.tolist(), "min": band.min.tolist(), "max": band.max.tolist()},
        "total": found.total,
        "returned": found.returned,
        "downsampled": found.downsampled,
        "points": chunk.count,
    }


@router.get("/runs/{run_id}/metrics")
def run_metrics(run_id: str, access: UiReader) -> Response:
    """Every series of the run (name order) with its summary."""
    access.store.get_run(run_id)  # 404 for an unknown run
    found = sorted(access.store.list_metric_series([run_id]), key=lambda s: s.name)
    return json_response({"run_id": run_id, "metrics": [series_summary(s) for s in found]})


@router.get("/runs/{run_id}/metrics/{name:path}")
def metric_window(
    run_id: str,
    name: str,
    access: UiReader,
    axis: Axis = XAxis.STEP,
    start: float | None = None,
    end: float | None = None,
    buckets: Buckets = downsample.DEFAULT_BUCKETS,
) -> Response:
    """One numeric series' window, downsampled when it holds more than 4 points a bucket."""
    run = access.store.get_run(run_id)
    found = CACHE.series(access.workspace, access.store, [run_id], name)
    if run_id not in found:
        raise _no_metric(access, run_id, name)
    return json_response(window_json(found[run_id], run, axis, start, end, buckets))


@router.get("/metric-series")
def compare_windows(
    access: UiReader,
    name: str,
    run: Annotated[list[str], Query()],
    axis: Axis = XAxis.STEP,
    start: float | None = None,
    end: float | None = None,
    buckets: Buckets = downsample.DEFAULT_BUCKETS,
) -> Response:
    """One metric of several runs (runs without it are left out), in the order asked."""
    if len(run) > MAX_COMPARE_RUNS:
        raise InvalidArgumentError(
            f"{len(run)} runs asked for; a chart overlays at most {MAX_COMPARE_RUNS}: "
            "select fewer runs."
        )
    runs = {r: access.store.get_run(r) for r in dict.fromkeys(run)}
    found = CACHE.series(access.workspace, access.store, list(runs), name)
    series = [
        window_json(found[r], info, axis, start, end, buckets)
        for r, info in runs.items()
        if r in found and is_numeric(found[r].kind, found[r].value_type)
    ]
    return json_response({"name": name, "axis": axis.value, "series": series})


@router.get("/runs/{run_id}/metric-values")
def metric_values(run_id: str, name: str, access: UiReader) -> Response:
    """A table (rows + columns), string, image or JSON metric: its last ``MAX_VALUES`` points.

    Image points carry the artifact ``path`` to ask ``metric-image`` for; JSON metrics
    (confusion matrix, accuracy table, residuals, predictions) the text of their last
    artifact.
    """
    access.store.get_run(run_id)
    chunk = _one_series(access, run_id, name)
    count = len(chunk.values)
    first = max(0, count - MAX_VALUES)
    values = list(chunk.values[first:])
    steps = list(chunk.steps[first:]) if chunk.steps is not None else [None] * len(values)
    answer: dict[str, Any] = {
        "run_id": run_id,
        "name": name,
        "kind": chunk.kind.value,
        "value_type": chunk.value_type.value,
        "total": count,
        "first": first,
        "steps": steps,
        "times": list(chunk.times[first:]),
    }
    if chunk.kind is MetricKind.TABLE:
        columns: dict[str, None] = {}
        for row in values:
            if isinstance(row, Mapping):
                columns.update(dict.fromkeys(map(str, row)))
        answer["columns"] = list(columns)
        answer["rows"] = [plain(row) if isinstance(row, Mapping) else {} for row in values]
    elif chunk.kind is MetricKind.IMAGE:
        answer["images"] = [_artifact_path(run_id, v) for v in values]
    elif chunk.kind.is_artifact:
        answer["paths"] = [_artifact_path(run_id, v) for v in values]
        answer["json"] = _json_text(access, run_id, answer["paths"][-1] if values else None)
    else:
        answer["values"] = [plain(v) for v in values]
    return json_response(answer)


@router.get("/runs/{run_id}/metric-image")
def metric_image(run_id: str, path: str, access: UiReader) -> Response:
    """The bytes of an image artifact, typed by its first bytes; anything else is refused.

    Raises:
        ArtifactNotFoundError: the run has no such artifact, or it is not a PNG, JPEG, GIF or
            BMP image (an HTML or SVG file is never served here).
    """
    stream = access.store.open_artifact(run_id, path)
    head = stream.read(16)
    media = next((t for magic, t in IMAGE_TYPES if head.startswith(magic)), None)
    if media is None:
        stream.close()
        raise ArtifactNotFoundError(
            f"{path!r} is not a PNG, JPEG, GIF or BMP image; the chart viewer shows only those "
            "(download other files from the run's files)."
        )

    def chunks() -> Iterator[bytes]:
        try:
            yield head
            while block := stream.read(1 << 16):
                yield block
        finally:
            stream.close()

    return StreamingResponse(
        chunks(),
        media_type=media,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


def _one_series(access: UiAccess, run_id: str, name: str) -> MetricChunk:
    found = access.store.read_metrics([run_id], [name])
    if not found:
        raise _no_metric(access, run_id, name)
    return found[0]


def _no_metric(access: UiAccess, run_id: str, name: str) -> MetricNotFoundError:
    names = sorted(s.name for s in access.store.list_metric_series([run_id]))
    return MetricNotFoundError(
        f"Run {run_id} has no metric {name!r}; it has: {', '.join(names) or 'none'}."
    )


def _artifact_path(run_id: str, uri: Any) -> str | None:
    """The artifact path of ``runyard://artifacts/<run_id>/<path>`` (None for another run's)."""
    prefix = f"{ARTIFACT_URI}{run_id}/"
    if isinstance(uri, str) and uri.startswith(prefix):
        return uri[len(prefix) :]
    return None


def _json_text(access: UiAccess, run_id: str, path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with access.store.open_artifact(run_id, path) as stream:
            data = stream.read(MAX_JSON_BYTES + 1)
    except ArtifactNotFoundError:
        return None
    if len(data) > MAX_JSON_BYTES:
        return None
    return data.decode("utf-8", errors="replace")
