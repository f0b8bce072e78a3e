"""Run search against a plain Python evaluation of the same runs (hypothesis), on SQLite and
PostgreSQL.

A fixed population of runs (tags with and without values, properties, metric series whose last,
minimum and maximum differ, some with NaN, infinities, None or text, runs missing each key,
display names, statuses, parents, some runs deleted) is searched with random filters, sort keys
and lifecycles. The oracle
here evaluates the semantics that ``runyard/store/sql/filters.py`` states, knowing nothing of
the SQL: the filtered set and the exact order (ties newest first) must be the same, and paging
with tokens in small pages must give the one big page, without duplicates or gaps.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewRun,
    RunInfo,
    RunLifecycle,
    RunQuery,
    RunStatus,
)
from runyard.entities import ValueType as VT
from runyard.store import Store
from runyard.store.sql import SqlStore

SEED = 20261130
RUNS = 60
TAG_KEYS = ("team", "flag", "lr", "absent")
PROPERTY_KEYS = ("author", "seed", "absent")
METRIC_NAMES = ("acc", "loss", "val loss", "absent")
TEXTS = (
    "a",
    "A",
    "ab",
    "aB",
    "Ab",
    "abc",
    "vision",
    "Vision",
    "VISION",
    "nlp",
    "a%b",
    "a_b",
    "axb",
    "*star",
    "q?",
    "[br]",
    "x*y",
    "Ünï",
    "ünï",
    "it's",
    "",
    "0.1",
    "0.01",
    "1e-3",
    "10",
    "2",
)
"""Text values (tags, properties, names) and the stuff of patterns: wildcards of LIKE, GLOB's
characters that LIKE takes literally, mixed case, non-ASCII letters."""
STATUSES = (RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED)
NUMBERS = (-1.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 10.0, math.inf, -math.inf, math.nan, None)


@dataclass
class Model:
    """What the oracle knows of a run: what the test wrote, and the attributes the store set."""

    info: RunInfo
    index: int
    """Creation order: the newest run has the highest."""
    tags: dict[str, str | None] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    """Every value of each series, in logging order."""


def _metric_values(rng: random.Random) -> tuple[VT, list[list[Any]]]:
    """A series as chunks: numbers (with NaN, infinities, None) or, now and then, text."""
    if rng.random() < 0.12:
        values: list[Any] = [rng.choice(TEXTS) for _ in range(rng.randint(1, 3))]
        kind = VT.STRING
    else:
        values = [rng.choice(NUMBERS) for _ in range(rng.randint(1, 5))]
        values = [
            int(v) if v is not None and rng.random() < 0.2 and math.isfinite(v) else v
            for v in values
        ]
        kind = VT.NUMBER
    cut = sorted(rng.sample(range(1, len(values) + 1), k=min(len(values), rng.randint(1, 3))))
    chunks, start = [], 0
    for end in cut:
        if end > start:
            chunks.append(values[start:end])
            start = end
    if start < len(values):
        chunks.append(values[start:])
    return kind, chunks


def populate(store: Store) -> list[Model]:
    rng = random.Random(SEED)
    models: list[Model] = []
    for i in range(RUNS):
        tags: dict[str, str | None] = {}
        if rng.random() < 0.7:
            tags["team"] = rng.choice(TEXTS)
        if rng.random() < 0.5:
            tags["flag"] = rng.choice([None, None, "x"])
        if rng.random() < 0.5:
            tags["lr"] = rng.choice(["0.1", "0.01", "1e-3", "10", "2"])
        properties = {}
        if rng.random() < 0.6:
            properties["author"] = rng.choice(TEXTS)
        if rng.random() < 0.4:
            properties["seed"] = str(rng.randint(0, 12))
        parent = None
        if models and rng.random() < 0.3:
            parent = rng.choice(models).info.run_id
        (info,) = store.create_runs(
            [
                NewRun(
                    run_id=f"run-{i:02d}-{rng.choice(TEXTS[:6])}",
                    experiment_name=rng.choice(["exp-a", "exp-b"]),
                    parent_run_id=parent,
                    run_type=rng.choice([None, "script", "sweep"]),
                    display_name=rng.choice([None, *TEXTS]),
                    tags=tags,
                    properties=properties,
                    status=rng.choice([RunStatus.RUNNING, RunStatus.QUEUED]),
                )
            ]
        )
        status = rng.choice([None, *STATUSES])
        if status is not None:
            store.set_run_status(info.run_id, status)
        metrics: dict[str, list[Any]] = {}
        for name in METRIC_NAMES[:-1]:
            if rng.random() < 0.7:
                value_type, chunks = _metric_values(rng)
                for values in chunks:
                    store.log_metrics(
                        [
                            MetricChunk(
                                info.run_id,
                                name,
                                MetricKind.VECTOR,
                                value_type,
                                values,
                                [1000.0 + k for k in range(len(values))],
                            )
                        ]
                    )
                metrics[name] = [v for values in chunks for v in values]
        models.append(Model(store.get_run(info.run_id), i, tags, properties, metrics))
    # Some runs deleted (a generator of their own: the runs above stay as they were).
    deleting = random.Random(SEED + 1)
    for model in models:
        if deleting.random() < 0.25:
            model.info = store.set_run_deleted(model.info.run_id, True)
    return models


@dataclass
class Population:
    store: Store
    models: list[Model]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def population(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Population]:
    root: Path = tmp_path_factory.mktemp("search")
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{root}/runyard.db", str(root / "artifacts"))
    else:
        url = request.getfixturevalue("postgres_module_url")
        store = SqlStore(url, str(root / "artifacts"))
    try:
        yield Population(store, populate(store))
    finally:
        store.close()


# -- the oracle ------------------------------------------------------------------------------------


def in_lifecycle(model: Model, lifecycle: RunLifecycle) -> bool:
    deleted = model.info.deleted_time is not None
    return lifecycle is RunLifecycle.ALL or deleted == (lifecycle is RunLifecycle.DELETED)


def _number(value: Any) -> float | None:
    """A metric value as filters see it: ints and floats (infinities too), not NaN, bool, None."""
    if type(value) is float:
        return None if math.isnan(value) else value
    if type(value) is int:
        return float(value)
    return None


def field_value(model: Model, kind: str, key: str) -> tuple[bool, Any]:
    """(whether the run has the field, its value to compare: None when it has none)."""
    info = model.info
    if kind == "metrics" or kind.startswith("metrics."):
        if key not in model.metrics:
            return False, None
        values = model.metrics[key]
        if kind == "metrics":
            return True, _number(values[-1])
        numbers = [n for n in map(_number, values) if n is not None]
        if not numbers:
            return True, None
        return True, min(numbers) if kind == "metrics.min" else max(numbers)
    if kind == "tags":
        return key in model.tags, model.tags.get(key)
    if kind == "properties":
        return key in model.properties, model.properties.get(key)
    value: Any
    if key == "duration":
        value = (
            None
            if info.start_time is None or info.end_time is None
            else info.end_time - info.start_time
        )
    elif key == "status":
        value = info.status.value
    elif key == "number":
        value = float(info.number)
    else:
        value = getattr(info, key)
    return value is not None, value


def _fold(text: str) -> str:
    return text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def like(value: str, pattern: str, fold: bool) -> bool:
    if fold:
        value, pattern = _fold(value), _fold(pattern)
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


@dataclass(frozen=True)
class Cmp:
    kind: str  # "metrics", "metrics.min", "metrics.max", "tags", "properties", "attributes"
    key: str
    op: str
    values: tuple[Any, ...] = ()

    def matches(self, model: Model) -> bool:
        present, value = field_value(model, self.kind, self.key)
        if self.op == "IS NULL":
            return not present
        if self.op == "IS NOT NULL":
            return present
        if value is None:
            return False
        if self.op in ("LIKE", "ILIKE"):
            return like(value, self.values[0], self.op == "ILIKE")
        if self.op == "IN":
            return value in self.values
        if self.op == "NOT IN":
            return value not in self.values
        other = self.values[0]
        return {
            "=": value == other,
            "!=": value != other,
            "<": value < other,
            "<=": value <= other,
            ">": value > other,
            ">=": value >= other,
        }[self.op]

    def text(self, rnd: random.Random) -> str:
        return f"{self.field_text()} {rnd.choice(OP_SPELLINGS[self.op])}{self.values_text()}"

    def field_text(self) -> str:
        if self.kind == "attributes":
            return self.key
        name = f"`{self.key}`" if not self.key.isidentifier() else self.key
        if self.kind.startswith("metrics."):
            return f"metrics.{name}.{self.kind.split('.')[1]}"
        return f"{self.kind}.{name}"

    def values_text(self) -> str:
        def literal(value: Any) -> str:
            if isinstance(value, str):
                return "'" + value.replace("'", "''") + "'"
            return repr(float(value))

        if self.op in ("IS NULL", "IS NOT NULL"):
            return ""
        if self.op in ("IN", "NOT IN"):
            return " (" + ", ".join(map(literal, self.values)) + ")"
        return " " + literal(self.values[0])


OP_SPELLINGS = {
    "=": ["=", "=="],
    "!=": ["!=", "<>"],
    "<": ["<"],
    "<=": ["<="],
    ">": [">"],
    ">=": [">="],
    "LIKE": ["LIKE", "like"],
    "ILIKE": ["ILIKE", "ilike"],
    "IN": ["IN", "in"],
    "NOT IN": ["NOT IN", "not in"],
    "IS NULL": ["IS NULL", "is null"],
    "IS NOT NULL": ["IS NOT NULL", "Is Not Null"],
}


@dataclass(frozen=True)
class Node:
    op: str  # AND, OR
    terms: tuple[Expr, ...]


Expr = Cmp | Node


def matches(expr: Expr, model: Model) -> bool:
    if isinstance(expr, Cmp):
        return expr.matches(model)
    results = [matches(term, model) for term in expr.terms]
    return all(results) if expr.op == "AND" else any(results)


def render(expr: Expr, rnd: random.Random) -> str:
    if isinstance(expr, Cmp):
        return expr.text(rnd)
    parts = [
        f"({render(term, rnd)})" if isinstance(term, Node) else render(term, rnd)
        for term in expr.terms
    ]
    return f" {rnd.choice([expr.op, expr.op.lower()])} ".join(parts)


# -- random filters --------------------------------------------------------------------------------

FINITE = [v for v in NUMBERS if v is not None and math.isfinite(v)]
NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
TEXT_OPS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
PATTERN_PIECES = ["%", "_", "a", "A", "b", "B", "x", "*", "?", "[", "]", "ü", "Ü", "'", "1", "0."]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """A value as it is, one with its case changed and wildcards put in, or random pieces."""
    how = draw(st.sampled_from(["value", "derived", "derived", "pieces"]))
    if how == "pieces":
        return "".join(draw(st.lists(st.sampled_from(PATTERN_PIECES), max_size=5)))
    text = draw(st.sampled_from(TEXTS))
    if how == "value":
        return text
    edits = st.sampled_from(["keep", "keep", "swap", "swap", "_", "%"])
    out = []
    for ch in text:
        edit = draw(edits)
        out.append(ch if edit == "keep" else ch.swapcase() if edit == "swap" else edit)
    return draw(st.sampled_from(["", "%"])) + "".join(out) + draw(st.sampled_from(["", "%"]))


def comparison_of(kind: str, key: str, ops: list[str], values: st.SearchStrategy[Any]) -> Any:
    @st.composite
    def build(draw: st.DrawFn) -> Cmp:
        op = draw(st.sampled_from(ops))
        if op in ("IS NULL", "IS NOT NULL"):
            return Cmp(kind, key, op)
        if op in ("LIKE", "ILIKE"):
            return Cmp(kind, key, op, (draw(patterns()),))
        if op in ("IN", "NOT IN"):
            return Cmp(kind, key, op, tuple(draw(st.lists(values, min_size=1, max_size=4))))
        return Cmp(kind, key, op, (draw(values),))

    return build()


def comparisons(population: Population) -> st.SearchStrategy[Cmp]:
    infos = [m.info for m in population.models]
    texts = st.sampled_from(TEXTS)
    numbers = st.one_of(st.sampled_from(FINITE), st.integers(-2, 12).map(float))
    run_ids = st.sampled_from([i.run_id for i in infos] + ["nope"])
    times = st.sampled_from(sorted({i.created_time for i in infos} | {0.0}))
    deleted_times = st.sampled_from(
        sorted({i.deleted_time for i in infos if i.deleted_time is not None} | {0.0})
    )
    metric = st.builds(
        lambda agg, key: (agg, key),
        st.sampled_from(["metrics", "metrics.min", "metrics.max"]),
        st.sampled_from(METRIC_NAMES),
    )
    no_null = [op for op in TEXT_OPS if "NULL" not in op]
    return st.one_of(
        metric.flatmap(lambda m: comparison_of(m[0], m[1], NUMBER_OPS, numbers)),
        st.sampled_from(TAG_KEYS).flatmap(lambda k: comparison_of("tags", k, TEXT_OPS, texts)),
        st.sampled_from(PROPERTY_KEYS).flatmap(
            lambda k: comparison_of("properties", k, TEXT_OPS, texts)
        ),
        comparison_of("attributes", "display_name", TEXT_OPS, texts),
        comparison_of("attributes", "run_type", TEXT_OPS, st.sampled_from(["script", "sweep"])),
        comparison_of("attributes", "run_id", no_null, run_ids),
        comparison_of("attributes", "parent_run_id", TEXT_OPS, run_ids),
        comparison_of("attributes", "root_run_id", TEXT_OPS, run_ids),
        comparison_of(
            "attributes", "experiment_name", no_null, st.sampled_from(["exp-a", "exp-b", "x"])
        ),
        comparison_of(
            "attributes",
            "status",
            ["=", "!=", "IN", "NOT IN"],
            st.sampled_from([s.value for s in STATUSES] + ["Queued"]),
        ),
        comparison_of("attributes", "number", [o for o in NUMBER_OPS if "NULL" not in o], numbers),
        comparison_of("attributes", "created_time", NUMBER_OPS[:6], times),
        comparison_of("attributes", "end_time", NUMBER_OPS, times),
        comparison_of("attributes", "duration", NUMBER_OPS, st.sampled_from([0.0, 1.0, 1e9])),
        comparison_of("attributes", "deleted_time", NUMBER_OPS, deleted_times),
    )


def filters(population: Population) -> st.SearchStrategy[Expr]:
    return st.recursive(
        comparisons(population),
        lambda children: st.builds(
            Node,
            st.sampled_from(["AND", "OR"]),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
        max_leaves=6,
    )


# -- random orders ---------------------------------------------------------------------------------

SORT_FIELDS = [
    *[(agg, name) for agg in ("metrics", "metrics.min", "metrics.max") for name in METRIC_NAMES],
    *[("tags", key) for key in TAG_KEYS],
    *[("properties", key) for key in PROPERTY_KEYS],
    *[
        ("attributes", key)
        for key in (
            "display_name",
            "status",
            "run_type",
            "number",
            "created_time",
            "end_time",
            "duration",
            "deleted_time",
            "parent_run_id",
            "experiment_name",
            "run_id",
        )
    ],
]
orders = st.lists(st.tuples(st.sampled_from(SORT_FIELDS), st.booleans()), max_size=3)


def order_text(order: list[tuple[tuple[str, str], bool]]) -> list[str]:
    return [
        f"{Cmp(kind, key, '=').field_text()} {'DESC' if desc else 'ASC'}"
        for (kind, key), desc in order
    ]


def sort_models(models: list[Model], order: list[tuple[tuple[str, str], bool]]) -> list[Model]:
    """Each key in turn, runs missing it last in either direction; ties newest first."""

    def compare(a: Model, b: Model) -> int:
        for (kind, key), descending in order:
            va, vb = field_value(a, kind, key)[1], field_value(b, kind, key)[1]
            if va == vb:
                continue
            if va is None or vb is None:
                return 1 if va is None else -1
            result = -1 if va < vb else 1
            return -result if descending else result
        return b.index - a.index

    return sorted(models, key=functools.cmp_to_key(compare))


def all_pages(store: Store, query: RunQuery, page_size: int) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    for _ in range(RUNS + 2):
        page = store.search_runs(_replace(query, page_size, token))
        assert len(page.runs) <= page_size
        ids.extend(run.run_id for run in page.runs)
        token = page.next_page_token
        if token is None:
            return ids
    raise AssertionError("paging did not end")


def _replace(query: RunQuery, page_size: int, token: str | None) -> RunQuery:
    return dataclasses.replace(query, page_size=page_size, page_token=token)


# -- the properties --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_filter_and_order_match_the_oracle(
    population: Population, data: st.DataObject, seed: int
) -> None:
    expr = data.draw(filters(population), label="filter")
    order = data.draw(orders, label="order")
    lifecycle = data.draw(st.sampled_from(RunLifecycle), label="lifecycle")
    text = render(expr, random.Random(seed))
    keys = order_text(order)
    kept = [m for m in population.models if in_lifecycle(m, lifecycle) and matches(expr, m)]
    expected = sort_models(kept, order)
    query = RunQuery(filter=text, include_children=True, lifecycle=lifecycle)
    page = population.store.search_runs(dataclasses.replace(query, order_by=keys, page_size=RUNS))
    found = [run.run_id for run in page.runs]
    assert found == [m.info.run_id for m in expected], (text, keys, lifecycle)
    assert page.next_page_token is None
    assert population.store.count_runs(query) == len(expected)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), page_size=st.integers(1, 7))
def test_pages_under_any_order_make_the_one_big_page(
    population: Population, data: st.DataObject, page_size: int
) -> None:
    order = data.draw(orders, label="order")
    expr = data.draw(st.one_of(st.none(), filters(population)), label="filter")
    lifecycle = data.draw(st.sampled_from(RunLifecycle), label="lifecycle")
    text = None if expr is None else render(expr, random.Random(0))
    query = RunQuery(
        filter=text, order_by=order_text(order), include_children=True, lifecycle=lifecycle
    )
    whole = [r.run_id for r in population.store.search_runs(_replace(query, RUNS, None)).runs]
    paged = all_pages(population.store, query, page_size)
    assert paged == whole
    assert len(set(paged)) == len(paged)
    models = [
        m
        for m in population.models
        if in_lifecycle(m, lifecycle) and (expr is None or matches(expr, m))
    ]
    assert paged == [m.info.run_id for m in sort_models(models, order)]
