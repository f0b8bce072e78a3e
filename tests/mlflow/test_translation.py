"""MLflow's filters, sort keys and values in runyard's terms (no server: the pure functions of
``runyard.server.mlflow.search`` and ``convert``)."""

from __future__ import annotations

import math

import pytest

from runyard.errors import InvalidArgumentError, InvalidQueryError
from runyard.query import And, Comparison, Or, parse_filter
from runyard.server.mlflow.convert import double, millis, number, seconds
from runyard.server.mlflow.search import (
    experiment_filter,
    offset_token,
    run_filter,
    run_order_by,
    token_offset,
    view_type,
)


@pytest.mark.parametrize(
    ("mlflow", "runyard"),
    [
        ("metrics.acc > 0.5", "metrics.acc > 0.5"),
        ("params.lr = '0.1'", "properties.lr = '0.1'"),
        ("tags.mlflow.runName = 'a'", "display_name = 'a'"),
        ("tags.`mlflow.user` = 'ann'", "submitted_by = 'ann'"),
        ("tags.mlflow.parentRunId = 'p'", "parent_run_id = 'p'"),
        ("tags.mlflow.note.content LIKE '%x%'", "description LIKE '%x%'"),
        ("tags.mlflow.source.name = 's'", "tags.mlflow.source.name = 's'"),
        ("attributes.user_id = 'ann'", "submitted_by = 'ann'"),
        ("metrics.loss.min < 1", "metrics.`loss.min` < 1"),
        (
            "attributes.status = 'FINISHED'",
            "status IN ('Completed')",
        ),
        (
            "attributes.status != 'SCHEDULED'",
            "status NOT IN ('NotStarted', 'Queued', 'Unapproved', 'Preparing', 'Provisioning', "
            "'Starting')",
        ),
        ("attributes.start_time < 1700000000123", "start_time < 1700000000.123"),
        ("attributes.start_time <= 1700000000123", "start_time < 1700000000.124"),
        ("attributes.end_time > 1700000000123", "end_time >= 1700000000.124"),
        ("attributes.created >= 1700000000123", "created_time >= 1700000000.123"),
        (
            "attributes.start_time = 1700000000123",
            "(start_time >= 1700000000.123) AND (start_time < 1700000000.124)",
        ),
    ],
)
def test_run_filters_are_rewritten(mlflow: str, runyard: str) -> None:
    rewritten = run_filter(mlflow)
    assert rewritten is not None
    assert parse_filter(rewritten) == parse_filter(runyard)


def test_a_status_stands_for_every_runyard_status_it_covers() -> None:
    rewritten = run_filter("attributes.status = 'RUNNING'")
    assert rewritten is not None
    for status in ("Running", "Finalizing", "CancelRequested", "NotResponding"):
        assert f"'{status}'" in rewritten


def test_a_time_shown_in_milliseconds_selects_its_own_run() -> None:
    # A run started at t; MLflow shows floor(t * 1000). Filters on that number select it as
    # MLflow's own server would.
    t = 1700000000.1239
    shown = millis(t)
    assert shown == 1700000000123

    def matches(op: str) -> bool:
        expr = parse_filter(run_filter(f"attributes.start_time {op} {shown}"))

        def test(e: object) -> bool:
            if isinstance(e, And):
                return all(test(x) for x in e.terms)
            if isinstance(e, Or):
                return any(test(x) for x in e.terms)
            assert isinstance(e, Comparison)
            bound = float(e.value)
            return {"<": t < bound, ">=": t >= bound}[str(e.op)]

        return test(expr)

    assert [matches(op) for op in ("<", "<=", "=", ">=", ">", "!=")] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]


def test_order_by_keys() -> None:
    assert run_order_by(["metrics.acc DESC", "attributes.start_time", "tags.mlflow.runName"]) == [
        "metrics.acc DESC",
        "start_time ASC",
        "display_name ASC",
    ]
    assert run_order_by(None) == []
    with pytest.raises(InvalidQueryError):
        run_order_by(["metrics.acc SIDEWAYS"])


def test_bad_filters_name_their_column() -> None:
    with pytest.raises(InvalidQueryError) as bad:
        run_filter("metrics.acc >")
    assert "column" in str(bad.value)
    assert run_filter(None) is None and run_filter("  ") is None


def test_experiment_filters() -> None:
    class Exp:
        def __init__(self, name: str, tags: dict[str, str | None], created: float) -> None:
            self.name, self.tags, self.created_time = name, tags, created
            self.experiment_id, self.archived_time = name, None

    a = Exp("vision-a", {"team": "cv"}, 1.0)
    b = Exp("Audio", {}, 2.0)
    cases = {
        "name = 'Audio'": [b],
        "name LIKE 'vision%'": [a],
        "name ILIKE 'audio'": [b],
        "name != 'Audio'": [a],
        "tags.team = 'cv'": [a],
        "tags.team != 'cv'": [],  # a missing tag matches no comparison, as in MLflow
        "creation_time > 1500": [b],
        "attributes.creation_time <= 1000 AND name LIKE '%-a'": [a],
    }
    for text, expected in cases.items():
        test = experiment_filter(text)
        assert [e for e in (a, b) if test(e)] == expected, text  # type: ignore[arg-type]
    for bad in ("name > 'a'", "creation_time = 'x'", "owner = 'a'", "name = 'a' OR name = 'b'"):
        with pytest.raises(InvalidQueryError):
            experiment_filter(bad)


def test_values_and_tokens() -> None:
    assert number("NaN", "value") != number("NaN", "value")  # NaN
    assert number("-Infinity", "value") == -math.inf and number(3, "value") == 3.0
    for bad in (None, True, "x", [1]):
        with pytest.raises(InvalidArgumentError):
            number(bad, "value")
    assert [double(math.nan), double(math.inf), double(-math.inf), double(1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    assert seconds("1700000000123", "t") == pytest.approx(1700000000.123)
    with pytest.raises(InvalidArgumentError):
        seconds("soon", "t")
    assert token_offset(offset_token(40)) == 40 and token_offset(None) == 0
    with pytest.raises(InvalidArgumentError):
        token_offset("not-a-token")
    assert view_type(None) == "ACTIVE_ONLY" and view_type(3) == "ALL"
    assert view_type("deleted_only") == "DELETED_ONLY"
    with pytest.raises(InvalidArgumentError):
        view_type("SOME")
