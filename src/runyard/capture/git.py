"""The git state of a folder, recorded as run properties (as Azure ML does)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PREFIX = "azureml.git."
MLFLOW_PREFIX = "mlflow.source.git."
"""Azure ML records the repository, branch and commit under MLflow's names too."""
_MLFLOW_NAMES = {"repository_uri": "repoURL", "branch": "branch", "commit": "commit"}


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


_GIT_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR")
"""Variables with which git finds a repository elsewhere than in a ``.git`` above the folder."""


def git_top(start: Path) -> Path | None:
    """The top folder of the git repository holding ``start`` (None outside any): the nearest
    folder with a ``.git`` entry, a folder or, in a worktree or submodule, a file."""
    for folder in (start, *start.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def _maybe_in_repository(path: Path) -> bool:
    """False when git cannot find a repository for ``path``: no ``.git`` (folder or file) in it
    or any folder above, and no variable pointing git elsewhere. Then ``git status`` would only
    fail, and a process costs milliseconds (``start_logging`` from a plain folder)."""
    if any(os.environ.get(name) for name in _GIT_ENV):
        return True
    return git_top(path) is not None


def git_properties(folder: str | os.PathLike[str]) -> dict[str, str]:
    """``azureml.git.{repository_uri,branch,commit,dirty}`` and
    ``mlflow.source.git.{repoURL,branch,commit}`` of ``folder`` (as Azure ML); {} outside git."""
    path = Path(folder).resolve()
    if not path.is_dir() or not _maybe_in_repository(path) or shutil.which("git") is None:
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
    for name, mlflow_name in _MLFLOW_NAMES.items():
        if PREFIX + name in props:
            props[MLFLOW_PREFIX + mlflow_name] = props[PREFIX + name]
    return props
