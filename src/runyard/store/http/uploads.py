"""Output files through a tracking server (``HttpStore.put_new_artifacts``): each file is
uploaded once, from the user's file while the server answers, else from its copy in the journal.

An artifact path is written once on the server, so an upload of a ``put_new_artifact`` record
that finds its path written already (by an earlier try of the same record whose answer was lost,
or by another process ending the same run) is done: the path holds its file. Only a path that is
taken but not listed (an upload of it has not finished) is tried again later.
"""

from __future__ import annotations

import time
from pathlib import Path

from runyard.errors import ArtifactExistsError, ServerUnreachableError
from runyard.store import wire
from runyard.store.http.client import ApiClient, Retry, Upload
from runyard.store.http.records import Record

PUT_NEW_ARTIFACT = "put_new_artifact"
"""The journal's verb of one file of ``put_new_artifacts``: the record names the file
(``Record.file``, its copy in the journal once kept), and a path written already counts as sent."""


def new_artifact_record(
    request_id: str, run_url: str, run_id: str, path: str, file: Path
) -> Record:
    """The record that uploads ``file`` as the artifact ``path`` of the run at ``run_url``."""
    return Record(
        request_id=request_id,
        verb=PUT_NEW_ARTIFACT,
        method="POST",
        path=run_url + "/artifacts/content",
        run_ids=(run_id,),
        count=file.stat().st_size,
        params={"path": path},
        time=time.time(),
        file=str(file.absolute()),
    )


def artifact_paths(
    api: ApiClient, run_url: str, prefix: str, retries: int | None = None
) -> set[str]:
    """The paths of the run's artifacts under ``prefix``, asked of the server directly (not
    after what the journal holds)."""
    response = api.call(
        "GET",
        run_url + "/artifacts",
        params={"prefix": prefix},
        retry=Retry.IDEMPOTENT,
        retries=retries,
    )
    return {a["path"] for a in wire.loads(response.content)["artifacts"]}


def send_new_artifact(api: ApiClient, record: Record, retries: int | None) -> None:
    """Upload the file of a ``put_new_artifact`` record, unless its path is written already.

    Raises:
        ServerUnreachableError: the server cannot be reached, or the path is taken by an upload
            that has not finished (try again later).
    """
    assert record.file is not None and record.params is not None
    path = record.params["path"]
    with open(record.file, "rb") as source:
        try:
            api.call(
                record.method,
                record.path,
                params=record.params,
                content=Upload(source),
                retry=Retry.IDEMPOTENT,
                request_id=record.request_id,
                retries=retries,
            )
        except ArtifactExistsError:
            run_url = record.path.removesuffix("/artifacts/content")
            if path not in artifact_paths(api, run_url, path, retries):
                (run_id,) = record.run_ids
                raise ServerUnreachableError(
                    f"Artifact {path!r} of run {run_id} is being uploaded by another request on "
                    f"{api.uri}; the upload kept in the journal waits for it to end."
                ) from None
