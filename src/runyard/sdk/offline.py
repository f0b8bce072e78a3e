"""OfflineRun: what ``Run.get_context()`` returns outside a submitted run (reference §1).

As Azure ML's offline run, it stores nothing and prints what it would have recorded
("Attempted to log scalar metric loss:\\n0.5"), so that training code runs unchanged whether it
is submitted or run directly. Unlike Azure's, it has every public method of ``Run``, with the
same parameters (``tests/sdk/test_offline_run.py`` checks it as ``Run`` grows): a script run
directly never fails on a call that works in a submitted run. What it answers to reading calls:

- its status is kept in memory: Running, then Completed, Failed or Canceled once ``complete``,
  ``fail`` or ``cancel`` is called (they print nothing else, but ``fail``);
- the tags, properties, display name and description set on it are kept in memory, as read back
  by ``get_tags``, ``get_properties``, ``tags``, ``properties``;
- metrics, files, logs, children, models found by search: none (``get_metrics()`` is ``{}``,
  ``get_file_names()`` and ``get_models()`` are ``[]``, ``get_children()`` yields nothing);
  ``get_metric_history``, ``download_file`` and ``restore_snapshot`` raise the runyard "not
  found" error for them;
- ``wait_for_completion`` returns ``get_details()`` at once; ``submit_child`` raises
  ``RunEnvironmentError`` (an offline run has no workspace to submit to).
"""

from __future__ import annotations

import builtins
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from runyard.capture.error import build_error
from runyard.errors import (
    ArtifactNotFoundError,
    MetricNotFoundError,
    RunEnvironmentError,
    SnapshotNotFoundError,
    UserError,
)
from runyard.sdk.filters import tag_values
from runyard.sdk.run import Run

if TYPE_CHECKING:
    from runyard.sdk.experiment import Experiment
    from runyard.sdk.model import Model
    from runyard.sdk.workspace import Workspace

_NOTHING = "an offline run (Run.get_context() outside a submitted run) stores nothing"


def _json_metric(kind: str) -> Callable[[OfflineRun, str, Mapping[str, Any] | str, str], None]:
    """``log_confusion_matrix`` and the other JSON metrics: ``(name, value, description="")``."""

    def log_json(
        self: OfflineRun, name: str, value: Mapping[str, Any] | str, description: str = ""
    ) -> None:
        self._metric(kind, name, value)

    log_json.__name__ = f"log_{kind}"
    return log_json


class OfflineRun:
    """What ``Run.get_context()`` returns outside a submitted run: it prints, stores nothing."""

    def __init__(self, run_id: str | None = None, parent: OfflineRun | None = None) -> None:
        self.id = run_id or f"OfflineRun_{uuid.uuid4()}"
        self.parent = parent
        self.number = 0
        self.type: str | None = None
        self.experiment: Experiment | None = None
        self.display_name: str | None = None
        self.description: str | None = None
        self.deleted_time: float | None = None
        self.status = "Running"
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}

    @property
    def name(self) -> str:
        """Azure's deprecated run name: ``run_<id>`` unless a display name was set."""
        return self.display_name or f"run_{self.id}"

    @property
    def tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._properties)

    # -- finding runs: the same as Run's ---------------------------------------------------------

    @staticmethod
    def get(workspace: Workspace, run_id: str) -> Any:
        """``Run.get``: the stored run ``run_id``."""
        return Run.get(workspace, run_id)

    @staticmethod
    def get_context(allow_offline: bool = True, **kwargs: Any) -> Any:
        """``Run.get_context``."""
        return Run.get_context(allow_offline, **kwargs)

    @staticmethod
    def get_submitted_run(**kwargs: Any) -> Any:
        """``Run.get_submitted_run``: ``Run.get_context``."""
        return Run.get_context(**kwargs)

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        status: str | None = None,
        include_children: bool = False,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """``Run.list``: the experiment's stored runs (``Experiment.get_runs``)."""
        return experiment.get_runs(type, tags, properties, include_children, status, **kwargs)

    # -- status --------------------------------------------------------------------------------

    def get_status(self) -> str:
        return self.status

    def get_detailed_status(self) -> dict[str, Any]:
        return {"status": self.status, "details": None}

    def get_environment(self) -> Any:
        """Raises:
        UserError: always (an offline run has no run definition)."""
        raise UserError(f"Run {self.id} is offline: it has no environment definition.")

    def get_snapshot_id(self) -> str | None:
        """None: an offline run takes no snapshot."""
        return None

    def get_portal_url(self) -> str | None:
        """None: an offline run has no page in the web UI."""
        return None

    def get_details(self) -> dict[str, Any]:
        """The keys of ``Run.get_details()`` an offline run has values for."""
        return {
            "runId": self.id,
            "target": "local",
            "status": self.status,
            "properties": self.properties,
            "inputDatasets": [],
            "outputDatasets": [],
            "logFiles": {},
        }

    def get_details_with_logs(self) -> dict[str, Any]:
        return self.get_details()

    def get_all_logs(self, destination: str | os.PathLike[str] | None = None) -> builtins.list[str]:
        return []

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        file: IO[str] | None = None,
    ) -> dict[str, Any]:
        """Returns ``get_details()`` at once: nothing runs elsewhere."""
        return self.get_details()

    def start(self) -> None:
        self.status = "Running"

    def flush(self, timeout_seconds: float = 300) -> None:
        """Nothing to flush offline."""

    def complete(self, _set_status: bool = True) -> None:
        """Nothing to record offline (the status reads Completed)."""
        if _set_status and self.status == "Running":
            self.status = "Completed"

    def fail(self, error_details: Any = None, error_code: str | None = None, **_: Any) -> None:
        """Print the error, as Azure's offline run does.

        Raises:
            InvalidArgumentError: error_details is neither a string nor an exception.
        """
        build_error(error_details, error_code, 0.0)  # the same check as Run.fail
        print(f"Run failed with error code {error_code or 'UserError'}:\n{error_details}")
        if self.status == "Running":
            self.status = "Failed"

    def cancel(self) -> None:
        """Nothing to cancel offline (the status reads Canceled)."""
        if self.status == "Running":
            self.status = "Canceled"

    def clean(self) -> None:
        """Nothing to clean offline."""

    def delete(self) -> None:
        """Nothing to delete offline."""

    def restore(self) -> None:
        """Nothing to restore offline."""

    def __enter__(self) -> OfflineRun:
        print(f"[START] Run {self.id} context")
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        print(f"[STOP] Run {self.id} context")

    # -- children ------------------------------------------------------------------------------

    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: str | None = None
    ) -> OfflineRun:
        return OfflineRun(run_id or f"{self.id}.{name or uuid.uuid4()}", parent=self)

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Iterable[Any] | None = None,
    ) -> builtins.list[OfflineRun]:
        if count is None:
            return [self.child_run() for _ in tag_values or ()]
        return [self.child_run() for _ in range(count)]

    def get_children(
        self,
        recursive: bool = False,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        type: str | None = None,
        status: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        lifecycle: str = "active",
        **_: Any,
    ) -> Iterator[OfflineRun]:
        """None: an offline run stores no children to find."""
        return iter(())

    def submit_child(
        self, config: Any, tags: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> OfflineRun:
        """Raises:
        RunEnvironmentError: always (an offline run has no workspace to submit to)."""
        raise RunEnvironmentError(
            f"Cannot submit a child of {self.id}: {_NOTHING}. Submit it from an experiment "
            "(experiment.submit(config)), or start this script with experiment.submit."
        )

    # -- tags and properties -------------------------------------------------------------------

    def tag(self, key: str, value: Any = None) -> None:
        print(f"Attempted to add tag {key} with value {value}")
        self._tags.update(tag_values({key: value}))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.tag(key, value)

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        keys = [tags] if isinstance(tags, str) else list(tags)
        print(f"Attempted to remove tags {keys}")
        for key in keys:
            self._tags.pop(key, None)

    def get_tags(self) -> dict[str, str | None]:
        return self.tags

    def add_properties(self, properties: Mapping[str, Any] | None) -> None:
        if not properties:
            return
        print(f"Attempted to add properties {dict(properties)}")
        self._properties.update({k: str(v) for k, v in properties.items()})

    def get_properties(self) -> dict[str, str]:
        return self.properties

    # -- metrics -------------------------------------------------------------------------------

    def _metric(self, kind: str, name: str, value: Any) -> None:
        print(f"Attempted to log {kind} metric {name}:\n{value}")

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._metric("scalar", name if step is None else f"{name} (step {step})", value)

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        self._metric("list", name, list(value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._metric("row", name, kwargs)

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        self._metric("table", name, dict(value))

    def log_image(
        self, name: str, path: str | None = None, plot: Any = None, description: str = ""
    ) -> None:
        self._metric("image", name, path if path is not None else plot)

    log_confusion_matrix = _json_metric("confusion_matrix")
    log_accuracy_table = _json_metric("accuracy_table")
    log_residuals = _json_metric("residuals")
    log_predictions = _json_metric("predictions")

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        return {}

    def get_metric_history(self, name: str) -> Any:
        """Raises:
        MetricNotFoundError: always (an offline run stores no metric)."""
        raise MetricNotFoundError(f"Run {self.id!r} has no metric {name!r}: {_NOTHING}.")

    # -- files ---------------------------------------------------------------------------------

    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | IO[bytes]) -> None:
        source = path_or_stream if isinstance(path_or_stream, (str, os.PathLike)) else "a stream"
        print(f"Attempted to upload file {name} from {source}")

    def upload_files(
        self, names: builtins.list[str], paths: builtins.list[str | os.PathLike[str]], **_: Any
    ) -> builtins.list[Any]:
        for name, path in zip(names, paths, strict=False):
            self.upload_file(name, path)
        return []

    def upload_folder(
        self, name: str, path: str | os.PathLike[str], **_: Any
    ) -> builtins.list[Any]:
        root = Path(path)
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            self.upload_file(f"{name.rstrip('/')}/{file.relative_to(root).as_posix()}", file)
        return []

    def get_file_names(self) -> builtins.list[str]:
        return []

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None, **_: Any
    ) -> Path:
        """Raises:
        ArtifactNotFoundError: always (an offline run stores no file)."""
        raise ArtifactNotFoundError(f"Run {self.id!r} has no file {name!r}: {_NOTHING}.")

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: builtins.list[str | os.PathLike[str]] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        **_: Any,
    ) -> builtins.list[Path]:
        return []

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        **_: Any,
    ) -> None:
        print(f"Attempted to register model {model_name} from {model_path or model_name}")

    def get_models(self) -> builtins.list[Model]:
        """None: an offline run registers no model."""
        return []

    # -- snapshots -----------------------------------------------------------------------------

    def take_snapshot(self, file_or_folder_path: str | os.PathLike[str]) -> str:
        """Prints what it would snapshot; returns an empty snapshot id."""
        print(f"Attempted to take a snapshot of {file_or_folder_path}")
        return ""

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: str | os.PathLike[str] | None = None
    ) -> str:
        """Raises:
        SnapshotNotFoundError: always (an offline run has no snapshot)."""
        raise SnapshotNotFoundError(f"Run {self.id} has no snapshot: {_NOTHING}.")

    def __repr__(self) -> str:
        return f"OfflineRun(Id: {self.id})"
