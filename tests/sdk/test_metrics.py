"""Metric logging through the SDK: values, validation and the shapes of get_metrics (ref. §6)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from runyard import Experiment, Run
from runyard.errors import (
    ArtifactExistsError,
    InvalidNameError,
    MetricReprWarning,
    MetricValueError,
    UserError,
)


@pytest.fixture
def run(experiment: Experiment) -> Run:
    return experiment.start_logging(snapshot_directory=None)


def test_log_one_value_is_a_scalar(run: Run) -> None:
    run.log("a", 1)
    assert run.get_metrics() == {"a": 1}


def test_log_several_values_are_a_list_in_order(run: Run) -> None:
    run.log("a", 1)
    run.log("a", 2.5)
    run.log("a", -3)
    assert run.get_metrics() == {"a": [1, 2.5, -3]}


def test_log_keeps_ints_floats_bools_strings_and_none(run: Run) -> None:
    run.log("i", 7)
    run.log("f", 7.0)
    run.log("b", True)
    run.log("s", "Red")
    run.log("n", None)
    metrics = run.get_metrics()
    assert metrics == {"i": 7, "f": 7.0, "b": True, "s": "Red", "n": None}
    assert type(metrics["i"]) is int
    assert type(metrics["f"]) is float


def test_log_numpy_scalars_become_native(run: Run) -> None:
    run.log("x", np.float32(0.5))
    run.log("y", np.int64(3))
    metrics = run.get_metrics()
    assert metrics == {"x": 0.5, "y": 3}
    assert type(metrics["y"]) is int


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ({"k": 1}, "{'k': 1}"),
        ((1, 2), "(1, 2)"),
        ({3}, "{3}"),
        (np.arange(3), "array([0, 1, 2])"),
    ],
)
def test_log_other_values_are_stored_as_repr_with_a_warning(
    run: Run, value: object, stored: str
) -> None:
    with pytest.warns(MetricReprWarning, match="log_list.*log_row") as caught:
        run.log("d", value)
    assert caught[0].filename == __file__  # it points at the caller's run.log line
    assert stored in str(caught[0].message)
    assert run.get_metrics() == {"d": stored}


@pytest.mark.parametrize("value", [[1, 2], range(3), (i for i in range(2))])
def test_log_refuses_lists(run: Run, value: object) -> None:
    with pytest.raises(
        UserError, match=re.escape("run.log does not support list type. Use run.log_list instead")
    ):
        run.log("a", value)
    assert run.get_metrics() == {}


class _Tensor:
    """What a torch tensor shows ``run.log``: a shape, and ``item()`` for one element."""

    def __init__(self, *values: float) -> None:
        self.shape = (len(values),)
        self._values = values

    def item(self) -> float:
        if len(self._values) != 1:
            raise RuntimeError("a Tensor with 2 elements cannot be converted to Scalar")
        return self._values[0]

    def __repr__(self) -> str:
        return f"tensor({list(self._values)})"


class _EagerTensor:
    """What a TensorFlow eager tensor shows: a shape and ``numpy()``, no ``item()``."""

    def __init__(self, value: np.ndarray) -> None:
        self.shape = value.shape
        self._value = value

    def numpy(self) -> np.ndarray:
        return self._value


def test_log_tensor_like_values_holding_one_number_are_that_number(run: Run) -> None:
    run.log("torch", _Tensor(0.25))
    run.log("array", np.array([3]))
    run.log("matrix", np.array([[1.5]]))
    run.log("tf", _EagerTensor(np.array(2.5, dtype=np.float32)))
    run.log("tf", _EagerTensor(np.array([4])))
    metrics = run.get_metrics()
    assert metrics == {"torch": 0.25, "array": 3, "matrix": 1.5, "tf": [2.5, 4]}
    assert type(metrics["array"]) is int


def test_log_tensor_like_values_of_several_numbers_are_stored_as_repr(run: Run) -> None:
    with pytest.warns(MetricReprWarning):
        run.log("torch", _Tensor(1.0, 2.0))
    assert run.get_metrics() == {"torch": "tensor([1.0, 2.0])"}


def test_log_refuses_ints_beyond_64_bits(run: Run) -> None:
    with pytest.raises(MetricValueError, match="out of range"):
        run.log("big", 2**64)
    run.log("big", 2**63 - 1)
    assert run.get_metrics() == {"big": 2**63 - 1}


def test_log_refuses_a_string_in_a_numeric_series_at_the_call(run: Run) -> None:
    run.log("loss", 0.5)
    with pytest.raises(MetricValueError, match="'loss' holds number values"):
        run.log("loss", "oops")
    run.log("loss", 0.25)
    assert run.get_metrics() == {"loss": [0.5, 0.25]}


def test_log_none_joins_any_series(run: Run) -> None:
    run.log("loss", None)
    run.log("loss", 1.5)
    run.log("loss", None)
    with pytest.raises(MetricValueError):
        run.log("loss", "text")
    assert run.get_metrics() == {"loss": [None, 1.5, None]}


def test_log_refuses_bad_names(run: Run) -> None:
    with pytest.raises(InvalidNameError):
        run.log("", 1)
    with pytest.raises(InvalidNameError):
        run.log(3, 1)  # type: ignore[arg-type]


def test_log_step_must_be_an_integer(run: Run) -> None:
    with pytest.raises(MetricValueError, match="step"):
        run.log("a", 1.0, step=1.5)  # type: ignore[arg-type]
    run.log("a", 1.0, step=np.int64(4))  # type: ignore[arg-type]
    run.flush()
    data = run.experiment.workspace.store.read_metrics([run.id])
    assert list(data[0].steps) == [4]


def test_log_type_is_checked_across_processes_through_the_store(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    run.log("loss", 1.0)
    run.flush()
    again = Run(experiment, run.id)
    with pytest.raises(MetricValueError):
        again.log("loss", "text")
    with pytest.raises(MetricValueError, match="table"):
        again.log_row("loss", x=1)


def test_log_list_shapes(run: Run) -> None:
    run.log_list("three", [1, 2, 3])
    run.log_list("one", [7])
    run.log_list("mixed", [1, 2.0])
    run.log_list("gen", (i * i for i in range(4)))
    run.log_list("empty", [])
    assert run.get_metrics() == {
        "three": [1, 2, 3],
        "one": 7,
        "mixed": [1, 2.0],
        "gen": [0, 1, 4, 9],
    }


def test_log_list_refuses_nested_and_mixed_values(run: Run) -> None:
    with pytest.raises(MetricValueError, match="Value of type <class 'list'> is not supported"):
        run.log_list("a", [1, [2]])
    with pytest.raises(MetricValueError):
        run.log_list("a", [1, "x"])
    with pytest.raises(MetricValueError, match="iterable"):
        run.log_list("a", 5)  # type: ignore[arg-type]
    assert run.get_metrics() == {}


def test_log_and_log_list_merge_into_one_series(run: Run) -> None:
    run.log("acc", 0.1)
    run.log_list("acc", [0.2, 0.3])
    assert run.get_metrics() == {"acc": [0.1, 0.2, 0.3]}


def test_log_row_single_row_gives_scalars(run: Run) -> None:
    run.log_row("row", x=1, y=0.4)
    assert run.get_metrics() == {"row": {"x": 1, "y": 0.4}}


def test_log_row_twice_gives_columns(run: Run) -> None:
    run.log_row("row", x=1, y=0.4)
    run.log_row("row", x=2, y=0.5)
    assert run.get_metrics() == {"row": {"x": [1, 2], "y": [0.4, 0.5]}}


def test_log_row_refuses_lists(run: Run) -> None:
    with pytest.raises(MetricValueError, match="Rows cannot contain list values, column x"):
        run.log_row("row", x=[1, 2])


def test_log_table_shapes_and_merges_with_rows(run: Run) -> None:
    run.log_table("t", {"x": [1, 2, 3], "y": [0.6, 0.7, 0.89]})
    assert run.get_metrics("t") == {"t": {"x": [1, 2, 3], "y": [0.6, 0.7, 0.89]}}
    run.log_row("t", x=4, y=0.9)
    assert run.get_metrics("t") == {"t": {"x": [1, 2, 3, 4], "y": [0.6, 0.7, 0.89, 0.9]}}


def test_log_table_one_row_gives_scalars_and_numpy_cells_work(run: Run) -> None:
    run.log_table("t", {"angle": np.array([0.5]), "sine": [np.float64(0.25)]})
    assert run.get_metrics() == {"t": {"angle": 0.5, "sine": 0.25}}


def test_log_table_refuses_unequal_columns_and_logs_nothing_for_empty(run: Run) -> None:
    with pytest.raises(
        MetricValueError,
        match=re.escape(
            "Columns must have the same length, column x had length 2, however, "
            "column y had length 1."
        ),
    ):
        run.log_table("t", {"x": [1, 2], "y": [1]})
    run.log_table("t", {})
    assert run.get_metrics() == {}


def test_log_row_with_fifteen_columns_thousands_of_times(run: Run) -> None:
    for i in range(1000):
        run.log_row("wide", "Example row", **{f"c{c}": i * c for c in range(15)})
    table = run.get_metrics("wide")["wide"]
    assert len(table) == 15
    assert table["c3"][999] == 2997


def test_get_metrics_unknown_name_is_empty(run: Run) -> None:
    run.log("a", 1)
    assert run.get_metrics(name="nope") == {}
    assert run.get_metrics(name="a") == {"a": 1}


def test_get_metrics_recursive_lists_runs_that_have_metrics(run: Run) -> None:
    run.log("top", 1)
    first, second, quiet = run.create_children(count=3)
    first.log("c", 1)
    grandchild = second.child_run()
    grandchild.log("g", 2)
    result = run.get_metrics(recursive=True)
    assert result == {run.id: {"top": 1}, first.id: {"c": 1}, grandchild.id: {"g": 2}}
    assert quiet.id not in result


def test_log_image_from_path_and_plot(run: Run, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = tmp_path / "figure.png"
    plt.plot([1, 2, 3])
    plt.savefig(figure)
    run.log_image("from_path", path="figure.png")
    run.log_image("from_plot", plot=plt)
    plt.close("all")
    metrics = run.get_metrics()
    assert metrics["from_path"] == f"runyard://artifacts/{run.id}/figure.png"
    assert metrics["from_plot"].startswith(f"runyard://artifacts/{run.id}/from_plot_")
    names = run.get_file_names()
    assert "figure.png" in names
    assert any(name.startswith("from_plot_") and name.endswith(".png") for name in names)


def test_log_image_validation(run: Run, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(MetricValueError, match=r"Argument \[notes.txt\] is malformed"):
        run.log_image("img", path="notes.txt")
    with pytest.raises(UserError, match="path and plot were both provided"):
        run.log_image("img", path="notes.txt", plot=object())
    with pytest.raises(UserError, match="one of path and plot is required"):
        run.log_image("img")


def test_log_json_metrics_become_artifacts(run: Run) -> None:
    matrix = {"class_labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}
    run.log_confusion_matrix("cm", matrix)
    run.log_predictions("preds", json.dumps({"bin_averages": [0.1], "bin_counts": [1]}))
    metrics = run.get_metrics()
    assert metrics["cm"] == f"runyard://artifacts/{run.id}/cm"
    assert metrics["preds"] == f"runyard://artifacts/{run.id}/preds"
    stored = json.loads(run.experiment.workspace.store.open_artifact(run.id, "cm").read())
    assert stored["matrix"] == [[1, 0], [0, 1]]
    with pytest.raises(MetricValueError, match="Invalid JSON provided"):
        run.log_residuals("res", "{not json")
    with pytest.raises(ArtifactExistsError):
        run.log_confusion_matrix("cm", matrix)


def test_get_metrics_populate_gives_the_content_of_artifact_metrics(
    run: Run, tmp_path: Path
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"pixels"
    (tmp_path / "figure.png").write_bytes(png)
    run.log_image("img", path="figure.png")
    run.log_confusion_matrix("cm", {"class_labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]})
    run.log_accuracy_table("acc", '{"data": {"probability_tables": [[1]]}}')
    run.log("loss", 0.5)
    child = run.child_run()
    child.log_residuals("res", {"data": {"bin_edges": [0, 1], "bin_counts": [3]}})
    metrics = run.get_metrics(populate=True)
    assert metrics["img"] == png
    assert metrics["cm"] == {
        "schema_type": "confusion_matrix",
        "class_labels": ["a", "b"],
        "matrix": [[1, 0], [0, 1]],
    }
    assert metrics["acc"]["data"] == {"probability_tables": [[1]]}
    assert metrics["loss"] == 0.5
    assert run.get_metrics()["cm"] == f"runyard://artifacts/{run.id}/cm"  # not populated
    recursive = run.get_metrics(recursive=True, populate=True)
    assert recursive[child.id]["res"]["data"]["bin_counts"] == [3]
    assert recursive[run.id]["img"] == png


def test_metric_summaries_track_count_last_min_max(run: Run) -> None:
    for value in (3.0, -1.0, float("nan"), 7.5, 2.0):
        run.log("loss", value)
    run.flush()
    (series,) = run.experiment.workspace.store.list_metric_series([run.id])
    assert series.count == 5
    assert series.last_value == 2.0
    assert (series.min_value, series.max_value) == (-1.0, 7.5)
    values = run.get_metrics()["loss"]
    assert math.isnan(values[2])
