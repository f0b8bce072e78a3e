"""The metric calls of ``Run``: the ``log*`` calls (through its ``MetricLogger``) and reading
metrics back (``get_metrics``, ``get_metric_history``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from runyard.entities import MetricHistory, MetricKind
from runyard.errors import MetricNotFoundError
from runyard.sdk.metrics import MetricLogger, shape_metrics

if TYPE_CHECKING:
    from runyard.sdk.run import Run
    from runyard.store.base import Store


class _MetricRun(Protocol):
    """What the metric calls use of the run they are called on."""

    _store: Store
    _metrics: MetricLogger

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str | None: ...

    def flush(self, timeout_seconds: float = 300) -> None: ...

    def get_children(self, recursive: bool = False) -> Iterator[Run]: ...


class MetricCalls:
    """The metric calls of a run (a base class of ``Run``; see ``_MetricRun`` for what they
    use of it)."""

    def log(
        self: _MetricRun, name: str, value: Any, description: str = "", step: int | None = None
    ) -> None:
        """Log a scalar under ``name`` (appended to the series; returns at once).

        Raises:
            UserError: the value is a list (use ``log_list``).
            MetricValueError: the value cannot join the series (e.g. a string among numbers).
        """
        self._metrics.log(name, value, description, step)

    def log_list(self: _MetricRun, name: str, value: Iterable[Any], description: str = "") -> None:
        """Log every value of ``value`` (a list, tuple, range or generator) under ``name``."""
        self._metrics.log_list(name, value, description)

    def log_row(self: _MetricRun, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Append one row (keyword arguments are its columns) to the table ``name``."""
        self._metrics.log_row(name, description, **kwargs)

    def log_table(
        self: _MetricRun, name: str, value: Mapping[str, Any], description: str = ""
    ) -> None:
        """Append a table given as {column: list of values} to the table ``name``."""
        self._metrics.log_table(name, value, description)

    def log_image(
        self: _MetricRun,
        name: str,
        path: str | None = None,
        plot: Any = None,
        description: str = "",
    ) -> None:
        """Log an image from a file ``path`` or a matplotlib ``plot`` (stored as an artifact)."""
        self._metrics.log_image(name, path, plot, description)

    def log_confusion_matrix(
        self: _MetricRun, name: str, value: Mapping[str, Any] | str, description: str = ""
    ) -> None:
        self._metrics.log_json(name, MetricKind.CONFUSION_MATRIX, value, description)

    def log_accuracy_table(
        self: _MetricRun, name: str, value: Mapping[str, Any] | str, description: str = ""
    ) -> None:
        self._metrics.log_json(name, MetricKind.ACCURACY_TABLE, value, description)

    def log_residuals(
        self: _MetricRun, name: str, value: Mapping[str, Any] | str, description: str = ""
    ) -> None:
        self._metrics.log_json(name, MetricKind.RESIDUALS, value, description)

    def log_predictions(
        self: _MetricRun, name: str, value: Mapping[str, Any] | str, description: str = ""
    ) -> None:
        self._metrics.log_json(name, MetricKind.PREDICTIONS, value, description)

    def get_metric_history(self: _MetricRun, name: str) -> MetricHistory:
        """Every point of the metric ``name``: values, steps and times as stored.

        Raises:
            MetricNotFoundError: the run has no metric of that name (the message lists those
                it has).
        """
        self.flush()
        chunks = self._store.read_metrics([self.id], [name])
        if not chunks:
            names = sorted(s.name for s in self._store.list_metric_series([self.id]))
            listed = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
            raise MetricNotFoundError(
                f"Run {self.id!r} has no metric {name!r}; "
                + (f"its metrics are {listed}." if names else "it has logged no metric yet.")
            )
        chunk = chunks[0]
        steps = list(chunk.steps) if chunk.steps is not None else [None] * len(chunk.values)
        return MetricHistory(
            run_id=self.id,
            name=chunk.name,
            kind=chunk.kind,
            value_type=chunk.value_type,
            values=list(chunk.values),
            steps=steps,
            times=list(chunk.times),
            description=chunk.description,
        )

    def get_metrics(
        self: _MetricRun,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """The run's metrics by name (``{run_id: {...}}`` for it and its descendants with
        ``recursive``, only runs that have metrics). An image or JSON metric is its artifact's
        URI, or with ``populate`` its content: the image's bytes, the JSON's dict."""
        self.flush()
        names = [name] if name is not None else None
        store = self._store if populate else None
        if not recursive:
            return shape_metrics(self._store.read_metrics([self.id], names), store)
        runs: builtins.list[_MetricRun] = [self, *self.get_children(recursive=True)]
        ids = [r.id for r in runs if run_type is None or r.type == run_type]
        by_run: dict[str, builtins.list[Any]] = {run_id: [] for run_id in ids}
        for data in self._store.read_metrics(ids, names):
            by_run[data.run_id].append(data)
        return {run_id: shape_metrics(series, store) for run_id, series in by_run.items() if series}
