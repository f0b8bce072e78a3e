"""Every error runyard raises, in one tree.

::

    RunyardError                      500  base of everything below
    ├── UserError                     400  the call was wrong; the message says how to fix it
    │   ├── InvalidArgumentError      400  (also a TypeError) an argument of the wrong type or shape
    │   │   ├── InvalidQueryError     400  a run filter or sort key that does not parse or check
    │   │   └── InvalidFilterTypeError 400 (also a ValueError) tags/properties filter not str/dict
    │   ├── InvalidNameError          400  an experiment, metric, tag or artifact name breaks a rule
    │   ├── MetricValueError          400  a metric value that cannot be logged
    │   ├── LimitExceededError        400  more tags, properties, names... than runyard allows
    │   │   └── PayloadTooLargeError  413  a request body larger than the server takes
    │   ├── PropertyConflictError     409  a property is immutable once set
    │   ├── ArtifactExistsError       409  an artifact path is written once
    │   ├── ExperimentExistsError     409  an experiment of that name (or id) exists already
    │   ├── ExperimentNotEmptyError   409  Experiment.delete of an experiment that has runs
    │   ├── LoggedModelExistsError    409  a logged model id is taken
    │   ├── RegisteredModelExistsError 409 a registered model name is taken
    │   ├── RunStateError             409  the run's status does not allow the call
    │   ├── WorkspaceConfigError      400  no usable workspace configuration
    │   │   ├── AuthenticationError   401  no token, or an invalid or revoked one
    │   │   └── PermissionDeniedError 403  the token may not do this here
    │   ├── SnapshotError             400  a folder could not be snapshotted
    │   ├── RunEnvironmentError       400  Run.get_context() outside a submitted run
    │   ├── ComputeTargetError        400  a compute target cannot take the run (unreachable,
    │   │                                  a resource request it can never satisfy)
    │   ├── ComputeTargetExistsError  409  a compute target of that name is attached already
    │   └── MetricRejectedError       400  the store refused queued metric points for good
    ├── NotFoundError                 404
    │   ├── ExperimentNotFoundError
    │   ├── RunNotFoundError
    │   ├── MetricNotFoundError
    │   ├── ArtifactNotFoundError
    │   ├── LoggedModelNotFoundError
    │   ├── SnapshotNotFoundError
    │   ├── ComputeTargetNotFoundError     no compute target of that name in the workspace
    │   ├── RegisteredModelNotFoundError   a registered model (version) that does not exist
    │   └── ModelPathNotFoundError         register_model's model_path names none of the
    │                                      run's artifacts (Azure's ModelPathNotFoundException)
    ├── ActivityFailedError           500  wait_for_completion() on a run that failed
    ├── MissingExtraError             500  an optional dependency is not installed
    ├── JournalCorruptError           500  a journal record does not check out
    ├── JournalBusyError              500  another process owns the journal
    └── StoreError                    503  the store could not be reached or written
        ├── MetricWriteError          503  the background metric writer failed
        ├── ServerUnreachableError    503  the tracking server cannot be reached (for now)
        └── RequestTimeoutError       408  a request body stopped arriving; the server gave up

Each class carries ``http_status``, the status the server answers with, and ``code``, a stable
name for the error in JSON bodies. Messages say what was wrong and what to do.

``is_refusal`` tells a refusal for good (sending the same thing again would be refused again)
from a failure worth retrying. Warning classes: ``RunAlreadyEndedWarning``, a call that
would have ended a run that had already ended; ``ChildRunsMatchWarning``, a search that found
no top-level run while child runs match; ``RunyardWarning``, the base of runyard's own warnings
about a call that did something other than asked: ``MetricReprWarning``, ``run.log`` stored the
``repr`` of a value that is not a scalar, and ``TagConversionWarning``, a tag or property value
that was not a string and was stored as ``str(value)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ActivityFailedError",
    "ArtifactExistsError",
    "ArtifactNotFoundError",
    "AuthenticationError",
    "ChildRunsMatchWarning",
    "ComputeTargetError",
    "ComputeTargetExistsError",
    "ComputeTargetNotFoundError",
    "EnvironmentBuildError",
    "EnvironmentNotFoundError",
    "EnvironmentSpecError",
    "ExperimentExistsError",
    "ExperimentNotEmptyError",
    "ExperimentNotFoundError",
    "InvalidArgumentError",
    "InvalidFilterTypeError",
    "InvalidNameError",
    "InvalidQueryError",
    "JournalBusyError",
    "JournalCorruptError",
    "LimitExceededError",
    "LoggedModelExistsError",
    "LoggedModelNotFoundError",
    "MetricNotFoundError",
    "MetricRejectedError",
    "MetricReprWarning",
    "MetricValueError",
    "MetricWriteError",
    "MissingExtraError",
    "ModelPathNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PropertyConflictError",
    "RegisteredModelExistsError",
    "RegisteredModelNotFoundError",
    "RequestTimeoutError",
    "RunAlreadyEndedWarning",
    "RunEnvironmentError",
    "RunNotFoundError",
    "RunStateError",
    "RunyardError",
    "RunyardWarning",
    "ServerUnreachableError",
    "SnapshotError",
    "SnapshotNotFoundError",
    "StoreError",
    "TagConversionWarning",
    "UserError",
    "WorkspaceConfigError",
    "error_class_for_code",
    "is_refusal",
]


class RunyardError(Exception):
    """Base of every runyard error."""

    http_status: ClassVar[int] = 500
    code: ClassVar[str] = "RunyardError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server sends for this error (``details`` only when it has any)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details():
            body["details"] = self.details()
        return {"error": body}

    def details(self) -> dict[str, Any]:
        """What a program may want besides the message (JSON values); sent by the server."""
        return {}

    @classmethod
    def from_wire(cls, message: str, details: Any = None) -> RunyardError:
        """The error a server's answer describes (``details`` as ``details()`` gave them)."""
        return cls(message)


class UserError(RunyardError):
    """The call was invalid; nothing was written."""

    http_status = 400
    code = "UserError"


class InvalidArgumentError(UserError, TypeError):
    """An argument has the wrong type or shape."""

    code = "InvalidArgument"


class InvalidQueryError(InvalidArgumentError):
    """A run filter or sort key that does not parse, or names a field or operator wrongly. The
    message names the part of the query (``filter``, ``order_by[0]``), the column and what was
    expected there."""

    code = "InvalidQuery"

    def __init__(self, message: str, *, source: str = "filter", column: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.column = column

    def details(self) -> dict[str, Any]:
        return {"source": self.source, "column": self.column}

    @classmethod
    def from_wire(cls, message: str, details: Any = None) -> InvalidQueryError:
        known = details if isinstance(details, dict) else {}
        source, column = known.get("source"), known.get("column")
        return cls(
            message,
            source=source if isinstance(source, str) else "filter",
            column=column if type(column) is int else None,
        )


class InvalidFilterTypeError(InvalidArgumentError, ValueError):
    """A tags or properties filter that is neither a key (str) nor a dict (a ValueError too,
    as Azure ML raises)."""

    code = "InvalidFilterType"


class InvalidNameError(UserError):
    """A name (experiment, metric, tag, artifact path) breaks runyard's naming rules."""

    code = "InvalidName"


class MetricValueError(UserError):
    """A metric value that cannot be logged under that name."""

    code = "MetricValue"


class LimitExceededError(UserError):
    """A documented limit of runyard would be exceeded (see docs/api.md, Limits)."""

    code = "LimitExceeded"


class PayloadTooLargeError(LimitExceededError):
    """A request body is larger than the tracking server takes (413); nothing was done."""

    http_status = 413
    code = "PayloadTooLarge"


class PropertyConflictError(UserError):
    """A property already holds another value; properties are immutable."""

    http_status = 409
    code = "PropertyConflict"


class ArtifactExistsError(UserError):
    """An artifact path already holds a file; artifact paths are written once."""

    http_status = 409
    code = "ArtifactExists"


class ExperimentExistsError(UserError):
    """An experiment of that name (or id) exists already, archived or not: creating one, or
    renaming one to that name, is refused; nothing was written."""

    http_status = 409
    code = "ExperimentExists"


class ExperimentNotEmptyError(UserError):
    """``Experiment.delete`` of an experiment that still has runs (deleted ones included)."""

    http_status = 409
    code = "ExperimentNotEmpty"


class LoggedModelExistsError(UserError):
    """A logged model of that id exists already; nothing was written."""

    http_status = 409
    code = "LoggedModelExists"


class RegisteredModelExistsError(UserError):
    """A registered model of that name exists already (``Store.create_registered_model``);
    nothing was written."""

    http_status = 409
    code = "RegisteredModelExists"


class RunStateError(UserError):
    """The run's status does not allow this call."""

    http_status = 409
    code = "RunState"


class WorkspaceConfigError(UserError):
    """No usable workspace configuration or tracking URI."""

    code = "WorkspaceConfig"


class AuthenticationError(WorkspaceConfigError):
    """No token, or an invalid or revoked one (the server answers 401); nothing was done."""

    http_status = 401
    code = "Unauthenticated"


class PermissionDeniedError(WorkspaceConfigError):
    """The token has no access to the workspace, or its role is too low (403); nothing was
    done."""

    http_status = 403
    code = "Forbidden"


class SnapshotError(UserError):
    """A folder could not be snapshotted."""

    code = "Snapshot"


class RunEnvironmentError(UserError):
    """``Run.get_context(allow_offline=False)`` outside a submitted run."""

    code = "RunEnvironment"


class EnvironmentSpecError(UserError):
    """An environment asks for what runyard cannot give (Docker, an Azure curated environment, a
    conda-only package without conda, a Python version not installed); nothing was run."""

    code = "EnvironmentSpec"


class EnvironmentBuildError(UserError):
    """An environment's build failed (a package that does not exist, a resolver conflict); the
    build log says why."""

    code = "EnvironmentBuild"


class ComputeTargetError(UserError):
    """A compute target cannot take the run: its cluster cannot be reached, or the run asks for
    resources (CPUs, GPUs, memory, nodes) it can never give; nothing was run."""

    code = "ComputeTarget"


class ComputeTargetExistsError(UserError):
    """A compute target of that name is attached already, differently (detach it first)."""

    http_status = 409
    code = "ComputeTargetExists"


class MetricRejectedError(UserError):
    """The store refused queued metric points for good (an unknown run, a limit): they were not
    written, and sending them again would not help. Raised by the next ``log`` or ``flush``."""

    code = "MetricRejected"


class NotFoundError(RunyardError):
    """Something named in the call does not exist."""

    http_status = 404
    code = "NotFound"


class MetricNotFoundError(NotFoundError):
    """The run has no metric of that name."""

    code = "MetricNotFound"


class ExperimentNotFoundError(NotFoundError):
    code = "ExperimentNotFound"


class RunNotFoundError(NotFoundError):
    code = "RunNotFound"


class ArtifactNotFoundError(NotFoundError):
    code = "ArtifactNotFound"


class LoggedModelNotFoundError(NotFoundError):
    code = "LoggedModelNotFound"


class EnvironmentNotFoundError(NotFoundError):
    code = "EnvironmentNotFound"


class ComputeTargetNotFoundError(NotFoundError):
    code = "ComputeTargetNotFound"


class SnapshotNotFoundError(NotFoundError):
    code = "SnapshotNotFound"


class RegisteredModelNotFoundError(NotFoundError):
    """No registered model of that name, or no such version of it."""

    code = "RegisteredModelNotFound"


class ModelPathNotFoundError(NotFoundError):
    """``run.register_model``'s ``model_path`` is neither an artifact of the run nor the folder
    of any (Azure's ``ModelPathNotFoundException``); nothing was registered."""

    code = "ModelPathNotFound"


class ActivityFailedError(RunyardError):
    """The run that was waited for ended Failed; ``error`` holds the run's recorded error."""

    code = "ActivityFailed"

    def __init__(self, message: str, error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error = error


class MissingExtraError(RunyardError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    code = "MissingExtra"


class JournalCorruptError(RunyardError):
    """A journal file holds a record that does not check out, followed by valid ones."""

    code = "JournalCorrupt"


class JournalBusyError(RunyardError):
    """Another process owns the journal (it is open in a running client)."""

    code = "JournalBusy"


class StoreError(RunyardError):
    """The store could not be reached or could not write."""

    http_status = 503
    code = "StoreError"


class MetricWriteError(StoreError):
    """The background metric writer could not write; the points are kept and retried."""

    code = "MetricWrite"


class ServerUnreachableError(StoreError):
    """The server could not be reached, or answered 502/503/504, after every retry allowed:
    the request may be sent again later (the HTTP store's journal does)."""

    code = "ServerUnreachable"


class RunAlreadyEndedWarning(UserWarning):
    """``complete()``, ``fail()`` or ``cancel()`` on a run that had already ended: the call
    changed nothing (a final status never changes), so what it meant to record was lost."""


class RunyardWarning(UserWarning):
    """The base of runyard's warnings about a call that did something other than asked."""


class MetricReprWarning(RunyardWarning):
    """``run.log`` got a value that is not a scalar (a tuple, a dict, an array of several
    numbers, an object) and stored its ``repr`` as a string, as Azure ML does."""


class ChildRunsMatchWarning(UserWarning):
    """A run search with a filter found no top-level run, but child runs match it: they are
    left out unless ``include_children=True`` (``--include-children`` on the command line)."""


class TagConversionWarning(RunyardWarning):
    """A tag or property value that is not a string was stored as ``str(value)`` (Python's
    default filter shows it once per calling line; ``warnings.filterwarnings("ignore",
    category=TagConversionWarning)`` silences it)."""


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` refuses a change for good (a missing run, an invalid value, a limit):
    sending it again would be refused again. Not so for an unreachable store, a missing
    workspace, a token without access, or any error that is not a runyard error: those may pass
    when tried again."""
    if isinstance(error, WorkspaceConfigError):
        return False
    if isinstance(error, NotFoundError):
        return type(error) is not NotFoundError  # a missing run, not a missing workspace
    return isinstance(error, UserError)


class RequestTimeoutError(StoreError):
    """A request body stopped arriving for longer than the tracking server waits (408): the
    server gave up on the request and stored nothing of it. Sending it again is safe."""

    http_status = 408
    code = "RequestTimeout"


def _all_subclasses(cls: type[RunyardError]) -> list[type[RunyardError]]:
    found: list[type[RunyardError]] = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


def error_class_for_code(code: str) -> type[RunyardError]:
    """The error class whose ``code`` is ``code`` (``RunyardError`` when unknown)."""
    for cls in _all_subclasses(RunyardError):
        if cls.code == code:
            return cls
    return RunyardError
