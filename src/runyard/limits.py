"""runyard's documented limits and the checks that enforce them (docs/api.md, Limits).

Going past a limit is always a clear error, never a silent drop. The store enforces them, so the
same rule holds for the SDK, the CLI and the server.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from runyard.errors import InvalidNameError, LimitExceededError

MAX_TAGS_PER_RUN = 1000
MAX_PROPERTIES_PER_RUN = 1000
MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 5000
MAX_DISPLAY_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 5000
MAX_RUN_ID_LENGTH = 256
MAX_METRIC_NAME_LENGTH = 255
MAX_METRIC_NAMES_PER_RUN = 10_000
MAX_STRING_METRIC_LENGTH = 10_000
MAX_TABLE_COLUMNS = 100
MAX_CHILDREN_PER_CALL = 100
MAX_ARTIFACT_PATH_LENGTH = 1024

EXPERIMENT_NAME_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,254}$")
RUN_ID_RE = re.compile(r"^[\w\-.]{1,256}$")


def check_experiment_name(name: object) -> str:
    # fullmatch: with match, '$' also matches before a trailing newline ("name\n" would pass).
    if not isinstance(name, str) or not EXPERIMENT_NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"Invalid experiment name {name!r}. Experiment name must be between 1 and 255 "
            "characters long. Its first character has to be alphanumeric, and the rest may "
            "contain hyphens and underscores. No whitespace is allowed."
        )
    return name


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or run_id in (".", ".."):
        raise InvalidNameError(
            f"Invalid run id {run_id!r}: use 1 to {MAX_RUN_ID_LENGTH} letters, digits, '_', "
            "'-' or '.' (not '.' or '..' alone)."
        )
    return run_id


def check_key_values(
    what: str, items: Mapping[str, str | None], *, max_count: int | None = None
) -> None:
    """Check the keys and values of tags or properties (``what`` names which, for messages)."""
    for key, value in items.items():
        if not isinstance(key, str) or not key:
            raise InvalidNameError(f"A {what} key must be a non-empty string, got {key!r}.")
        if len(key) > MAX_KEY_LENGTH:
            raise LimitExceededError(
                f"The {what} key {key[:40]!r}... is {len(key)} characters long; the limit is "
                f"{MAX_KEY_LENGTH}. Use a shorter key."
            )
        if value is not None and len(value) > MAX_VALUE_LENGTH:
            raise LimitExceededError(
                f"The value of {what} {key!r} is {len(value)} characters long; the limit is "
                f"{MAX_VALUE_LENGTH}. Store long text as an artifact (run.upload_file) instead."
            )
    if max_count is not None:
        check_count(what, len(items), max_count)


def check_count(what: str, count: int, limit: int) -> None:
    if count > limit:
        raise LimitExceededError(
            f"A run can hold at most {limit} {what}s; this call would make it {count}. "
            "Remove some first, or put the data in an artifact."
        )


def check_text(what: str, value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise LimitExceededError(
            f"The {what} is {len(value)} characters long; the limit is {limit}. Shorten it."
        )
    return value


def normalize_artifact_path(path: object) -> str:
    """The canonical form of an artifact path, or InvalidNameError if it leaves the run's root."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidNameError(f"An artifact path must be a non-empty string, got {path!r}.")
    candidate = path.replace("\\", "/")
    if candidate.startswith("/") or re.match(r"^[a-zA-Z]:", candidate):
        raise InvalidNameError(
            f"The artifact path {path!r} is absolute. Give a path relative to the run, such as "
            "'outputs/model.pkl'."
        )
    parts = candidate.split("/")
    if ".." in parts:
        raise InvalidNameError(
            f"The artifact path {path!r} contains '..'. Artifacts stay inside their run: give "
            "a relative path without '..'."
        )
    normalized = posixpath.normpath(candidate)
    if normalized in ("", "."):
        raise InvalidNameError(f"The artifact path {path!r} names no file.")
    if len(normalized) > MAX_ARTIFACT_PATH_LENGTH:
        raise LimitExceededError(
            f"The artifact path is {len(normalized)} characters long; the limit is "
            f"{MAX_ARTIFACT_PATH_LENGTH}."
        )
    return normalized
