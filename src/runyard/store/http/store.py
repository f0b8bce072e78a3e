"""HttpStore: the Store interface over a runyard tracking server's HTTP API.

The tracking URI names a server and one of its workspaces, ``http(s)://host:port/<workspace>``
(a server behind a path prefix: ``https://host/prefix/<workspace>``), parsed into a
``runyard.settings.TrackingUri`` with the token. Each verb is one request
(``runyard.store.http.client``: pooled keep-alive connections, retries); errors come back as the
runyard error the server raised (same class, same message), so the SDK behaves as on SQLite;
401 and 403 are ``AuthenticationError`` and ``PermissionDeniedError`` (``WorkspaceConfigError``s).

Exactly once: each HttpStore is a client with its own id (a uuid); every change it sends carries
``X-Runyard-Request-Id: <client id>-<sequence number>``, and the server applies a request id once.
So ``create_runs``, ``log_metrics`` and ``append_log`` are retried like idempotent verbs.

When the server cannot be reached (after the transport's retries), the verbs that change runs
(``JOURNALED_VERBS``) do not raise: the change goes to this client's journal on disk
(``runyard.store.http.journal``), and the verb returns (a RunInfo it returns is the client's best
knowledge: the last the server sent, with the change applied here). While the journal holds
changes, new changes go to it too, in order; a background thread, woken by every new change,
sends them in order as soon as the server answers. Heartbeats are dropped rather than kept: a
stale one means nothing. ``put_new_artifacts`` (``outputs/`` when a run ends) is kept too: each
file is copied into the journal and uploaded from there, so the status change that follows it is
never lost, nor sent before the outputs. Any other verb first sends what the journal holds (so
it reads its own writes) and raises a ``StoreError`` saying so while the server stays away.
``runyard sync`` sends the journals that processes left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import os
import re
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from runyard.entities import (
    ArtifactInfo,
    ExperimentInfo,
    MetricChunk,
    MetricSeries,
    NewRun,
    RunInfo,
    RunPage,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ViewType,
    apply_status,
    apply_stop,
    check_stop_status,
)
from runyard.errors import (
    ExperimentNotFoundError,
    InvalidArgumentError,
    NotFoundError,
    PayloadTooLargeError,
    RunNotFoundError,
    RunyardError,
    ServerUnreachableError,
    SnapshotNotFoundError,
    StoreError,
    UserError,
    WorkspaceConfigError,
)
from runyard.limits import check_new_artifact_path
from runyard.settings import TRACKING_URI_ENV, TrackingUri, no_workspace_error
from runyard.store import base, wire
from runyard.store.http import batches, uploads
from runyard.store.http import journal as journals
from runyard.store.http.client import ApiClient, Retry, Upload
from runyard.store.http.compute import HttpComputeVerbs
from runyard.store.http.environments import HttpEnvironmentVerbs
from runyard.store.http.journal import Journal
from runyard.store.http.models import HttpModelVerbs
from runyard.store.http.offline import KnownRuns, Offline
from runyard.store.http.records import Record, ReplayReport
from runyard.store.http.registry import HttpRegistryVerbs

JOURNALED_VERBS = frozenset(
    {
        "log_metrics",
        "append_log",
        "set_tags",
        "remove_tags",
        "add_properties",
        "set_run_status",
        "record_error",
        "update_run",
        "request_stop",
    }
)
"""The verbs whose changes are kept in the journal while the server is away (``heartbeat`` is
dropped instead)."""
_RETURNS_RUN = frozenset({"set_run_status", "update_run", "request_stop"})
_open_stores: weakref.WeakSet[HttpStore] = weakref.WeakSet()


class HttpStore(HttpModelVerbs, HttpRegistryVerbs, HttpEnvironmentVerbs, HttpComputeVerbs):
    """A Store on a tracking server's workspace, at ``base_url`` (the tracking URI).

    Args:
        base_url: the workspace's tracking URI, parsed or as a string (then parsed here).
        token: the token sent to the server; given with a parsed URI, it replaces the URI's.
        journal_dir: the root of the journals (default: the variable
            ``settings.JOURNAL_DIR_ENV``, else ``~/.cache/runyard/journal``); this client's is
            ``<root>/<host>_<port>/<workspace>/<client id>/`` (``journal_path``).
        transport: an httpx transport to send requests through instead of the network (as
            ``httpx.Client(transport=...)``), e.g. a server app run in-process for tests.
    """

    def __init__(
        self,
        base_url: str | TrackingUri,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 6,
        backoff: float = 0.1,
        journal_dir: str | os.PathLike[str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Open the workspace ``base_url`` names, checking that it exists and the token works.

        Raises:
            WorkspaceConfigError: the URI names no workspace, the workspace does not exist, or
                the token is missing, invalid or has no access to it.
            StoreError: the server could not be reached.
        """
        if isinstance(base_url, str):
            tracking = TrackingUri.parse(base_url, token)
        else:
            tracking = base_url if token is None else dataclasses.replace(base_url, token=token)
        if tracking.server_root is None or tracking.workspace is None:
            raise no_workspace_error(tracking.uri)
        self.uri = f"{tracking.server_root}/{tracking.workspace}"
        self.workspace = workspace = tracking.workspace
        api = f"{tracking.server_root}{wire.API_PREFIX}/workspaces/" + quote(workspace, safe="")
        # The journal's folder names the server: host, port and path prefix.
        parts = urlsplit(tracking.server_root)
        root = parts.path
        port = parts.port or (443 if parts.scheme == "https" else 80)
        server = f"{parts.hostname}_{port}" + (f"_{root.strip('/')}" if root else "")
        self._server_folder = re.sub(r"[^A-Za-z0-9.-]", "_", server)
        self._journal_root = Path(journal_dir) if journal_dir else journals.default_root()
        self._backoff = backoff
        self._start_client()
        self._api = ApiClient(api, self.uri, tracking.token, timeout, retries, backoff, transport)
        try:
            self._api.call("GET", "", retry=Retry.IDEMPOTENT)
        except WorkspaceConfigError:
            self._api.close()
            raise
        except NotFoundError as exc:  # no such workspace on the server (or no runyard server)
            self._api.close()
            raise WorkspaceConfigError(f"{exc.message} (tracking URI {self.uri})") from None
        except BaseException:
            self._api.close()
            raise
        _open_stores.add(self)

    def _start_client(self) -> None:
        """A new client identity: at opening, and in a forked child (which must neither reuse
        the parent's request ids nor touch its journal)."""
        self.client_id = uuid.uuid4().hex
        """This client's id: its request ids are ``<client id>-<n>``, its journal is named so."""
        self._pid = os.getpid()
        self._sequence = itertools.count(1)
        folder = self._journal_root / self._server_folder / self.workspace / self.client_id
        meta = journals.new_meta(self.uri, self.workspace, self.client_id)
        self._offline = Offline(self.uri, folder, meta, self._send, self._backoff)
        self._known = KnownRuns()

    @property
    def journal_path(self) -> Path:
        """The folder of this client's journal (created when a change is first kept)."""
        return self._own().folder

    @property
    def journal_pending(self) -> int:
        """Changes kept in this client's journal, not acknowledged by the server yet."""
        return self._own().pending

    def close(self) -> None:
        """Send what the journal holds if the server answers (else say where it is kept, for
        ``runyard sync``), then release the connections. The store is unusable after."""
        _open_stores.discard(self)
        self._offline.settle()
        self._api.close()

    def __repr__(self) -> str:
        return f"HttpStore({self.uri!r})"

    # -- changes, and the journal ----------------------------------------------------------------

    def _own(self) -> Offline:
        """This process's journal (a forked child starts as a new client)."""
        if os.getpid() != self._pid:
            self._start_client()
        return self._offline

    def _request_id(self) -> str:
        """A new request id: this client's id and the next number of its sequence."""
        self._own()
        return f"{self.client_id}-{next(self._sequence)}"

    def _change(
        self,
        verb: str,
        path: str,
        run_ids: Iterable[str],
        count: int,
        *,
        method: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        request_id: str | None = None,
    ) -> bool:
        """Send one change to runs; True once the server applied it. When it cannot be reached
        (or while the journal holds older changes), keep the change in the journal (heartbeats
        are dropped instead) and return False."""
        base.check_request_id(request_id)
        offline = self._own()
        offline.raise_failure()
        record = Record(
            request_id=self._request_id() if request_id is None else request_id,
            verb=verb,
            method=method,
            path=path,
            run_ids=tuple(run_ids),
            count=count,
            params=params,
            body=body,
            content=content,
            time=time.time(),
        )
        if offline.pending:
            if verb in JOURNALED_VERBS:
                offline.keep(record)
            return False
        try:
            self._send(record)
        except ServerUnreachableError as exc:
            if verb in JOURNALED_VERBS:
                offline.keep(record, exc)
            return False
        return True

    def _send(self, record: Record, retries: int | None = None) -> None:
        """Send a change (with the transport's retries, or ``retries``)."""
        if record.verb == uploads.PUT_NEW_ARTIFACT:
            uploads.send_new_artifact(self._api, record, retries)
            return
        response = self._api.call(
            record.method,
            record.path,
            params=record.params,
            json=record.body,
            content=record.content,
            retry=Retry.IDEMPOTENT,
            request_id=record.request_id,
            retries=retries,
        )
        if record.verb in _RETURNS_RUN:
            self._known.remember(wire.run_from_json(wire.loads(response.content)))

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request of a verb that is not kept in the journal: what the journal holds is sent
        first, so that the verb sees every change made before it."""
        offline = self._own()
        offline.ready()
        kw.setdefault("retry", Retry.IDEMPOTENT)
        try:
            return self._api.call(method, path, **kw)
        except ServerUnreachableError as exc:
            if offline.pending:
                raise offline.away(exc) from None
            raise

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return wire.loads(self._call(method, path, **kw).content)

    # -- helpers -----------------------------------------------------------------------------------

    def _run(self, run_id: str) -> str:
        """The URL path of a run; an id that cannot be a run's is not found."""
        return "/runs/" + _segment(run_id, lambda: self._no_run(run_id))

    def _no_run(self, run_id: str) -> RunNotFoundError:
        return RunNotFoundError(
            f"Run {run_id!r} was not found in {self.uri}. Check the run id and the workspace "
            f"({TRACKING_URI_ENV})."
        )

    def _experiment(self, name: str) -> str:
        def missing() -> RunyardError:
            return ExperimentNotFoundError(
                f"Experiment {name!r} was not found. Experiment(workspace, name) creates it."
            )

        return "/experiments/" + _segment(name, missing)

    # -- experiments ---------------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> ExperimentInfo:
        return wire.experiment_from_json(self._json("POST", "/experiments", json={"name": name}))

    def get_experiment(self, name: str) -> ExperimentInfo:
        return wire.experiment_from_json(self._json("GET", self._experiment(name)))

    def list_experiments(
        self, view_type: ViewType = ViewType.ACTIVE_ONLY, name: str | None = None
    ) -> list[ExperimentInfo]:
        params = {"view_type": ViewType(view_type).value}
        if name is not None:
            params["name"] = name
        found = self._json("GET", "/experiments", params=params)["experiments"]
        return [wire.experiment_from_json(e) for e in found]

    def set_experiment_archived(self, name: str, archived: bool) -> ExperimentInfo:
        path = self._experiment(name) + "/archived"
        return wire.experiment_from_json(self._json("PUT", path, json={"archived": archived}))

    def set_experiment_tags(
        self, name: str, tags: Mapping[str, str | None], remove: Iterable[str] = ()
    ) -> ExperimentInfo:
        body = {"tags": dict(tags), "remove": list(remove)}
        path = self._experiment(name) + "/tags"
        return wire.experiment_from_json(self._json("PATCH", path, json=body))

    # Experiments by id, created (never got) and renamed: what MLflow's experiment calls need.

    def get_experiment_by_id(self, experiment_id: str) -> ExperimentInfo:
        def missing() -> RunyardError:
            return ExperimentNotFoundError(
                f"No experiment has the id {experiment_id!r:.60}. `runyard experiments list "
                "--all` shows the ids of the workspace's experiments."
            )

        path = "/experiments/by-id/" + _segment(experiment_id, missing)
        return wire.experiment_from_json(self._json("GET", path))

    def create_experiment(
        self,
        name: str,
        *,
        experiment_id: str | None = None,
        tags: Mapping[str, str | None] | None = None,
        request_id: str | None = None,
    ) -> ExperimentInfo:
        base.check_request_id(request_id)
        # The id is chosen here: a request the server applied but whose answer was lost is sent
        # again with the same request id, and the server finds by this id what it created.
        new_id = str(uuid.uuid4()) if experiment_id is None else experiment_id
        body = {"name": name, "experiment_id": new_id, "tags": dict(tags or {})}
        rid = self._request_id() if request_id is None else request_id
        created = self._json("POST", "/experiments/new", json=body, request_id=rid)
        return wire.experiment_from_json(created)

    def rename_experiment(
        self, name: str, new_name: str, *, request_id: str | None = None
    ) -> ExperimentInfo:
        base.check_request_id(request_id)
        rid = self._request_id() if request_id is None else request_id
        path = self._experiment(name) + "/name"
        renamed = self._json("PUT", path, json={"name": new_name}, request_id=rid)
        return wire.experiment_from_json(renamed)

    def delete_experiment(self, experiment_id: str) -> None:
        def missing() -> RunyardError:
            return ExperimentNotFoundError(f"No experiment has the id {experiment_id!r:.60}.")

        path = "/experiments/by-id/" + _segment(experiment_id, missing)
        # Sent once: a retry after the delete was applied would be answered "not found".
        self._call("DELETE", path, retry=Retry.IF_NOT_SENT)

    # -- runs ----------------------------------------------------------------------------------

    def create_runs(
        self, runs: Sequence[NewRun], *, request_id: str | None = None, heartbeat: bool = False
    ) -> list[RunInfo]:
        base.check_request_id(request_id)
        body = {"runs": [wire.new_run_to_json(r) for r in runs]}
        rid = self._request_id() if request_id is None else request_id
        created = self._json("POST", "/runs", json=body, request_id=rid)["runs"]
        infos = [self._known.remember(wire.run_from_json(r)) for r in created]
        if heartbeat:
            for info in infos:
                # Created: a heartbeat that fails now is dropped, as the next one comes later.
                with contextlib.suppress(StoreError):
                    self.heartbeat(info.run_id)
        return infos

    def get_run(self, run_id: str) -> RunInfo:
        return self._known.remember(wire.run_from_json(self._json("GET", self._run(run_id))))

    def update_run(
        self,
        run_id: str,
        *,
        display_name: str | None = base.UNSET,
        description: str | None = base.UNSET,
        run_definition: Mapping[str, Any] | None = base.UNSET,
    ) -> RunInfo:
        given = {
            "display_name": display_name,
            "description": description,
            "run_definition": run_definition,
        }
        body = {k: v for k, v in given.items() if v is not base.UNSET}
        path = self._run(run_id)
        if self._change("update_run", path, [run_id], len(body), method="PATCH", body=body):
            return self._known.last(run_id)
        return self._known.guess(run_id, **body)

    def set_run_status(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        status = RunStatus(status)
        body = {"status": status.value, "error": error}
        path = self._run(run_id) + "/status"
        if self._change("set_run_status", path, [run_id], 1, method="PUT", body=body):
            return self._known.last(run_id)
        guess = apply_status(self._known.last(run_id), status, error, time.time())
        return self._known.remember(guess)

    def reopen_run(self, run_id: str) -> RunInfo:
        # Not kept in the journal (its answer decides what the caller does next); retried
        # freely: reopening twice is reopening once.
        found = self._json("POST", self._run(run_id) + "/reopen")
        return self._known.remember(wire.run_from_json(found))

    def heartbeat(self, run_id: str) -> None:
        # Dropped while the server is away or the journal holds changes, and tried once: a
        # heartbeat is worth something only on time, and the next one comes a period later.
        # Not through _change: a failure of the journal is for the user's next call, not this.
        if self._own().pending:
            return
        with contextlib.suppress(ServerUnreachableError):
            self._api.call(
                "POST", self._run(run_id) + "/heartbeat", retry=Retry.IDEMPOTENT, retries=0
            )

    def claim_queued_run(
        self, run_id: str, target: str, max_active: int, stale_before: float
    ) -> RunInfo:
        # An age, not a time: the server compares it with heartbeats it stamped with its clock.
        body = {"target": target, "max_active": max_active, "stale_age": time.time() - stale_before}
        found = self._json("POST", self._run(run_id) + "/claim", json=body)
        return self._known.remember(wire.run_from_json(found))

    def request_stop(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        status = RunStatus(status)
        check_stop_status(status)
        body = {"status": status.value, "error": error}
        path = self._run(run_id) + "/stop"
        if self._change("request_stop", path, [run_id], 1, method="POST", body=body):
            return self._known.last(run_id)
        guess = apply_stop(self._known.last(run_id), status, error, time.time())
        return self._known.remember(guess)

    def record_error(self, run_id: str, error: Mapping[str, Any]) -> None:
        path = self._run(run_id) + "/error"
        self._change("record_error", path, [run_id], 1, method="PUT", body={"error": error})
        self._known.update(run_id, lambda info: {} if info.error else {"error": dict(error)})

    def expire_heartbeats(
        self,
        not_responding_before: float,
        fail_before: float,
        error: Mapping[str, Any],
        stopped_error: Mapping[str, Any] | None = None,
    ) -> list[RunInfo]:
        now = time.time()
        body = {
            "not_responding_age": now - not_responding_before,
            "fail_age": now - fail_before,
            "error": error,
            "stopped_error": stopped_error,
        }
        changed = self._json("POST", "/runs/expire-heartbeats", json=body)["runs"]
        return [self._known.remember(wire.run_from_json(r)) for r in changed]

    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        tags = dict(tags)
        path = self._run(run_id) + "/tags"
        self._change("set_tags", path, [run_id], len(tags), method="PATCH", body={"tags": tags})
        self._known.update(run_id, lambda info: {"tags": {**info.tags, **tags}})

    def remove_tags(self, run_id: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        path = self._run(run_id) + "/tags"
        self._change(
            "remove_tags", path, [run_id], len(keys), method="DELETE", params={"key": keys}
        )
        self._known.update(
            run_id, lambda info: {"tags": {k: v for k, v in info.tags.items() if k not in keys}}
        )

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        given = dict(properties)
        path = self._run(run_id) + "/properties"
        body = {"properties": given}
        self._change("add_properties", path, [run_id], len(given), method="PATCH", body=body)
        self._known.update(run_id, lambda info: {"properties": {**given, **info.properties}})

    def search_runs(self, query: RunQuery) -> RunPage:
        return wire.page_from_json(self._json("POST", "/runs/search", json=wire.to_json(query)))

    def count_runs(self, query: RunQuery) -> int:
        return int(self._json("POST", "/runs/count", json=wire.to_json(query))["count"])

    # -- deleting runs -------------------------------------------------------------------------

    def set_run_deleted(self, run_id: str, deleted: bool) -> RunInfo:
        # Not kept in the journal while the server is away: deleting is a user's decision,
        # answered at once (or refused), not a change a running script must not lose.
        if not isinstance(deleted, bool):
            raise InvalidArgumentError(f"deleted must be True or False, got {deleted!r:.40}.")
        path = self._run(run_id) + "/deleted"
        found = self._json("PUT", path, json={"deleted": deleted})
        return self._known.remember(wire.run_from_json(found))

    # -- metrics -------------------------------------------------------------------------------

    def log_metrics(self, chunks: Sequence[MetricChunk], *, request_id: str | None = None) -> None:
        """The one write path of metric points: a request id per request, so a retried or
        replayed batch is appended once. A batch is sent in requests of at most
        ``batches.MAX_METRICS_BODY_BYTES`` encoded, in order, and one the server finds too
        large (413) in halves (with a ``request_id`` given: as one request)."""
        if not chunks:
            return
        limit = None if request_id is not None else batches.MAX_METRICS_BODY_BYTES
        for request in batches.metric_requests(chunks, limit):
            self._send_metrics(request, request_id)

    def _send_metrics(self, request: batches.MetricRequest, request_id: str | None) -> None:
        try:
            self._change(
                "log_metrics",
                "/metrics",
                request.run_ids,
                request.points,
                method="POST",
                body={"chunks": request.chunks},
                request_id=request_id,
            )
        except PayloadTooLargeError:
            if request_id is not None or request.points <= 1:
                raise  # one point past the server's limit: refused for good
            for part in batches.metric_requests(request.sources, max(1, request.size // 2)):
                self._send_metrics(part, None)

    def list_metric_series(self, run_ids: Sequence[str]) -> list[MetricSeries]:
        found = self._json("POST", "/metrics/series/query", json={"run_ids": list(run_ids)})
        return [wire.series_from_json(s) for s in found["series"]]

    def read_metrics(
        self, run_ids: Sequence[str], names: Sequence[str] | None = None
    ) -> list[MetricChunk]:
        body = {"run_ids": list(run_ids), "names": None if names is None else list(names)}
        found = self._json("POST", "/metrics/query", json=body)["metrics"]
        return [wire.chunk_from_json(d) for d in found]

    # -- logs ----------------------------------------------------------------------------------

    def append_log(
        self, run_id: str, name: str, data: bytes, *, request_id: str | None = None
    ) -> None:
        check_new_artifact_path(name)  # refused here, not after a journal kept it
        data = bytes(data)
        self._change(
            "append_log",
            self._run(run_id) + "/logs/content",
            [run_id],
            len(data),
            method="POST",
            params={"name": name},
            content=data,
            request_id=request_id,
        )

    def read_log(self, run_id: str, name: str, offset: int = 0) -> bytes:
        params = {"name": name, "offset": offset}
        return self._call("GET", self._run(run_id) + "/logs/content", params=params).content

    def list_logs(self, run_id: str) -> dict[str, int]:
        return dict(self._json("GET", self._run(run_id) + "/logs")["logs"])

    # -- artifacts -----------------------------------------------------------------------------

    def put_artifact(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        check_new_artifact_path(path)  # before any byte is sent
        url = self._run(run_id) + "/artifacts/content"
        response = self._call(
            "POST", url, params={"path": path}, content=Upload(source), retry=Retry.IF_NOT_SENT
        )
        return wire.artifact_from_json(wire.loads(response.content))

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        params = {} if prefix is None else {"prefix": prefix}
        found = self._json("GET", self._run(run_id) + "/artifacts", params=params)["artifacts"]
        return [wire.artifact_from_json(a) for a in found]

    def put_new_artifacts(self, run_id: str, files: Mapping[str, str | os.PathLike[str]]) -> None:
        """As ``Store.put_new_artifacts``; while the server is away (or the journal holds
        changes), each file not uploaded yet is copied into the journal, one record per file
        (``runyard.store.http.uploads``), and uploaded when the server is back, before any
        change made after this call."""
        wanted = {check_new_artifact_path(path): Path(file) for path, file in files.items()}
        if not wanted:
            return
        run_url = self._run(run_id)
        offline = self._own()
        offline.raise_failure()
        away: ServerUnreachableError | None = None
        have: set[str] = set()
        if not offline.pending:
            try:
                have = uploads.artifact_paths(self._api, run_url, os.path.commonpath(list(wanted)))
            except ServerUnreachableError as exc:
                away = exc
        for path, file in sorted(wanted.items()):
            if path in have:
                continue
            record = uploads.new_artifact_record(self._request_id(), run_url, run_id, path, file)
            if away is None and not offline.pending:
                try:
                    self._send(record)
                    continue
                except ServerUnreachableError as exc:
                    away = exc
            offline.keep(record, away)

    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        self._own().ready()
        return self._api.download(self._run(run_id) + "/artifacts/content", {"path": path})

    # -- snapshots -----------------------------------------------------------------------------

    def missing_blobs(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        return set(self._json("POST", "/blobs/missing", json={"digests": wanted})["missing"])

    def put_blob(self, digest: str, source: BinaryIO) -> None:
        def malformed() -> RunyardError:
            return UserError(
                f"Invalid blob digest {digest!r}: give the sha256 of the content as 64 lowercase "
                "hexadecimal digits."
            )

        path = "/blobs/" + _segment(digest, malformed)
        self._call("PUT", path, content=Upload(source))

    def open_blob(self, digest: str) -> BinaryIO:
        def missing() -> RunyardError:
            return SnapshotNotFoundError(f"Snapshot content {digest} is not in the store.")

        self._own().ready()
        return self._api.download("/blobs/" + _segment(digest, missing))

    def create_snapshot(self, snapshot_id: str, files: Sequence[SnapshotFile]) -> None:
        body = {"snapshot_id": snapshot_id, "files": [wire.to_json(f) for f in files]}
        self._call("POST", "/snapshots", json=body)

    def get_snapshot(self, snapshot_id: str) -> list[SnapshotFile]:
        def missing() -> RunyardError:
            return SnapshotNotFoundError(f"Snapshot {snapshot_id!r} was not found.")

        found = self._json("GET", "/snapshots/" + _segment(snapshot_id, missing))["files"]
        return [wire.snapshot_file_from_json(f) for f in found]

    # -- journals of other processes ---------------------------------------------------------------

    def send_journal(self, folder: Path) -> tuple[ReplayReport, list[str]]:
        """Send every change kept in the journal at ``folder`` (a client of this workspace that
        ended before it could), in order, and delete what the server acknowledged.

        Returns:
            What was sent (``error``: what stopped it), and notes (torn last records ignored).

        Raises:
            JournalBusyError: a running process owns the journal (and sends it itself).
            JournalCorruptError: a record in the middle does not check out; nothing was sent.
        """
        journal = Journal.open(folder)
        try:
            return journal.replay(self._send), list(journal.notes)
        finally:
            journal.close()


def _segment(value: str, missing: Callable[[], RunyardError]) -> str:
    """``value`` as one URL path segment. Values no URL can carry as a segment (empty, with a
    '/', '.' or '..', or not Unicode) name nothing the store can hold: ``missing()`` is raised
    for them."""
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise missing()
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate: not Unicode, so nothing is named so either
        raise missing() from None


def _settle_all() -> None:
    """At exit: send what the journals hold if the servers answer, else say where it is kept.
    Registered when this module is imported, before any metric pipeline exists, so it runs
    after the pipelines' own exit flush (atexit runs in reverse order)."""
    for store in list(_open_stores):
        store._own().settle()
        store._start_client()  # a change made after this (a later exit hook) starts afresh


atexit.register(_settle_all)
