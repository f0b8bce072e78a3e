"""MLflow's artifact proxy (``mlflow-artifacts``): uploads, downloads and listings of a run's
artifacts, streamed through the server into the workspace's artifact store.

A run's ``artifact_uri`` is ``mlflow-artifacts:/<workspace>/<run_id>/artifacts``. The client
resolves it against its tracking URI: MLflow 3 keeps the URI's path
(``/<workspace>/api/2.0/mlflow-artifacts/artifacts/<workspace>/<run_id>/artifacts/...``), older
clients drop it (``/api/2.0/mlflow-artifacts/artifacts/<workspace>/...``). Both reach these
routes, and the workspace is always read from the artifact path itself, so the bytes land in
the right workspace either way; the caller's token is checked there.

runyard's artifact paths are written once (a second upload to a path is refused with
RESOURCE_ALREADY_EXISTS), and artifacts are never deleted through the API.

A registered model version's files (MLflow's ``get_model_version_download_uri``, what
``load_model("models:/name/1")`` downloads) are served read-only under
``<workspace>/~models/<name>/<version>/``: its blobs, their paths below the version's root
folder. ``~`` is in no run id, so these paths never meet a run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from runyard.entities import ArtifactInfo, ModelVersionInfo, SnapshotFile
from runyard.errors import ArtifactNotFoundError, InvalidArgumentError
from runyard.server.auth import Credentials
from runyard.server.control import Role
from runyard.server.mlflow.access import Call, open_call
from runyard.server.routes import json
from runyard.server.streams import ClientDisconnect, iter_file, upload_slots
from runyard.store import wire

RUN_ARTIFACTS = "artifacts"
"""The segment after ``<workspace>/<run_id>/`` in a run's artifact paths."""
REGISTRY = "~models"
"""The segment after ``<workspace>/`` in the paths of registered model versions' files."""


@dataclass(frozen=True, slots=True)
class ArtifactPath:
    workspace: str
    run_id: str
    path: str
    """The path inside the run ("" for the run's root)."""


@dataclass(frozen=True, slots=True)
class VersionPath:
    workspace: str
    name: str
    version: int
    path: str
    """The path below the version's root folder ("" for all its files)."""


def version_uri(workspace: str, name: str, version: int) -> str:
    """The ``mlflow-artifacts`` URI of a registered version's files."""
    return f"mlflow-artifacts:/{workspace}/{REGISTRY}/{name}/{version}"


def version_files(version: ModelVersionInfo) -> list[SnapshotFile]:
    """The version's files as its download URI serves them: their paths below its root folder
    (a one-file version: the file's own name)."""
    prefix = version.root + "/"
    return [
        SnapshotFile(f.path.removeprefix(prefix), f.digest, f.size) if f.path != version.root else f
        for f in version.files
    ]


def parse_path(raw: str) -> ArtifactPath | VersionPath:
    """``<workspace>/<run_id>/artifacts[/<path>]`` or ``<workspace>/~models/<name>/<version>
    [/<path>]`` in its parts.

    Raises:
        ArtifactNotFoundError: the path names no run's artifacts nor version (404, so the
            client sees RESOURCE_DOES_NOT_EXIST).
    """
    parts = [p for p in raw.strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise InvalidArgumentError(f"Artifact path {raw!r} may not hold '.' or '..' segments.")
    if len(parts) >= 4 and parts[1] == REGISTRY and parts[3].isascii() and parts[3].isdigit():
        return VersionPath(parts[0], parts[2], int(parts[3]), "/".join(parts[4:]))
    if len(parts) < 3 or parts[2] != RUN_ARTIFACTS:
        raise ArtifactNotFoundError(
            f"No artifacts at {raw!r}: this server keeps a run's artifacts under "
            "<workspace>/<run_id>/artifacts/ (the run's artifact_uri)."
        )
    return ArtifactPath(parts[0], parts[1], "/".join(parts[3:]))


def _call(
    request: Request, credentials: Any, where: ArtifactPath | VersionPath, needed: Role
) -> Call:
    return open_call(request, credentials, where.workspace, needed)


def _read_only(where: VersionPath) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"The files of registered model {where.name!r} version {where.version} never change: "
        "register a new version instead."
    )


def children(found: list[ArtifactInfo] | list[SnapshotFile], path: str) -> list[dict[str, Any]]:
    """The files and folders right under ``path`` (paths relative to it), as MLflow lists
    them; a file's own path lists that file."""
    if any(a.path == path for a in found) and path:
        (info,) = [a for a in found if a.path == path]
        return [{"path": path.rsplit("/", 1)[-1], "is_dir": False, "file_size": info.size}]
    prefix = f"{path}/" if path else ""
    files: dict[str, dict[str, Any]] = {}
    for info in found:
        if not info.path.startswith(prefix):
            continue
        head, _, rest = info.path[len(prefix) :].partition("/")
        if rest:
            files.setdefault(head, {"path": head, "is_dir": True})
        else:
            files[head] = {"path": head, "is_dir": False, "file_size": info.size}
    return [files[name] for name in sorted(files)]


def add_routes(router: APIRouter) -> None:
    @router.put("/artifacts/{artifact_path:path}")
    async def upload(artifact_path: str, request: Request, credentials: Credentials) -> Response:
        where = parse_path(artifact_path)
        call = _call(request, credentials, where, Role.WRITER)
        if isinstance(where, VersionPath):
            raise _read_only(where)
        if not where.path:
            raise InvalidArgumentError("An upload needs a file path under the run's artifacts.")
        try:
            await upload_slots(request).store_upload(
                request, lambda source: call.store.put_artifact(where.run_id, where.path, source)
            )
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it; nothing was stored
        return json({})

    @router.get("/artifacts/{artifact_path:path}")
    def download(artifact_path: str, request: Request, credentials: Credentials) -> Response:
        where = parse_path(artifact_path)
        call = _call(request, credentials, where, Role.READER)
        if isinstance(where, VersionPath):
            files = version_files(call.store.get_model_version(where.name, where.version))
            digest = next((f.digest for f in files if f.path == where.path), None)
            if digest is None:
                raise ArtifactNotFoundError(
                    f"Registered model {where.name!r} version {where.version} has no file "
                    f"{where.path!r}."
                )
            stream = call.store.open_blob(digest)
        else:
            stream = call.store.open_artifact(where.run_id, where.path)
        return StreamingResponse(iter_file(stream), media_type=wire.BINARY_TYPE)

    @router.get("/artifacts")
    def list_artifacts(request: Request, credentials: Credentials) -> Response:
        where = parse_path(request.query_params.get("path", ""))
        call = _call(request, credentials, where, Role.READER)
        if isinstance(where, VersionPath):
            version = call.store.get_model_version(where.name, where.version)
            return json({"files": children(version_files(version), where.path)})
        call.store.get_run(where.run_id)  # 404 for an unknown run, not an empty listing
        found = call.store.list_artifacts(where.run_id, where.path or None)
        return json({"files": children(found, where.path)})

    @router.delete("/artifacts/{artifact_path:path}")
    def delete(artifact_path: str, request: Request, credentials: Credentials) -> Response:
        where = parse_path(artifact_path)
        _call(request, credentials, where, Role.WRITER)
        if isinstance(where, VersionPath):
            raise _read_only(where)
        raise InvalidArgumentError(
            "runyard keeps every artifact a run recorded: artifacts cannot be deleted. Upload "
            "under a new path instead."
        )
