"""The JSON behind a run's page (``/ui/w/<workspace>/r/<run_id>``), under
``/ui/api/w/<workspace>/runs/<run_id>``: the run, its metric summaries, children, files, logs,
and the changes the page makes (tags, cancel, delete and restore).

Reads need a session with any role in the workspace (``UiReader``); changes a writer's session
and the page's anti-CSRF header (``UiWriter``). Answers are JSON a browser can parse: a value
JSON cannot hold (NaN, infinities) travels as its name in a string.

A run's files never reach the page as markup: the raw route answers ``attachment`` (``inline``
only for PNG, JPEG, GIF and WebP images) with ``Content-Security-Policy: sandbox`` and never a
type a browser renders as a document; previews read the ``text`` route, which returns the
first bytes of a file as a JSON string that the page puts in ``textContent``.
"""

from __future__ import annotations

import codecs
import mimetypes
import posixpath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from runyard.entities import RunInfo, RunLifecycle, RunQuery, RunStatus, RunType
from runyard.server.streams import iter_file
from runyard.server.ui.access import UI_PREFIX, UiReader, UiWriter
from runyard.server.ui.answers import json_response

router = APIRouter(
    prefix=f"{UI_PREFIX}/api/w/{{workspace}}/runs/{{run_id}}", include_in_schema=False
)

TEXT_PREVIEW_BYTES = 256 * 1024
"""The most of a file the preview shows (the rest: download it)."""
LOG_CHUNK_BYTES = 512 * 1024
"""The most of a log one read returns; the page reads again from the offset it gets back."""
CHILDREN_PAGE = 200
"""Child runs listed per request (the page asks for more with ``page_token``)."""
INLINE_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
"""The only files served inline (for ``<img>``): raster images a browser never runs."""
RAW_CSP = "sandbox"
"""A raw file opened as a page runs no script and gets an opaque origin (not the UI's)."""


def run_json(info: RunInfo) -> dict[str, Any]:
    """What the page shows of a run: its fields, plus whether it has ended, whether it is a
    submitted script, and its duration (so far, while it runs)."""
    return {
        "run_id": info.run_id,
        "number": info.number,
        "display_name": info.display_name,
        "description": info.description,
        "experiment_name": info.experiment_name,
        "status": info.status.value,
        "terminal": info.status.is_terminal,
        "is_script": info.run_type == RunType.SCRIPT,
        "run_type": info.run_type,
        "target": info.target,
        "created_time": info.created_time,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "heartbeat_time": info.heartbeat_time,
        "submitted_by": info.submitted_by,
        "parent_run_id": info.parent_run_id,
        "root_run_id": info.root_run_id,
        "deleted_time": info.deleted_time,
        "error": dict(info.error) if info.error is not None else None,
        "run_definition": dict(info.run_definition) if info.run_definition is not None else None,
        "tags": [{"key": k, "value": v} for k, v in info.tags.items()],
        "properties": [{"key": k, "value": v} for k, v in info.properties.items()],
    }


class TagsChange(BaseModel):
    """Tags to merge into the run's (``null``: a value-less tag)."""

    tags: dict[str, str | None]


@router.get("")
def get_run(run_id: str, access: UiReader) -> Response:
    """The run, as the page shows it (polled while the run has not ended)."""
    return json_response(run_json(access.store.get_run(run_id)))


@router.patch("/tags")
def set_tags(run_id: str, body: TagsChange, access: UiWriter) -> Response:
    """Merge tags (add or edit); returns the run as it now is."""
    access.store.set_tags(run_id, body.tags)
    return json_response(run_json(access.store.get_run(run_id)))


@router.delete("/tags")
def remove_tags(
    run_id: str, access: UiWriter, key: Annotated[list[str] | None, Query()] = None
) -> Response:
    """Drop the tags named by the ``key`` parameters; returns the run as it now is."""
    access.store.remove_tags(run_id, key or [])
    return json_response(run_json(access.store.get_run(run_id)))


@router.post("/cancel")
def cancel(run_id: str, access: UiWriter) -> Response:
    """Cancel the run as the SDK's ``cancel()`` does: a submitted script gets a stop request
    (its supervisor stops the process and ends the run Canceled; a run not started yet ends at
    once), any other run is marked Canceled. A run that has ended is left as it is."""
    store = access.store
    info = store.get_run(run_id)
    if not info.status.is_terminal:
        if info.run_type == RunType.SCRIPT:
            info = store.request_stop(run_id, RunStatus.CANCELED)
        else:
            info = store.set_run_status(run_id, RunStatus.CANCELED)
    return json_response(run_json(info))


@router.post("/delete")
def delete(run_id: str, access: UiWriter) -> Response:
    """Delete the run (``Store.set_run_deleted``): the runs table leaves it out unless asked
    for deleted runs; nothing of it is removed, its status stays. Returns the run."""
    return json_response(run_json(access.store.set_run_deleted(run_id, True)))


@router.post("/restore")
def restore(run_id: str, access: UiWriter) -> Response:
    """Restore a deleted run: listed again, as it was. Returns the run."""
    return json_response(run_json(access.store.set_run_deleted(run_id, False)))


@router.get("/metric-summaries")
def metric_summaries(run_id: str, access: UiReader) -> Response:
    """Every metric series of the run: name, kind, count, last, min and max."""
    access.store.get_run(run_id)  # 404 for a missing run
    series = access.store.list_metric_series([run_id])
    return json_response(
        {
            "metrics": [
                {
                    "name": s.name,
                    "kind": s.kind.value,
                    "value_type": s.value_type.value,
                    "count": s.count,
                    "last": s.last_value,
                    "min": s.min_value,
                    "max": s.max_value,
                }
                for s in sorted(series, key=lambda s: s.name)
            ]
        }
    )


@router.get("/children")
def children(
    run_id: str, access: UiReader, page_token: Annotated[str | None, Query()] = None
) -> Response:
    """One page of the run's direct children (oldest first), with their statuses; deleted
    children too (the page marks them: they belong to this run all the same)."""
    page = access.store.search_runs(
        RunQuery(
            parent_run_id=run_id,
            include_children=True,
            order_by=["created_time ASC"],
            lifecycle=RunLifecycle.ALL,
            page_size=CHILDREN_PAGE,
            page_token=page_token,
        )
    )
    return json_response(
        {
            "runs": [
                {
                    "run_id": r.run_id,
                    "display_name": r.display_name,
                    "status": r.status.value,
                    "start_time": r.start_time,
                    "end_time": r.end_time,
                    "deleted": r.deleted_time is not None,
                }
                for r in page.runs
            ],
            "next_page_token": page.next_page_token,
        }
    )


@router.get("/files")
def files(run_id: str, access: UiReader) -> Response:
    """The run's artifacts (path and size), sorted by path."""
    access.store.get_run(run_id)
    found = access.store.list_artifacts(run_id)
    return json_response(
        {"files": [{"path": a.path, "size": a.size, "created_time": a.created_time} for a in found]}
    )


@router.get("/files/text/{path:path}")
def file_text(run_id: str, path: str, access: UiReader) -> Response:
    """The first ``TEXT_PREVIEW_BYTES`` of a file as text (undecodable bytes replaced), for the
    preview; ``binary`` when it holds NUL bytes (no preview then)."""
    with access.store.open_artifact(run_id, path) as stream:
        data = stream.read(TEXT_PREVIEW_BYTES + 1)
    truncated = len(data) > TEXT_PREVIEW_BYTES
    data = data[:TEXT_PREVIEW_BYTES]
    if b"\0" in data:
        return json_response({"path": path, "binary": True, "text": "", "truncated": truncated})
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=not truncated)  # a character cut at the cap is dropped
    return json_response({"path": path, "binary": False, "text": text, "truncated": truncated})


@router.get("/files/raw/{path:path}")
def file_raw(run_id: str, path: str, access: UiReader) -> Response:
    """The file's bytes, streamed as a download. Only raster images come inline (for the
    preview's ``<img>``); nothing is ever served as a type a browser renders as a page."""
    stream = access.store.open_artifact(run_id, path)
    name = posixpath.basename(path) or "file"
    image = INLINE_IMAGES.get(posixpath.splitext(name)[1].lower())
    media_type = image or _download_type(name)
    disposition = "inline" if image else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Security-Policy": RAW_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    return StreamingResponse(iter_file(stream), media_type=media_type, headers=headers)


def _download_type(name: str) -> str:
    """A harmless type for a download: the file's own type when it is plain data, else bytes
    (never HTML, SVG, XML or script, which a browser could render or run)."""
    guessed, _ = mimetypes.guess_type(name)
    if guessed in {"application/json", "text/csv", "application/pdf", "application/zip"}:
        return guessed
    return "application/octet-stream"


@router.get("/logs")
def logs(run_id: str, access: UiReader) -> Response:
    """The run's logs: name and size in bytes, sorted by name."""
    access.store.get_run(run_id)
    found = access.store.list_logs(run_id)
    return json_response({"logs": [{"name": n, "size": s} for n, s in found.items()]})


@router.get("/logs/read")
def read_log(
    run_id: str,
    access: UiReader,
    name: Annotated[str, Query()],
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Text of the log ``name`` from byte ``offset`` (at most ``LOG_CHUNK_BYTES``), and the
    offset to read from next; a character split across reads is returned whole next time."""
    data = access.store.read_log(run_id, name, offset)[:LOG_CHUNK_BYTES]
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=False)
    pending, _ = decoder.getstate()
    consumed = len(data) - len(pending)
    return json_response({"text": text, "next_offset": offset + consumed})
