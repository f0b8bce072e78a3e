"""Uploads that die or stall, for real: a worker process (``upload_worker.py``) uploading into a
store, stalled half-way until the test resumes it or kills it with SIGKILL; and what a dead
upload may leave behind in an artifact root.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from runyard.server.config import WORKSPACE_SCHEMA_PREFIX, ServerConfig
from runyard.store import Store
from tests.store.sql_workers import SqlTarget

WORKER = Path(__file__).with_name("upload_worker.py")
WAIT_SECONDS = 60.0
MiB = 1024 * 1024


class UploadWorker:
    """A process uploading one artifact (see ``upload_worker.py``); its output lines arrive on a
    queue, read by a thread, so a test waits for them with a deadline."""

    def __init__(self, spec: Mapping[str, Any], env: Mapping[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(dict(spec))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._errors: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True).start()

    def _read(self, stream: IO[str], lines: bool) -> None:
        for line in stream:
            if lines:
                self._lines.put(line.rstrip("\n"))
            else:
                self._errors.append(line)
        if lines:
            self._lines.put(None)

    def next_line(self) -> str:
        try:
            line = self._lines.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError(f"the upload worker said nothing for {WAIT_SECONDS} s") from None
        if line is None:
            self.process.wait(timeout=WAIT_SECONDS)
            raise AssertionError(
                f"the upload worker ended ({self.process.returncode}) without a word:\n"
                + "".join(self._errors)
            )
        return line

    def wait_stalled(self) -> None:
        """Wait until the worker has given its first bytes to the store and waits."""
        line = self.next_line()
        assert line == "stalled", f"{line}\n{''.join(self._errors)}"

    def resume(self) -> str:
        """Let the worker give the rest; return how the upload ended (``done <size>`` or
        ``error <class> <message>``)."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        outcome = self.next_line()
        self.process.wait(timeout=WAIT_SECONDS)
        return outcome

    def kill(self) -> None:
        """SIGKILL, as a crash: no handler, no cleanup; then reap it."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)


@contextlib.contextmanager
def upload_worker(
    spec: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Iterator[UploadWorker]:
    """Start an ``UploadWorker``; kill it at the end if it is still there."""
    worker = UploadWorker(spec, env)
    try:
        yield worker
    finally:
        worker.kill()
        for stream in (worker.process.stdin, worker.process.stdout, worker.process.stderr):
            if stream is not None:
                stream.close()


def sql_spec(target: SqlTarget, run_id: str, path: str, size: int, **more: Any) -> dict[str, Any]:
    """A worker's spec uploading ``run_id``/``path`` straight into the SQL store ``target``."""
    return {**asdict(target), "run_id": run_id, "path": path, "size": size, **more}


def backing_of(config: ServerConfig, store: Store) -> SqlTarget:
    """The SQL store in which a server of ``config`` keeps the workspace of ``store`` (an
    ``HttpStore``; see ``runyard/server/config.py``)."""
    name = store.uri.rstrip("/").rsplit("/", 1)[1]
    root = f"{config.artifact_root}/{name}"
    if config.store is not None:
        return SqlTarget(config.store, root, WORKSPACE_SCHEMA_PREFIX + name)
    assert config.data is not None
    return SqlTarget(f"sqlite:///{Path(config.data).resolve() / name}.db", root)


def leftovers(target: SqlTarget) -> list[str]:
    """What unfinished uploads left in the artifact root of ``target``: partial files (a
    folder), multipart uploads never completed (S3)."""
    root = target.artifact_root
    if root.startswith("s3://"):
        import s3fs

        s3 = s3fs.S3FileSystem(skip_instance_cache=True, **(target.storage_options or {}))
        bucket, _, prefix = root[len("s3://") :].partition("/")
        found = s3.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix).get(
            "Uploads", []
        )
        keys = [f"multipart upload of {upload['Key']}" for upload in found]
        files = s3.find(root, refresh=True)
        return keys + [path for path in files if "/uploads/" in path or ".partial" in path]
    folder = Path(root)
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file()
        and (".partial" in path.name or path.relative_to(folder).parts[0] == "uploads")
    )


def stored_bytes(target: SqlTarget) -> int:
    """How many bytes the files under a folder artifact root hold (partial ones included)."""
    total = 0
    for folder, _, files in os.walk(target.artifact_root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total
