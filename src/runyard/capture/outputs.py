"""Uploading the files a run wrote: ``outputs/`` when the run ends."""

from __future__ import annotations

from pathlib import Path

from runyard.store.base import Store


def upload_new(store: Store, run_id: str, name: str, folder: Path) -> None:
    """Upload every file of ``folder`` not yet stored under ``name/`` as the run's artifact
    ``name/<relative path>``; nothing when the folder does not exist.

    A file uploaded meanwhile by another process ending the same run is left as it is. Through a
    tracking server that is away, the files are copied into the client's journal and uploaded
    when it is back (``Store.put_new_artifacts``), before the status change that follows.
    """
    if not folder.is_dir():
        return
    files = {
        f"{name}/{file.relative_to(folder).as_posix()}": file
        for file in sorted(folder.rglob("*"))
        if file.is_file()
    }
    store.put_new_artifacts(run_id, files)
