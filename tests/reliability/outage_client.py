"""The client of the outage tests: ``python outage_client.py MODE URI``, token in RUNYARD_TOKEN.

A script, not a test module: it uses the SDK as a user would, in its own folder (its runs'
``./outputs`` is there), prints one line per step on stdout so that the test knows where it is,
and waits for a line on stdin where the test acts (stops or starts the server). Its HttpStore
gives up after one quick retry instead of about 6 s of them, so an outage starts at once.

- ``live``: a run with three children and a child with outputs of its own. Logs ``step``
  0, 1, 2... (a tag and an output file every 500 points), printing ``step N`` every 100; goes
  on until the server has been away for 1,000 points, then, still away, ends the children
  (complete, fail, cancel; the one with outputs completes, and its outputs folder is deleted
  at once) and tags the run; prints ``away <changes kept> <points so far>``. After a line on
  stdin (the server is back), logs 1,000 more points, tags the run again, completes it, closes
  the workspace and prints ``closed <run id> <points> <children's ids>``.
- ``killed``: a run; logs points 0-499, prints ``ready``; after a line on stdin (the server is
  away) logs points 500-999, writes outputs (one of 3 MB), tags and completes the run, deletes
  ``./outputs``, prints ``kept <run id> <changes kept> <journal folder>`` and waits to be killed.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any, cast

from runyard import Experiment, Workspace
from runyard.store.http import store as http_store

AWAY_POINTS = 1000
"""Points logged after the client noticed the outage, before it ends the children."""
MAX_POINTS = 1_000_000
BIG = bytes(range(256)) * (3 * 4096)
"""3 MB: an upload of several chunks."""


class QuickStore(http_store.HttpStore):
    """An HttpStore that gives up on the server after one retry, 20 ms later."""

    def __init__(self, base_url: Any, token: str | None = None, **options: Any) -> None:
        options.setdefault("retries", 1)
        options.setdefault("backoff", 0.02)
        super().__init__(base_url, token, **options)


def say(*words: object) -> None:
    print(*words, flush=True)


def part(index: int) -> bytes:
    return f"part {index}\n".encode() * (index + 1)


def live(uri: str) -> None:
    workspace = Workspace(uri)
    store = cast(http_store.HttpStore, workspace.store)
    run = Experiment(workspace, "outage").start_logging(snapshot_directory=None)
    completed, failed, canceled = run.create_children(count=3)
    with_outputs = run.child_run(name="with-outputs", outputs="child_outputs")
    say("started", run.id)
    step, noticed = 0, None
    while noticed is None or step < noticed + AWAY_POINTS:
        run.log("step", step)
        if step % 100 == 0:
            say("step", step)
            time.sleep(0.01)
        if step % 500 == 0:
            run.tag(f"t{step // 500}", str(step))
            Path("outputs", f"part-{step // 500}.txt").write_bytes(part(step // 500))
        if noticed is None and store.journal_pending:
            noticed = step
        step += 1
        assert step < MAX_POINTS, "the server was never away"
    completed.complete()
    failed.fail("boom while the server was away")
    canceled.cancel()
    Path("child_outputs", "model.bin").write_bytes(BIG)
    with_outputs.complete()
    shutil.rmtree("child_outputs")  # the user tidies up: the copy in the journal is sent
    run.tag("phase", "away")
    say("away", store.journal_pending, step)
    sys.stdin.readline()
    for _ in range(AWAY_POINTS):
        run.log("step", step)
        step += 1
    run.tag("phase", "back")
    Path("outputs", "final.txt").write_bytes(b"written after the outage")
    run.complete()
    workspace.close()
    ids = [child.id for child in (completed, failed, canceled, with_outputs)]
    say("closed", run.id, step, *ids)


def killed(uri: str) -> None:
    workspace = Workspace(uri)
    store = cast(http_store.HttpStore, workspace.store)
    run = Experiment(workspace, "outage").start_logging(snapshot_directory=None)
    for step in range(500):
        run.log("step", step)
    run.flush()
    say("ready")
    sys.stdin.readline()
    for step in range(500, 1000):
        run.log("step", step)
    Path("outputs", "big.bin").write_bytes(BIG)
    Path("outputs", "notes", "readme.txt").parent.mkdir()
    Path("outputs", "notes", "readme.txt").write_text("kept while away")
    run.tag("phase", "away")
    run.complete()
    shutil.rmtree("outputs")
    say("kept", run.id, store.journal_pending, store.journal_path)
    time.sleep(600)


if __name__ == "__main__":
    http_store.HttpStore = QuickStore  # type: ignore[misc]  # open_store takes it from there
    mode, server_uri = sys.argv[1:]
    {"live": live, "killed": killed}[mode](server_uri)
