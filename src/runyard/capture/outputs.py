"""Uploading the files a run wrote: ``outputs/`` when the run ends."""

from __future__ import annotations

import contextlib
from pathlib import Path

from runyard.errors import ArtifactExistsError
from runyard.store.base import Store


def upload_new(store: Store, run_id: str, name: str, folder: Path) -> None:
    """Upload every file of ``folder`` not yet stored under ``name/`` as the run's artifact
    ``name/<relative path>``; nothing when the folder does not exist.

    A file uploaded meanwhile by another process ending the same run is left as it is.
    """
    if not folder.is_dir():
        return
    have = {a.path for a in store.list_artifacts(run_id, name + "/")}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        artifact = f"{name}/{file.relative_to(folder).as_posix()}"
        if artifact in have:
            continue
        # Uploaded meanwhile by another process ending the same run: it is there.
        with contextlib.suppress(ArtifactExistsError), file.open("rb") as handle:
            store.put_artifact(run_id, artifact, handle)
