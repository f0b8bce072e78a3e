"""The run-search options that ``runs list`` and ``runs export`` share, and the search itself.

``--filter`` and ``--sort`` are parsed when the command line is read (``runyard.query``, the
parser the SDK and the stores use), so that a bad one is a usage error (exit code 2) naming its
column, before the workspace is opened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from runyard.cli._output import print_warning
from runyard.entities import RunInfo, RunLifecycle, RunQuery, RunStatus, TagFilter
from runyard.errors import InvalidQueryError
from runyard.query import parse_filter, parse_order_by
from runyard.query.lexer import T, tokenize
from runyard.sdk.queries import child_match_hint
from runyard.sdk.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

PAGE_SIZE = 500

SORT_HELP = (
    "Sort by this field: metrics.NAME (.min, .max), tags.KEY, properties.KEY or an attribute "
    "(start_time, duration, status...), optionally followed by ASC or DESC. Repeat for "
    "tie-breakers. Default: newest first."
)
FILTER_HELP = (
    'Only runs for which this expression holds, such as "metrics.acc > 0.9 and '
    "(tags.lr = '0.01' or properties.author = 'ann')\" (MLflow's search grammar plus OR and "
    "parentheses; see docs/cli.md)."
)


def _status(ctx: click.Context, param: click.Parameter, value: str | None) -> RunStatus | None:
    """A ``RunStatus`` by name, any case; a wrong name is a usage error listing every one."""
    if value is None:
        return None
    try:
        return RunStatus.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _complete_status(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [
        CompletionItem(status.value)
        for status in RunStatus
        if status.value.lower().startswith(incomplete.lower())
    ]


def _key_filters(
    ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]
) -> tuple[TagFilter, ...]:
    """``K`` keeps runs that have the key, ``K=V`` those where it equals V (as ``get_runs``)."""
    filters = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not key:
            raise click.BadParameter(f"{spec!r} has no key; use K or K=V.", ctx, param)
        filters.append(TagFilter(key=key, value=value, match_value=True) if sep else TagFilter(key))
    return tuple(filters)


def pointed(text: str, error: InvalidQueryError, prefix: str) -> str:
    """The parser's message without its ``filter:``-style prefix, then ``text`` with a caret
    under the column the error names (when it names one)."""
    message = error.message
    head, sep, rest = message.partition(": ")
    if sep and head == error.source:
        message = rest
    if error.column is None or "\n" in text:
        return message
    return f"{message}\n  {prefix}{text}\n  {' ' * (len(prefix) + error.column - 1)}^"


def _filter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        parse_filter(value)
    except InvalidQueryError as exc:
        raise click.BadParameter(pointed(value, exc, ""), ctx, param) from None
    return value


def has_direction(key: str) -> bool:
    """Whether the sort key ends with ASC or DESC (``metrics.desc`` names a metric)."""
    tokens = tokenize(key, "--sort")[:-1]
    return len(tokens) >= 2 and tokens[-1].is_word("ASC", "DESC") and tokens[-2].type is not T.DOT


def _sort(ctx: click.Context, param: click.Parameter, keys: tuple[str, ...]) -> tuple[str, ...]:
    for key in keys:
        try:
            parse_order_by([key])
        except InvalidQueryError as exc:
            raise click.BadParameter(pointed(key, exc, ""), ctx, param) from None
    return keys


def query_options(command: F) -> F:
    """The options that choose runs: experiment, status, tags, properties, filter, sort,
    children, lifecycle (deleted runs). The command receives them as keyword arguments;
    ``build_query`` turns them into a ``RunQuery``."""
    options = [
        click.option("--experiment", "-e", metavar="NAME", help="Only runs of this experiment."),
        click.option(
            "--status",
            metavar="STATUS",
            callback=_status,
            shell_complete=_complete_status,
            help=f"Only runs in this status, one of: {', '.join(RunStatus)} (any case).",
        ),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="K[=V]",
            callback=_key_filters,
            help="Only runs that have tag K (with value V). Repeat to require several.",
        ),
        click.option(
            "--property",
            "properties",
            multiple=True,
            metavar="K[=V]",
            callback=_key_filters,
            help="Only runs that have property K (with value V). Repeat to require several.",
        ),
        click.option("--filter", "filter_", metavar="EXPR", callback=_filter, help=FILTER_HELP),
        click.option(
            "--sort", "sort", multiple=True, metavar="KEY", callback=_sort, help=SORT_HELP
        ),
        click.option(
            "--desc",
            is_flag=True,
            help="Sort descending by the --sort keys that do not say ASC or DESC themselves.",
        ),
        click.option(
            "--include-children", is_flag=True, help="Child runs too, not only top-level runs."
        ),
        click.option(
            "--lifecycle",
            type=click.Choice(
                [lifecycle.value for lifecycle in RunLifecycle], case_sensitive=False
            ),
            default=RunLifecycle.ACTIVE.value,
            show_default=True,
            help="Which runs: active (not deleted), deleted (only those) or all.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_query(
    *,
    experiment: str | None,
    status: RunStatus | None,
    tags: tuple[TagFilter, ...],
    properties: tuple[TagFilter, ...],
    filter_: str | None,
    sort: tuple[str, ...],
    desc: bool,
    include_children: bool,
    lifecycle: str,
    include_metrics: bool,
) -> RunQuery:
    """The ``RunQuery`` of ``query_options``' values.

    Raises:
        click.UsageError: ``--desc`` without ``--sort``.
    """
    if desc and not sort:
        raise click.UsageError(
            "--desc orders the --sort keys; give one, such as --sort metrics.acc --desc "
            "(runs are listed newest first without --sort)."
        )
    order_by = tuple(key if has_direction(key) or not desc else f"{key} DESC" for key in sort)
    return RunQuery(
        experiment_name=experiment,
        tags=tags,
        properties=properties,
        status=status,
        include_children=include_children,
        filter=filter_,
        order_by=order_by,
        include_metrics=include_metrics,
        lifecycle=RunLifecycle.parse(lifecycle),
    )


def iter_pages(workspace: Workspace, query: RunQuery, limit: int = 0) -> Iterator[list[RunInfo]]:
    """The runs ``query`` finds, page by page, at most ``limit`` of them (0: all)."""
    count = 0
    token: str | None = None
    while True:
        size = min(PAGE_SIZE, limit - count) if limit else PAGE_SIZE
        page = workspace.store.search_runs(
            dataclasses.replace(query, page_size=size, page_token=token)
        )
        count += len(page.runs)
        if page.runs:
            yield list(page.runs)
        token = page.next_page_token
        if token is None or (limit and count >= limit):
            return


def search(workspace: Workspace, query: RunQuery, limit: int) -> tuple[list[RunInfo], bool]:
    """Up to ``limit`` runs (0: all), in the query's order, and whether more match."""
    found: list[RunInfo] = []
    token: str | None = None
    while True:
        size = min(PAGE_SIZE, limit - len(found)) if limit else PAGE_SIZE
        page = workspace.store.search_runs(
            dataclasses.replace(query, page_size=size, page_token=token)
        )
        found.extend(page.runs)
        token = page.next_page_token
        if token is None:
            return found, False
        if limit and len(found) >= limit:
            return found, True


def warn_if_only_children(workspace: Workspace, query: RunQuery) -> None:
    """After a search that found nothing: say on stderr when child runs would have matched."""
    children = child_match_hint(workspace, query)
    if children:
        do = "child runs do" if children > 1 else "child run does"
        print_warning(f"no top-level runs match; {children} {do}: add --include-children")
