"""A process that uploads one artifact and stalls half-way, for the tests of uploads that die
(``tests/store/uploads.py`` starts and drives it). Run as a script, by path: it imports runyard
and nothing of the tests.

Usage: ``python upload_worker.py SPEC``, SPEC a JSON object: the store (``url``, ``schema``,
``artifact_root``, ``storage_options`` of an SQL store, or ``tracking_uri``, ``token`` and
``journal_dir`` of a tracking server's workspace), the artifact (``run_id``, ``path``) and the
bytes (``size``, then ``tail``). The worker gives ``size`` bytes, prints ``stalled`` and waits
for a line on its stdin; then it gives ``tail`` more bytes and ends the upload. Its last line
says how the upload ended: ``done <size>``, or ``error <class> <message>``. With ``"stall":
false`` it never stalls: it gives ``size`` bytes as fast as the store takes them.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from runyard.errors import RunyardError
from runyard.store import Store
from runyard.store.sql import SqlStore

BLOCK = bytes(range(256)) * 4096
"""1 MiB of a pattern: what every worker uploads, repeated."""


class StallingSource(io.RawIOBase):
    """``size`` bytes, then a wait for a line on stdin (``stalled`` printed first), then
    ``tail`` bytes."""

    def __init__(self, size: int, tail: int, stall: bool) -> None:
        self._left = size
        self._tail = tail
        self._stall = stall

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._left and self._stall:
            print("stalled", flush=True)
            sys.stdin.readline()
            self._left, self._tail, self._stall = self._tail, 0, False
        size = min(len(target), self._left, len(BLOCK))
        target[:size] = BLOCK[:size]
        self._left -= size
        return size


def _open(spec: dict[str, Any]) -> Store:
    if "tracking_uri" in spec:
        from runyard.store.http.store import HttpStore

        return HttpStore(spec["tracking_uri"], spec["token"], journal_dir=spec["journal_dir"])
    return SqlStore(
        spec["url"],
        spec["artifact_root"],
        schema=spec.get("schema"),
        storage_options=spec.get("storage_options"),
    )


def main() -> None:
    spec = json.loads(sys.argv[1])
    store = _open(spec)
    source = io.BufferedReader(
        StallingSource(spec["size"], spec.get("tail", 0), spec.get("stall", True)), 1024 * 1024
    )
    try:
        info = store.put_artifact(spec["run_id"], spec["path"], source)
    except RunyardError as exc:
        print(f"error {type(exc).__name__} {exc}", flush=True)
    else:
        print(f"done {info.size}", flush=True)
    finally:
        store.close()


if __name__ == "__main__":
    main()
