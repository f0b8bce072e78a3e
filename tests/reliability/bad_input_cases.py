"""The cases of the bad-input suite (``test_bad_input.py``): every route of the API with a valid
request, and the bad variants made from it, each saying whether a write must refuse it.

A variant replaces one thing: a path segment, a query parameter, one place of the JSON body
(containers too), or a key of a tags or properties mapping. A write must refuse what no store
may keep: a wrong JSON type, NUL or a lone surrogate, text past every limit, a number that is
not finite or not in 64 bits, a path that leaves the run. Softer values (an empty string, a tab,
"..") may be accepted in free text; they must never cause a 5xx.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.store import wire

HUGE = "x" * 200_001
"""Past every limit of a text (the largest, of a run definition as a whole, is 1,000,000)."""
SURROGATE = "\ud800"
ABSOLUTE = "/etc/passwd"
ESCAPE = "../../../../escape"
LONG_NAME = "é" * 200
"""A file name of 400 bytes in UTF-8: past the file systems' 255 (a path must be refused)."""
SUPERSCRIPT = "²"
"""A digit to ``str.isdigit`` that ``int`` refuses (a version number must not crash on it)."""
BAD_JSON: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    "",
    HUGE,
    "a\x00b",
    f"a{SURROGATE}b",
    "a\x1b\t\nb",
    "..",
    ESCAPE,
    ABSOLUTE,
    LONG_NAME,
    SUPERSCRIPT,
    [],
    {},
]
"""Values put in place of each field of a JSON body, one at a time."""
BAD_TEXT = [
    "",
    "x" * 5000,
    "a\x00b",
    "a\x1b\t\nb",
    "..",
    ESCAPE,
    ABSOLUTE,
    "-1",
    str(2**70),
    LONG_NAME,
    SUPERSCRIPT,
]
"""Strings put in place of each query parameter; plus a lone surrogate, which a URL can only
carry as the UTF-8 bytes of one (the server reads them as U+FFFD: harmless text)."""
RAW_SURROGATE = "%ED%A0%80"
BAD_SEGMENTS = ["%00", "..", "%2E%2E", "..%2Fescape", "-1", "x" * 5000, "%20", "%0A"]
"""Path segments put in place of each path parameter (already percent-encoded). Not the bytes
of a lone surrogate nor other non-ASCII ("²"): WSGI, which the in-process transport goes
through, cannot carry them in a path (uvicorn reads them as U+FFFD)."""
TAG_MAPS = ("tags", "properties", "params")
"""Body fields whose keys are the caller's: each key gets the bad strings too."""
FREE_JSON = ("run_definition", "error", "definition")
"""Body fields that are free JSON objects: anything JSON may go in (but no lone surrogate)."""
LOOKUPS = ("remove",)
"""Body fields that name what to look up or drop: a name nothing has is harmless there."""
PATH_FIELDS = ("path",)
"""Fields that name a file under the run (artifacts, log names, snapshot files)."""
LONG_TEXT = ("schema", "profile")
"""Texts that may be longer than ``HUGE``: a dataset's schema and profile (1,000,000 characters
each, MLflow's limit)."""
NON_FINITE = ("value",)
"""Numbers that may be NaN or infinite: a logged model's metric value, as a metric's."""
SIGNED = ("step",)
"""Integers that may be negative (64-bit): a step, as a metric point's."""


@dataclass
class Route:
    """One route of the API and a valid request to it."""

    method: str
    path: str
    """As in the OpenAPI document: ``{workspace}``, ``{run_id}``..."""
    write: bool
    segments: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None
    path_params: tuple[str, ...] = ()
    """Query parameters that name a file under the run (refused with '..' or absolute)."""


@dataclass
class Seeded:
    """A workspace holding one of everything, and the ids of what it holds."""

    name: str
    digest: str
    token_id: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunk_json() -> dict[str, Any]:
    chunk = MetricChunk("r", "m", MetricKind.VECTOR, ValueType.NUMBER, [1.0, 2.0], [1.0, 2.0])
    return wire.chunk_to_json(chunk)


def routes(seeded: Seeded) -> list[Route]:
    error = {"error": {"message": "m"}}
    new_blob = b"a new blob"
    return [
        Route("POST", "/api/v1/workspaces/{workspace}/experiments", True, body={"name": "e2"}),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/experiments",
            False,
            params={"view_type": "All", "name": "exp"},
        ),
        Route("GET", "/api/v1/workspaces/{workspace}/experiments/{name}", False, {"name": "exp"}),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/experiments/{name}/archived",
            True,
            {"name": "exp"},
            body={"archived": True},
        ),
        Route(
            "PATCH",
            "/api/v1/workspaces/{workspace}/experiments/{name}/tags",
            True,
            {"name": "exp"},
            body={"tags": {"k": "v"}, "remove": ["old"]},
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/experiments/by-id/{experiment_id}",
            False,
            {"experiment_id": "e-known"},
        ),
        Route(
            "DELETE",
            "/api/v1/workspaces/{workspace}/experiments/by-id/{experiment_id}",
            True,
            {"experiment_id": "e-known"},
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/experiments/new",
            True,
            body={"name": "e3", "experiment_id": "e-new", "tags": {"k": "v"}},
        ),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/experiments/{name}/name",
            True,
            {"name": "known"},
            body={"name": "renamed"},
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs",
            True,
            body={
                "runs": [
                    {
                        "run_id": "new",
                        "experiment_name": "exp",
                        "status": "Running",
                        "parent_run_id": "r",
                        "run_type": "t",
                        "display_name": "d",
                        "description": "x",
                        "target": "local",
                        "tags": {"k": "v"},
                        "properties": {"p": "1"},
                        "run_definition": {"script": "train.py", "arguments": ["--lr", 0.1]},
                        "submitted_by": "me",
                    }
                ]
            },
        ),
        *(
            Route(
                "POST",
                f"/api/v1/workspaces/{{workspace}}/runs/{verb}",
                False,
                body={
                    "experiment_name": "exp",
                    "tags": [{"key": "kept", "value": "yes", "match_value": True}],
                    "properties": [],
                    "status": "Running",
                    "run_type": None,
                    "include_children": False,
                    "lifecycle": "active",
                    "page_size": 10,
                    "page_token": None,
                },
            )
            for verb in ("search", "count")
        ),
        Route("GET", "/api/v1/workspaces/{workspace}/runs/{run_id}", False, {"run_id": "r"}),
        Route(
            "PATCH",
            "/api/v1/workspaces/{workspace}/runs/{run_id}",
            True,
            {"run_id": "r"},
            body={"display_name": "d", "description": "x", "run_definition": {"a": 1}},
        ),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/status",
            True,
            {"run_id": "r"},
            body={"status": "Finalizing", "error": error},
        ),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/deleted",
            True,
            {"run_id": "r"},
            body={"deleted": True},
        ),
        Route("POST", "/api/v1/workspaces/{workspace}/runs/{run_id}/reopen", True, {"run_id": "r"}),
        Route(
            "PATCH",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/tags",
            True,
            {"run_id": "r"},
            body={"tags": {"k": "v"}},
        ),
        Route(
            "DELETE",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/tags",
            True,
            {"run_id": "r"},
            params={"key": "kept"},
        ),
        Route(
            "PATCH",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/properties",
            True,
            {"run_id": "r"},
            body={"properties": {"p": "v"}},
        ),
        Route(
            "POST", "/api/v1/workspaces/{workspace}/runs/{run_id}/heartbeat", True, {"run_id": "r"}
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/claim",
            True,
            {"run_id": "q"},
            body={"target": "local", "max_active": 2, "stale_age": 60.0},
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/stop",
            True,
            {"run_id": "r"},
            body={"status": "Canceled", "error": error},
        ),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/error",
            True,
            {"run_id": "r"},
            body={"error": error},
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/expire-heartbeats",
            True,
            body={"not_responding_age": 30.0, "fail_age": 300.0, "error": error},
        ),
        Route(
            "POST", "/api/v1/workspaces/{workspace}/metrics", True, body={"chunks": [_chunk_json()]}
        ),
        *(
            Route(
                "POST",
                f"/api/v1/workspaces/{{workspace}}/metrics/{what}",
                False,
                body={"run_ids": ["r"], "names": ["m"]},
            )
            for what in ("series/query", "query")
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/logs/content",
            True,
            {"run_id": "r"},
            params={"name": "user_logs/std_log.txt"},
            content=b"more\n",
            path_params=("name",),
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/logs/content",
            False,
            {"run_id": "r"},
            params={"name": "user_logs/std_log.txt", "offset": 2},
        ),
        Route("GET", "/api/v1/workspaces/{workspace}/runs/{run_id}/logs", False, {"run_id": "r"}),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/artifacts/content",
            True,
            {"run_id": "r"},
            params={"path": "outputs/new.txt"},
            content=b"new",
            path_params=("path",),
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/artifacts/content",
            False,
            {"run_id": "r"},
            params={"path": "outputs/a.txt"},
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/artifacts",
            False,
            {"run_id": "r"},
            params={"prefix": "outputs/"},
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/blobs/missing",
            False,
            body={"digests": [seeded.digest]},
        ),
        Route(
            "PUT",
            "/api/v1/workspaces/{workspace}/blobs/{digest}",
            True,
            {"digest": sha256(new_blob)},
            content=new_blob,
        ),
        Route(
            "GET", "/api/v1/workspaces/{workspace}/blobs/{digest}", False, {"digest": seeded.digest}
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/snapshots",
            True,
            body={
                "snapshot_id": "snap2",
                "files": [{"path": "src/a.py", "digest": seeded.digest, "size": 4}],
            },
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/snapshots/{snapshot_id}",
            False,
            {"snapshot_id": "snap"},
        ),
        *_model_routes(),
        *_registry_routes(seeded.digest),
        *_environment_routes(),
        *_compute_routes(),
        Route("GET", "/api/v1/workspaces", False),
        Route("POST", "/api/v1/workspaces", True, body={"name": f"w{uuid.uuid4().hex[:8]}"}),
        Route("GET", "/api/v1/workspaces/{workspace}", False),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/tokens",
            True,
            body={"role": "reader", "name": "n"},
        ),
        Route("GET", "/api/v1/workspaces/{workspace}/tokens", False),
        Route(
            "DELETE",
            "/api/v1/workspaces/{workspace}/tokens/{token_id}",
            True,
            {"token_id": seeded.token_id},
        ),
        Route("GET", "/healthz", False),
        Route("GET", "/readyz", False),
    ]


def _environment_routes() -> list[Route]:
    """The routes of registered environments (``env-seed``: version 1)."""
    environments = "/api/v1/workspaces/{workspace}/environments"
    return [
        Route(
            "POST",
            environments,
            True,
            body={"name": "env-new", "definition": {"python": {"userManagedDependencies": True}}},
        ),
        Route("GET", environments, False, params={"name": "env-seed"}),
        Route(
            "GET", environments + "/{name}", False, {"name": "env-seed"}, params={"version": "1"}
        ),
    ]


def _compute_routes() -> list[Route]:
    """The routes of attached compute targets (``ray-seed``: a Ray cluster)."""
    compute = "/api/v1/workspaces/{workspace}/compute"
    seeded = {"name": "ray-seed"}
    return [
        Route(
            "POST",
            compute,
            True,
            body={"name": "ray-new", "kind": "ray", "config": {"address": "http://127.0.0.1:1"}},
        ),
        Route("GET", compute, False),
        Route("GET", compute + "/{name}", False, seeded),
        Route("DELETE", compute + "/{name}", True, seeded),
    ]


def _model_routes() -> list[Route]:
    """The routes of logged models and of a run's inputs and outputs (``m-seed``: a model of
    run ``r``, tagged ``kept``)."""
    model = "/api/v1/workspaces/{workspace}/logged-models/{model_id}"
    seeded = {"model_id": "m-seed"}
    return [
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/logged-models",
            True,
            body={
                "model": {
                    "model_id": "m-new",
                    "source_run_id": "r",
                    "name": "new",
                    "model_type": "t",
                    "tags": {"k": "v"},
                    "params": {"p": "1"},
                }
            },
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/logged-models/search",
            False,
            body={
                "experiment_names": ["exp"],
                "source_run_id": "r",
                "name": "seeded",
                "include_deleted": False,
                "page_size": 10,
                "page_token": None,
            },
        ),
        Route("GET", model, False, seeded),
        Route("PATCH", model, True, seeded, body={"status": "ready", "status_message": "m"}),
        Route("DELETE", model, True, seeded),
        Route("PATCH", model + "/tags", True, seeded, body={"tags": {"k": "v"}}),
        Route("DELETE", model + "/tags", True, seeded, params={"key": "kept"}),
        Route("PATCH", model + "/params", True, seeded, body={"params": {"p": "v"}}),
        Route(
            "POST",
            model + "/metrics",
            True,
            seeded,
            body={
                "metrics": [
                    {
                        "key": "acc",
                        "value": 0.5,
                        "time": 1.0,
                        "step": 1,
                        "run_id": "r",
                        "dataset_name": "d",
                        "dataset_digest": "1",
                    }
                ]
            },
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/inputs",
            True,
            {"run_id": "r"},
            body={
                "datasets": [
                    {
                        "name": "d",
                        "digest": "1",
                        "source_type": "code",
                        "source": "{}",
                        "schema": "{}",
                        "profile": "{}",
                        "tags": {"k": "v"},
                    }
                ],
                "model_ids": ["m-seed"],
            },
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/runs/{run_id}/outputs",
            True,
            {"run_id": "r"},
            body={"outputs": [{"model_id": "m-seed", "step": 2}]},
        ),
        Route(
            "POST", "/api/v1/workspaces/{workspace}/runs/io/query", False, body={"run_ids": ["r"]}
        ),
    ]


def _registry_routes(digest: str) -> list[Route]:
    """The routes of registered models (``seeded``: version 1 of run ``r``, its file the blob
    ``digest``)."""
    version = "/api/v1/workspaces/{workspace}/registered-models/{name}/versions/{version}"
    named = "/api/v1/workspaces/{workspace}/model-names/{name}"
    seeded = {"name": "seeded", "version": "1"}
    return [
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/registered-models/versions",
            True,
            body={
                "model": {
                    "name": "new",
                    "files": [{"path": "model.bin", "digest": digest, "size": 4}],
                    "description": "d",
                    "tags": {"k": "v"},
                    "properties": {"p": "v"},
                }
            },
        ),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/registered-models/versions/search",
            False,
            body={
                "name": "seeded",
                "tags": [{"key": "k", "value": "v", "match_value": True}],
                "properties": [],
                "run_id": "r",
                "latest": True,
            },
        ),
        Route(
            "GET",
            "/api/v1/workspaces/{workspace}/registered-models/{name}/latest",
            False,
            {"name": "seeded"},
        ),
        Route("GET", version, False, seeded),
        Route("PATCH", version + "/tags", True, seeded, body={"tags": {"k": "v"}, "remove": []}),
        Route("PATCH", version + "/properties", True, seeded, body={"properties": {"p": "v"}}),
        Route("PATCH", version + "/description", True, seeded, body={"description": "d"}),
        Route("DELETE", version, True, seeded),
        Route(
            "POST",
            "/api/v1/workspaces/{workspace}/model-names",
            True,
            body={"name": "empty", "description": "d", "tags": {"k": "v"}},
        ),
        Route("GET", "/api/v1/workspaces/{workspace}/model-names", False),
        Route("GET", named, False, {"name": "seeded"}),
        Route(
            "PATCH",
            named,
            True,
            {"name": "seeded"},
            body={
                "description": "d",
                "tags": {"k": "v"},
                "remove_tags": ["x"],
                "aliases": {},
                "remove_aliases": ["y"],
            },
        ),
        Route("DELETE", named, True, {"name": "seeded"}),
    ]


# -- variants ----------------------------------------------------------------------------------


@dataclass
class Variant:
    """A request made from a route's valid one, and whether a write must refuse it."""

    label: str
    segments: dict[str, str]
    params: dict[str, Any]
    body: Any
    content: bytes | None
    must_refuse: bool
    raw_query: str | None = None


def _leaves(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place of a JSON value (containers too), with what is there."""
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*where, index))


def _replaced(value: Any, where: tuple[Any, ...], new: Any) -> Any:
    if not where:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = new
    return copy


def _renamed_key(value: Any, where: tuple[Any, ...], old: str, new: str) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for step in where:
        target = target[step]
    target[new] = target.pop(old)
    return copy


def _hard_text(bad: str) -> bool:
    """Text no store keeps anywhere: NUL, a lone surrogate, past every limit."""
    return "\x00" in bad or SURROGATE in bad or bad == HUGE


def _must_refuse_json(where: tuple[Any, ...], valid: Any, bad: Any) -> bool:
    """Whether a write must refuse ``bad`` in place of ``valid`` at ``where`` in its body."""
    if any(key in FREE_JSON for key in where):
        return isinstance(bad, str) and SURROGATE in bad  # JSON that is not Unicode
    if where and where[0] in LOOKUPS and isinstance(bad, str):
        return "\x00" in bad or SURROGATE in bad
    if isinstance(valid, str):
        if bad is None:
            return False  # optional texts may be null
        if not isinstance(bad, str):
            return True
        if where[-1] in LONG_TEXT and bad == HUGE:
            return False
        paths = (ESCAPE, ABSOLUTE, "..", LONG_NAME)
        return _hard_text(bad) or (where[-1] in PATH_FIELDS and bad in paths)
    if isinstance(valid, bool):
        return bad is not None and not isinstance(bad, bool)
    if isinstance(valid, (int, float)):
        if bad is None:
            return False
        if isinstance(bad, bool) or not isinstance(bad, (int, float)):
            return True
        if isinstance(valid, float):
            return where[-1] not in NON_FINITE and not math.isfinite(bad)
        low = -(2**63) if where[-1] in SIGNED else 0
        return not isinstance(bad, int) or not low <= bad < 2**63
    if isinstance(valid, (list, dict)):
        return bad is not None and not isinstance(bad, type(valid))
    return False


def variants(route: Route) -> Iterator[Variant]:
    for name in route.segments:
        for bad in BAD_SEGMENTS:
            segments = {**route.segments, name: bad}
            yield Variant(
                f"path {name}={bad[:20]!r}", segments, route.params, route.body, route.content, True
            )
    for name in route.params:
        for bad in [*BAD_TEXT, RAW_SURROGATE]:
            paths = ("", "a\x00b", ESCAPE, ABSOLUTE, "..", LONG_NAME)
            refuse = bad in paths and name in route.path_params
            params = {**route.params, name: bad}
            raw = None
            if bad == RAW_SURROGATE:
                others = {k: v for k, v in route.params.items() if k != name}
                raw = "&".join(
                    [
                        f"{name}={RAW_SURROGATE}",
                        *(f"{k}={quote(str(v))}" for k, v in others.items()),
                    ]
                )
            yield Variant(
                f"query {name}={bad[:20]!r}",
                route.segments,
                params,
                route.body,
                route.content,
                refuse,
                raw,
            )
    if route.body is None:
        return
    for where, valid in _leaves(route.body):
        for bad in BAD_JSON:
            yield Variant(
                f"body {'.'.join(map(str, where)) or '(whole)'}={bad!r:.20}",
                route.segments,
                route.params,
                _replaced(route.body, where, bad),
                None,
                _must_refuse_json(where, valid, bad),
            )
        if where and where[-1] in TAG_MAPS and isinstance(valid, dict) and valid:
            key = next(iter(valid))
            for bad in BAD_JSON:
                if isinstance(bad, str):
                    yield Variant(
                        f"key of {where[-1]}={bad!r:.20}",
                        route.segments,
                        route.params,
                        _renamed_key(route.body, where, key, bad),
                        None,
                        _hard_text(bad) or bad == "",
                    )
