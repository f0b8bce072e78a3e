"""Submitted runs: heartbeats, the queue, stop requests, recorded errors, dead runs.

Times are sent as ages (seconds before now) and turned into times with the server's clock: the
stored heartbeats are the server's times, and the client's clock may be off.
"""

from __future__ import annotations

import time

from starlette.responses import Response

from runyard.entities import RunInfo
from runyard.server import schemas
from runyard.server.auth import Writer
from runyard.server.routes import json, no_content, workspace_router
from runyard.store import wire

router = workspace_router("supervision")

_SERVING_SINCE = time.time()
"""When this server process started: no heartbeat could arrive before."""


def _silent_before(now: float, age: float) -> float:
    """The time before which a last heartbeat means ``age`` seconds of silence, counted only
    while this server was up: a heartbeat sent while it was down was dropped by its client, so
    a restarted server waits ``age`` before it takes anyone for silent (0: no one yet)."""
    before = now - age
    return before if before > _SERVING_SINCE else 0.0


@router.post("/runs/{run_id}/heartbeat", status_code=204)
def heartbeat(run_id: str, access: Writer) -> Response:
    """`Store.heartbeat`: the process driving the run is alive now."""
    access.store.heartbeat(run_id)
    return no_content()


@router.post("/runs/{run_id}/claim", response_model=RunInfo)
def claim_queued_run(run_id: str, body: schemas.ClaimBody, access: Writer) -> Response:
    """`Store.claim_queued_run`: Queued -> Starting when it is the run's turn."""
    stale_before = time.time() - body.stale_age
    info = access.store.claim_queued_run(run_id, body.target, body.max_active, stale_before)
    return json(wire.to_json(info))


@router.post("/runs/{run_id}/stop", response_model=RunInfo)
def request_stop(run_id: str, body: schemas.StopBody, access: Writer) -> Response:
    """`Store.request_stop`: end a run that has not started, or ask its supervisor to stop."""
    return json(wire.to_json(access.store.request_stop(run_id, body.status, body.error)))


@router.put("/runs/{run_id}/error", status_code=204)
def record_error(run_id: str, body: schemas.ErrorRecordBody, access: Writer) -> Response:
    """`Store.record_error`: the run's error, if it has none; the status does not change."""
    access.store.record_error(run_id, body.error)
    return no_content()


@router.post("/runs/expire-heartbeats", response_model=schemas.RunList)
def expire_heartbeats(body: schemas.ExpireBody, access: Writer) -> Response:
    """`Store.expire_heartbeats`: NotResponding, then Failed, for runs whose heartbeat stopped;
    a CancelRequested one ends as asked."""
    now = time.time()
    changed = access.store.expire_heartbeats(
        _silent_before(now, body.not_responding_age),
        _silent_before(now, body.fail_age),
        body.error,
        body.stopped_error,
    )
    return json({"runs": [wire.to_json(r) for r in changed]})
