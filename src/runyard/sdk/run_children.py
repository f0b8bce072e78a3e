"""The child-run calls of ``Run``: creating children (one, a batch, a submitted script) and
finding them (``get_children``, all descendants with ``recursive``)."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from runyard.entities import BATCH_CHILD_TAG, RunInfo, RunLifecycle, RunQuery, RunStatus
from runyard.errors import InvalidArgumentError, LimitExceededError, UserError
from runyard.limits import MAX_CHILDREN_PER_CALL
from runyard.sdk.filters import as_str, checked_query, key_filters, parse_status, with_lifecycle

if TYPE_CHECKING:
    from runyard.sdk.experiment import Experiment
    from runyard.sdk.run import Run

ChildSpec = tuple[str | None, str | None, dict[str, str | None]]
"""(run id, display name, tags) of a child to create."""


class _ParentRun(Protocol):
    """What the child-run calls use of the run they are called on: ``Run`` makes the Run
    objects (``_create_children`` starts new ones, ``_runs`` reads stored ones)."""

    _experiment: Experiment
    _info: RunInfo

    @property
    def id(self) -> str: ...

    def _create_children(
        self, specs: builtins.list[ChildSpec], outputs: str | None
    ) -> builtins.list[Run]: ...

    def _runs(self, query: RunQuery) -> Iterator[Run]: ...

    def _children(self, base: RunQuery, recursive: bool) -> Iterator[Run]: ...


class ChildCalls:
    """The child-run calls of a run (a base class of ``Run``; see ``_ParentRun`` for what they
    use of it)."""

    def submit_child(
        self: _ParentRun, config: Any, tags: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Run:
        """Submit a script as a child of this run (see ``Experiment.submit``)."""
        return self._experiment.submit(config, tags=tags, _parent_run_id=self.id, **kwargs)

    def child_run(
        self: _ParentRun,
        name: str | None = None,
        run_id: str | None = None,
        outputs: str | None = None,
    ) -> Run:
        """Create and start a child run (no outputs folder unless ``outputs`` is given)."""
        return self._create_children([(run_id, name, {})], outputs)[0]

    def create_children(
        self: _ParentRun,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Iterable[Any] | None = None,
    ) -> builtins.list[Run]:
        """Create up to 100 started children in one store transaction.

        With ``count``, child i is tagged ``azureml.batch_child_number=i``; with ``tag_key`` and
        ``tag_values``, one child per value, tagged ``tag_key=value``.

        Raises:
            UserError: neither or both forms given, or more than 100 children.
        """
        if count is None and tag_key is None and tag_values is None:
            raise UserError("Either count or tag_key and tag_values must be set")
        if count is not None and (tag_key is not None or tag_values is not None):
            raise UserError("count can not be set when tag_key and tag_values are set")
        if count is None and tag_values is None:
            raise UserError("tag_values must be set when tag_key is set")
        if count is None and tag_key is None:
            raise UserError("tag_key must be set when tag_values is set")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise InvalidArgumentError(f"count must be a non-negative integer, got {count!r}.")
            specs: builtins.list[ChildSpec] = [
                (None, None, {BATCH_CHILD_TAG: str(i)}) for i in range(count)
            ]
        else:
            assert tag_key is not None and tag_values is not None
            specs = [(None, None, {tag_key: as_str("tag", tag_key, v)}) for v in list(tag_values)]
        if len(specs) > MAX_CHILDREN_PER_CALL:
            raise LimitExceededError("create_children can not create more than 100 runs")
        return self._create_children(specs, None)

    def get_children(
        self: _ParentRun,
        recursive: bool = False,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        type: str | None = None,
        status: str | RunStatus | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        lifecycle: str | RunLifecycle = RunLifecycle.ACTIVE,
        **_: Any,
    ) -> Iterator[Run]:
        """Child runs, newest first unless ``order_by`` says otherwise (all descendants with
        ``recursive``), filtered as get_runs. Deleted children are left out unless
        ``lifecycle`` is ``"deleted"`` or ``"all"``; a child of a deleted run is not deleted
        with it (the children of a deleted child are found with ``recursive`` too).

        Raises:
            InvalidArgumentError: a ``lifecycle`` other than ``"active"``, ``"deleted"`` and
                ``"all"``.
            InvalidQueryError: ``filter`` or ``order_by`` does not parse (raised at the call).
        """
        base = RunQuery(
            tags=key_filters("tags", tags),
            properties=key_filters("properties", properties),
            status=parse_status(status),
            run_type=type,
            include_children=True,
        )
        base = with_lifecycle(checked_query(base, filter, order_by), lifecycle)
        return self._children(base, recursive)

    def _children(self: _ParentRun, base: RunQuery, recursive: bool) -> Iterator[Run]:
        if not recursive:
            yield from self._runs(dataclasses.replace(base, parent_run_id=self.id))
            return
        if self._info.root_run_id is None:
            yield from self._runs(dataclasses.replace(base, root_run_id=self.id))
            return
        # The whole tree, deleted runs too: a deleted run still links its children to ours.
        tree = self._runs(
            RunQuery(
                include_children=True,
                root_run_id=self._info.root_run_id,
                lifecycle=RunLifecycle.ALL,
            )
        )
        below = _descendants(self.id, [r._info for r in tree])
        query = dataclasses.replace(base, root_run_id=self._info.root_run_id)
        for run in self._runs(query):
            if run.id in below:
                yield run


def _descendants(run_id: str, infos: list[RunInfo]) -> set[str]:
    children: dict[str, list[str]] = {}
    for info in infos:
        if info.parent_run_id is not None:
            children.setdefault(info.parent_run_id, []).append(info.run_id)
    found: set[str] = set()
    stack = list(children.get(run_id, []))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found
