"""Asking questions of many runs from the SDK: get_runs with a filter and a sort, the warning
when only child runs match, get_metric_history, get_runs_dataframe (and without pandas)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from runyard import Experiment, Run, Workspace
from runyard.errors import (
    ChildRunsMatchWarning,
    InvalidQueryError,
    MetricNotFoundError,
    MissingExtraError,
)

LRS = ["0.1", "0.01", "0.001"]


@pytest.fixture
def sweep(experiment: Experiment) -> list[Run]:
    """Six runs: val_auc rising with the run's index (none for run 3), lr cycling, author
    alternating; each with one child logging 'inner'."""
    runs = []
    for i in range(6):
        run = experiment.start_logging(snapshot_directory=None, outputs=False)
        run.add_properties({"author": "ann" if i % 2 else "bob"})
        run.tag("lr", LRS[i % 3])
        if i != 3:
            for step in range(4):
                run.log("val_auc", i / 10 + step / 100)
        child = run.child_run()
        child.log("inner", float(i))
        child.complete()
        run.complete()
        runs.append(run)
    return runs


def _ids(runs: object) -> list[str]:
    return [r.id for r in runs]  # type: ignore[attr-defined]


def test_get_runs_filter_with_or_and_parentheses_and_sort(
    experiment: Experiment, sweep: list[Run]
) -> None:
    found = experiment.get_runs(
        filter="metrics.val_auc > 0.2 and (tags.lr = '0.01' or properties.author = 'ann')",
        order_by=["metrics.val_auc DESC"],
    )
    # i=5 (ann), i=4 (lr 0.01); i=3 has no val_auc; i=2 (0.001, bob) does not match.
    assert _ids(found) == [sweep[5].id, sweep[4].id]


def test_get_runs_azure_form_still_works(experiment: Experiment, sweep: list[Run]) -> None:
    assert _ids(experiment.get_runs(tags={"lr": "0.1"})) == [sweep[3].id, sweep[0].id]
    assert _ids(experiment.get_runs(properties={"author": "ann"}, tags="lr")) == [
        sweep[5].id,
        sweep[3].id,
        sweep[1].id,
    ]


def test_get_runs_sort_puts_missing_metric_last_both_ways(
    experiment: Experiment, sweep: list[Run]
) -> None:
    ascending = _ids(experiment.get_runs(order_by="metrics.val_auc.min"))
    descending = _ids(experiment.get_runs(order_by=["metrics.val_auc.min DESC"]))
    assert ascending == [sweep[i].id for i in (0, 1, 2, 4, 5, 3)]
    assert descending == [sweep[i].id for i in (5, 4, 2, 1, 0, 3)]


def test_get_runs_bad_filter_raises_at_the_call(experiment: Experiment) -> None:
    with pytest.raises(InvalidQueryError, match=r"filter: expected a value after '>' at column 18"):
        experiment.get_runs(filter="metrics.val_auc >")  # no iteration needed
    with pytest.raises(InvalidQueryError, match=r"order_by\[1\]"):
        experiment.get_runs(order_by=["metrics.acc", "tags.lr SIDEWAYS"])
    with pytest.raises(InvalidQueryError, match="order_by takes"):
        experiment.get_runs(order_by=42)  # type: ignore[arg-type]


def test_get_runs_says_when_only_children_match(experiment: Experiment, sweep: list[Run]) -> None:
    with pytest.warns(ChildRunsMatchWarning, match="No top-level runs match; 6 child runs do"):
        assert list(experiment.get_runs(filter="metrics.inner >= 0")) == []
    assert len(list(experiment.get_runs(filter="metrics.inner >= 0", include_children=True))) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing matches anywhere: no warning
        assert list(experiment.get_runs(filter="metrics.inner > 100")) == []


def test_get_children_filter_and_sort(experiment: Experiment) -> None:
    parent = experiment.start_logging(snapshot_directory=None, outputs=False)
    children = parent.create_children(count=4)
    for i, child in enumerate(children):
        child.log("loss", 1.0 / (i + 1))
        child.flush()
    found = parent.get_children(filter="metrics.loss < 0.6", order_by="metrics.loss")
    assert _ids(found) == [children[3].id, children[2].id, children[1].id]
    grandchild = children[0].child_run()
    grandchild.log("loss", 0.01)
    grandchild.flush()
    deep = parent.get_children(recursive=True, filter="metrics.loss < 0.3", order_by="metrics.loss")
    assert _ids(deep) == [grandchild.id, children[3].id]


def test_get_metric_history_has_steps_values_and_times(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None, outputs=False)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log_row("loss_by_step", step=3, value=1.0)  # another series, left out
    history = run.get_metric_history("loss")
    assert history.name == "loss" and history.run_id == run.id
    assert list(history.values) == [0.5, 0.25] and len(history) == 2 and history.last == 0.25
    assert list(history.steps) == [None, None]
    assert len(history.times) == 2 and history.times[0] <= history.times[1]
    with pytest.raises(MetricNotFoundError, match=r"has no metric 'los'; its metrics are 'loss'"):
        run.get_metric_history("los")


def test_get_runs_dataframe_columns_and_order(experiment: Experiment, sweep: list[Run]) -> None:
    frame = experiment.get_runs_dataframe(order_by="metrics.val_auc DESC")
    assert list(frame["run_id"]) == [sweep[i].id for i in (5, 4, 2, 1, 0, 3)]
    assert list(frame.columns[:12]) == [
        "run_id",
        "experiment_name",
        "number",
        "display_name",
        "status",
        "run_type",
        "parent_run_id",
        "created_time",
        "start_time",
        "end_time",
        "duration",
        "deleted_time",
    ]
    assert {"tags.lr", "properties.author"} <= set(frame.columns)
    metric_columns = [c for c in frame.columns if c.startswith("metrics.")]
    assert metric_columns == ["metrics.val_auc", "metrics.val_auc.min", "metrics.val_auc.max"]
    top = frame.iloc[0]
    assert top["metrics.val_auc"] == pytest.approx(0.53)
    assert top["metrics.val_auc.min"] == pytest.approx(0.5)
    assert top["tags.lr"] == LRS[5 % 3] and top["status"] == "Completed"
    assert math.isnan(frame.iloc[-1]["metrics.val_auc"])  # run 3 logged none
    assert isinstance(top["start_time"], pd.Timestamp) and str(top["start_time"].tz) == "UTC"
    assert top["duration"] >= 0
    children = experiment.get_runs_dataframe(filter="metrics.inner >= 3", include_children=True)
    assert sorted(children["metrics.inner"]) == [3.0, 4.0, 5.0]
    assert set(children["parent_run_id"]) == {sweep[3].id, sweep[4].id, sweep[5].id}


def test_get_runs_dataframe_empty_has_the_attribute_columns(experiment: Experiment) -> None:
    frame = experiment.get_runs_dataframe()
    assert len(frame) == 0 and "run_id" in frame.columns


def test_get_runs_dataframe_without_pandas_names_the_extra(tmp_path: Path) -> None:
    script = """
import sys
sys.modules["pandas"] = None  # as if it were not installed
from runyard import Experiment, Workspace
from runyard.errors import MissingExtraError
ws = Workspace.create(sys.argv[1])
try:
    Experiment(ws, "e").get_runs_dataframe()
except MissingExtraError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert "pip install 'runyard[pandas]'" in done.stdout
    assert issubclass(MissingExtraError, ImportError)


def test_queries_work_the_same_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    ws = Workspace(postgres_url, artifact_root=str(tmp_path / "artifacts"))
    try:
        exp = Experiment(ws, "pg")
        for value in (0.3, 0.9, 0.6):
            run = exp.start_logging(snapshot_directory=None, outputs=False)
            run.log("acc", value)
            run.tag("Model", "ResNet-50" if value > 0.5 else "vgg")
            run.complete()
        found = exp.get_runs(filter="tags.Model ILIKE 'resnet%'", order_by=["metrics.acc DESC"])
        assert [r.get_metrics()["acc"] for r in found] == [0.9, 0.6]
        frame = exp.get_runs_dataframe(order_by="metrics.acc")
        assert list(frame["metrics.acc"]) == [0.3, 0.6, 0.9]
    finally:
        ws.close()
