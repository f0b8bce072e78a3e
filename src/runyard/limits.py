"""runyard's documented limits and the checks that enforce them (docs/api.md, Limits).

Going past a limit is always a clear error, never a silent drop. The store enforces them, so the
same rule holds for the SDK, the CLI and the server.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from runyard.errors import InvalidArgumentError, InvalidNameError, LimitExceededError, UserError

MAX_TAGS_PER_RUN = 1000
MAX_PROPERTIES_PER_RUN = 1000
MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 5000
MAX_DISPLAY_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 5000
MAX_RUN_ID_LENGTH = 256
MAX_EXPERIMENT_ID_LENGTH = 36
"""Characters of an experiment id given to ``Store.create_experiment`` (a uuid4 has 36)."""
MAX_METRIC_NAME_LENGTH = 255
MAX_METRIC_NAMES_PER_RUN = 10_000
MAX_STRING_METRIC_LENGTH = 10_000
MAX_TABLE_COLUMNS = 100
MAX_CHILDREN_PER_CALL = 100
MAX_ARTIFACT_PATH_LENGTH = 1024
MAX_ARTIFACT_PATH_BYTES = 2048
"""UTF-8 bytes of an artifact path written (with the workspace's folder and the run id it
stays under Linux's 4,096-byte path limit)."""
MAX_PATH_PART_BYTES = 255
"""UTF-8 bytes of each folder or file name of a path written (the common file-system limit)."""
MAX_RUN_DEFINITION_LENGTH = 1_000_000
"""Characters of a run definition, as JSON."""
MAX_ERROR_LENGTH = 100_000
"""Characters of a recorded error, as JSON (its messages are cut at 3,000 characters each)."""
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""The integers a store keeps: metric values and steps, log offsets."""

EXPERIMENT_NAME_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,254}$")
RUN_ID_RE = re.compile(r"^[\w\-.]{1,256}$")
EXPERIMENT_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_EXPERIMENT_ID_LENGTH}}}")
"""An experiment id: ASCII letters, digits, '-' and '_' (a URL path segment as it is)."""


def check_experiment_name(name: object) -> str:
    # fullmatch: with match, '$' also matches before a trailing newline ("name\n" would pass).
    if not isinstance(name, str) or not EXPERIMENT_NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"Invalid experiment name {name!r}. Experiment name must be between 1 and 255 "
            "characters long. Its first character has to be alphanumeric, and the rest may "
            "contain hyphens and underscores. No whitespace is allowed."
        )
    return name


def check_experiment_id(experiment_id: object) -> str:
    """``experiment_id`` if it may name a new experiment (``EXPERIMENT_ID_RE``).

    Raises:
        InvalidArgumentError: it is not 1 to 36 ASCII letters, digits, '-' or '_'.
    """
    if not isinstance(experiment_id, str) or not EXPERIMENT_ID_RE.fullmatch(experiment_id):
        raise InvalidArgumentError(
            f"Invalid experiment id {experiment_id!r:.60}: use 1 to {MAX_EXPERIMENT_ID_LENGTH} "
            "ASCII letters, digits, '-' or '_' (or leave it unset to get a new uuid4)."
        )
    return experiment_id


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or run_id in (".", ".."):
        raise InvalidNameError(
            f"Invalid run id {run_id!r}: use 1 to {MAX_RUN_ID_LENGTH} letters, digits, '_', "
            "'-' or '.' (not '.' or '..' alone)."
        )
    return run_id


def check_chars(what: str, value: str, error: type[UserError] = InvalidArgumentError) -> str:
    """``value`` if every backend can store it as text: no NUL character (PostgreSQL refuses
    them) and no lone UTF-16 surrogate (not Unicode: it cannot be encoded as UTF-8).

    Raises:
        InvalidArgumentError (or ``error``): it holds one; nothing was written.
    """
    if "\x00" in value:
        raise error(
            f"The {what} {value[:60]!r} holds a NUL character (\\x00), which cannot be stored. "
            "Remove it."
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise error(
                f"The {what} {value[:60]!r} is not valid Unicode: it holds a lone UTF-16 "
                f"surrogate ({value[exc.start]!r}). Send text as proper UTF-8."
            ) from None
    return value


def check_metric_name(name: object) -> str:
    """``name`` if it is a valid metric name: 1 to 255 characters a store can hold."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"A metric name must be a non-empty string, got {name!r}.")
    if len(name) > MAX_METRIC_NAME_LENGTH:
        raise LimitExceededError(
            f"The metric name {name[:40]!r}... is {len(name)} characters long; the limit is "
            f"{MAX_METRIC_NAME_LENGTH}."
        )
    return check_chars("metric name", name, InvalidNameError)


def check_int64(what: str, value: object, *, minimum: int = INT64_MIN) -> int:
    """``value`` if it is an int (not a bool) from ``minimum`` to ``INT64_MAX``.

    Raises:
        InvalidArgumentError: it is not.
    """
    if type(value) is not int or not minimum <= value <= INT64_MAX:
        raise InvalidArgumentError(
            f"The {what} must be an integer from {minimum} to {INT64_MAX}, got {value!r}."
        )
    return value


def check_json(what: str, value: object, limit: int) -> str:
    """``value`` (a JSON object: a run definition, a recorded error) as JSON text, if it has
    at most ``limit`` characters and every string in it can be stored.

    Raises:
        InvalidArgumentError: it is not a mapping, not JSON, or holds a lone surrogate.
        LimitExceededError: it is longer than ``limit``.
    """
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"The {what} must be a dict (a JSON object), got {value!r:.60}.")
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:  # a set, a cycle, too deep...
        raise InvalidArgumentError(f"The {what} cannot be stored as JSON: {exc}.") from None
    if len(text) > limit:
        raise LimitExceededError(
            f"The {what} is {len(text)} characters long as JSON; the limit is {limit}. Keep "
            "large content in an artifact instead."
        )
    return check_chars(what, text)  # control characters are escaped in JSON: only surrogates


def check_key_values(
    what: str, items: Mapping[str, str | None], *, max_count: int | None = None
) -> None:
    """Check the keys and values of tags or properties (``what`` names which, for messages)."""
    for key, value in items.items():
        if not isinstance(key, str) or not key:
            raise InvalidNameError(f"A {what} key must be a non-empty string, got {key!r}.")
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(
                f"The value of {what} {key!r} must be a string (or None), got {value!r:.60}."
            )
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
        check_chars(f"{what} key", key, InvalidNameError)
        if value is not None:
            check_chars(f"value of {what} {key!r}", value)
    if max_count is not None:
        check_count(what, len(items), max_count)


def check_count(what: str, count: int, limit: int) -> None:
    if count > limit:
        raise LimitExceededError(
            f"A run can hold at most {limit} {what}s; this call would make it {count}. "
            "Remove some first, or put the data in an artifact."
        )


def check_text(what: str, value: str | None, limit: int) -> str | None:
    """``value`` if it is None or a string of at most ``limit`` characters a store can hold."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"The {what} must be a string, got {value!r:.60}.")
    if len(value) > limit:
        raise LimitExceededError(
            f"The {what} is {len(value)} characters long; the limit is {limit}. Shorten it."
        )
    return check_chars(what, value)


def normalize_artifact_path(path: object) -> str:
    """The canonical form of an artifact path, or InvalidNameError if it leaves the run's root."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidNameError(f"An artifact path must be a non-empty string, got {path!r}.")
    check_chars("artifact path", path, InvalidNameError)
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


def check_new_artifact_path(path: object) -> str:
    """``normalize_artifact_path`` for a path about to be written (an artifact, a log, a
    snapshot or model file): also each folder or file name at most 255 bytes in UTF-8 and the
    whole at most 2,048, so that no file system refuses it after the store accepted it. Reads
    keep ``normalize_artifact_path`` alone: an object store may hold longer names.

    Raises:
        InvalidNameError: the path breaks a rule (``LimitExceededError``: too long).
    """
    normalized = normalize_artifact_path(path)
    for part in normalized.split("/"):
        size = len(part.encode("utf-8"))
        if size > MAX_PATH_PART_BYTES:
            raise InvalidNameError(
                f"The artifact path {normalized!r:.120} has a folder or file name of {size} "
                f"bytes in UTF-8; each name is at most {MAX_PATH_PART_BYTES} bytes (the file "
                "system limit). Use shorter names."
            )
    size = len(normalized.encode("utf-8"))
    if size > MAX_ARTIFACT_PATH_BYTES:
        raise InvalidNameError(
            f"The artifact path {normalized!r:.120} is {size} bytes long in UTF-8; the limit is "
            f"{MAX_ARTIFACT_PATH_BYTES}. Use a shorter path."
        )
    return normalized


# -- run queries (runyard.query) ------------------------------------------------------------

MAX_QUERY_LENGTH = 20_000
"""Characters in one filter."""
MAX_QUERY_CLAUSES = 200
"""Comparisons in one filter: each becomes a sub-query of the SQL that answers it."""
MAX_QUERY_DEPTH = 32
"""Levels of nested parentheses."""
MAX_ORDER_KEYS = 8
"""Sort keys in one search."""


# -- logged models and datasets (MLflow 3's client; docs/mlflow.md) --------------------------

MAX_MODEL_ID_LENGTH = 64
MAX_MODEL_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
MAX_MODEL_TAGS = 1000
MAX_MODEL_PARAMS = 1000
"""Tags and params of one logged model (each key and value as a run's tag)."""
MAX_MODEL_METRICS = 100_000
"""Metric values recorded on one logged model."""
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 64
MAX_DATASET_SOURCE_TYPE_LENGTH = 255
MAX_DATASET_SOURCE_LENGTH = 65_535
MAX_DATASET_SCHEMA_LENGTH = 1_000_000
MAX_DATASET_PROFILE_LENGTH = 1_000_000
"""Characters of a dataset's texts (MLflow's own limits, schema and profile at most 1 MB)."""
MAX_RUN_DATASETS = 1000
"""Datasets one run records as its inputs."""

MAX_ENVIRONMENT_NAME_LENGTH = 255
MAX_ENVIRONMENT_DEFINITION_LENGTH = 100_000
"""Characters of a registered environment's definition as JSON."""


def check_environment_name(name: object) -> str:
    """``name`` if it can name an environment: 1 to 255 printable characters, no '/'.

    Raises:
        InvalidNameError: it cannot.
    """
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= MAX_ENVIRONMENT_NAME_LENGTH
        or "/" in name
        or not name.isprintable()
        or name.strip() != name
        or name in (".", "..")
    ):
        raise InvalidNameError(
            f"Invalid environment name {name!r:.80}: use 1 to {MAX_ENVIRONMENT_NAME_LENGTH} "
            "printable characters without '/' nor surrounding spaces."
        )
    return check_chars("environment name", name, InvalidNameError)


MAX_COMPUTE_NAME_LENGTH = 64
MAX_COMPUTE_CONFIG_LENGTH = 10_000
"""Characters of an attached compute target's configuration as JSON."""
COMPUTE_KINDS = ("ray",)
"""The kinds of compute target a workspace can attach (``local`` is always there)."""


def check_compute_name(name: object) -> str:
    """``name`` if it can name an attached compute target: 1 to 64 letters, digits, '-' or
    '_', starting with a letter; not ``local`` (every workspace has it).

    Raises:
        InvalidNameError: it cannot.
    """
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= MAX_COMPUTE_NAME_LENGTH
        or not name[0].isascii()
        or not name[0].isalpha()
        or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    ):
        raise InvalidNameError(
            f"Invalid compute target name {name!r:.80}: use 1 to {MAX_COMPUTE_NAME_LENGTH} "
            "letters, digits, '-' or '_', starting with a letter."
        )
    if name == "local":
        raise InvalidNameError(
            "The compute target 'local' is every workspace's own: attach others by other names."
        )
    return name


def check_compute_kind(kind: object) -> str:
    """``kind`` if runyard has a runner of that kind.

    Raises:
        InvalidArgumentError: it has not.
    """
    if kind not in COMPUTE_KINDS:
        raise InvalidArgumentError(
            f"Unknown compute target kind {kind!r:.40}: runyard attaches "
            f"{', '.join(COMPUTE_KINDS)}."
        )
    return str(kind)


def check_compute_config(kind: str, config: Mapping[str, object]) -> None:
    """Whether ``config`` is what a target of ``kind`` runs with, so that a broken target is
    refused when attached, not when a run is submitted to it. A Ray cluster needs
    ``address``: its dashboard's http(s) URL.

    Raises:
        InvalidArgumentError: it is not.
    """
    if kind == "ray":
        address = config.get("address")
        if not isinstance(address, str) or not _is_http_url(address):
            raise InvalidArgumentError(
                "A Ray compute target's configuration needs 'address': the cluster's dashboard "
                f"URL, such as 'http://127.0.0.1:8265', got {address!r:.80}."
            )


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed '[' of an IPv6 host...
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and text.isprintable()
        and text.strip() == text
    )
