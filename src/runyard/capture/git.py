"""The git state of a folder, recorded as run properties (as Azure ML does)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PREFIX = "runyard.git."


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_properties(folder: str | os.PathLike[str]) -> dict[str, str]:
    """``runyard.git.{repository_uri,branch,commit,dirty}`` of ``folder``; {} outside git."""
    path = Path(folder).resolve()
    if shutil.which("git") is None or not path.is_dir():
        return {}
    status = _git(path, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return {}
    props: dict[str, str] = {}
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid ") and not line.endswith("(initial)"):
            props[PREFIX + "commit"] = line.split()[-1]
        elif line.startswith("# branch.head ") and not line.endswith("(detached)"):
            props[PREFIX + "branch"] = line.split(maxsplit=2)[-1]
        elif not line.startswith("#"):
            dirty = True
    props[PREFIX + "dirty"] = str(dirty)
    remote = _git(path, "config", "--get", "remote.origin.url")
    if remote and remote.strip():
        props[PREFIX + "repository_uri"] = remote.strip()
    return props
