"""Child runs: child_run, create_children and get_children (reference §1 Children, §5, §9)."""

from __future__ import annotations

import types
import uuid
from pathlib import Path

import pytest

from runyard import Experiment, Run
from runyard.entities import NewRun
from runyard.errors import InvalidArgumentError, LimitExceededError, UserError

BATCH_TAG = "azureml.batch_child_number"


def _parent(experiment: Experiment) -> Run:
    return experiment.start_logging(snapshot_directory=None)


def _ids(runs: object) -> list[str]:
    assert isinstance(runs, types.GeneratorType)
    return [run.id for run in runs]


# -- child_run -----------------------------------------------------------------------------------


def test_children_seed_loop_of_five_with_blocks(experiment: Experiment) -> None:
    created = []
    with experiment.start_logging() as parent_run:
        for c, _count in enumerate(range(5)):
            with parent_run.child_run() as child:
                child.log(name="Hello from child run", value=c)
                created.append(child)
        assert all(child.get_status() == "Completed" for child in created)
        children = list(parent_run.get_children())

    assert len(children) == 5
    assert [c.id for c in children] == [c.id for c in reversed(created)]
    assert all(isinstance(c, Run) for c in children)
    assert [c.get_status() for c in children] == ["Completed"] * 5
    assert parent_run.get_status() == "Completed"


def test_children_child_run_is_running_with_parent_target_and_root(
    experiment: Experiment,
) -> None:
    parent = _parent(experiment)
    child = parent.child_run(name="step-1")
    grandchild = child.child_run()

    assert child.get_status() == "Running"
    assert child.display_name == "step-1"
    assert child.parent is parent
    assert grandchild.parent is child
    details = child.get_details()
    assert details["target"] == "local"
    assert details["submittedBy"] == parent.get_details()["submittedBy"]
    store = experiment.workspace.store
    assert store.get_run(child.id).root_run_id == parent.id
    assert store.get_run(grandchild.id).root_run_id == parent.id
    assert store.get_run(grandchild.id).parent_run_id == child.id
    assert store.get_run(parent.id).root_run_id is None


def test_children_child_run_explicit_run_id(experiment: Experiment) -> None:
    parent = _parent(experiment)

    child = parent.child_run(run_id="parent-step-1")

    assert child.id == "parent-step-1"
    assert Run(experiment, "parent-step-1").parent == parent


def test_children_child_run_tracks_no_outputs_unless_given(
    experiment: Experiment, tmp_path: Path
) -> None:
    parent = experiment.start_logging(snapshot_directory=None)
    (tmp_path / "outputs" / "parent-file.txt").write_text("parent")
    with parent.child_run() as child:
        pass
    with parent.child_run(outputs="child-outputs") as tracked:
        (tmp_path / "child-outputs" / "model.txt").write_text("child")

    assert child.get_file_names() == []
    assert tracked.get_file_names() == ["outputs/model.txt"]


def test_children_not_completed_with_the_parent(experiment: Experiment) -> None:
    parent = _parent(experiment)
    one = parent.child_run()
    batch = parent.create_children(count=2)

    parent.complete()

    assert parent.get_status() == "Completed"
    for child in [one, *batch]:
        assert Run(experiment, child.id).get_status() == "Running"


@pytest.mark.parametrize("finish", ["fail", "cancel"])
def test_children_not_touched_when_the_parent_fails_or_is_canceled(
    experiment: Experiment, finish: str
) -> None:
    parent = _parent(experiment)
    child = parent.child_run()

    getattr(parent, finish)()

    assert Run(experiment, child.id).get_status() == "Running"
    assert "error" not in child.get_details()


def test_children_parent_not_touched_when_a_child_fails(experiment: Experiment) -> None:
    parent = _parent(experiment)
    with pytest.raises(RuntimeError), parent.child_run() as child:
        raise RuntimeError("child broke")

    assert child.get_status() == "Failed"
    assert parent.get_status() == "Running"


# -- create_children -----------------------------------------------------------------------------


def test_children_create_children_count_makes_one_tagged_batch(experiment: Experiment) -> None:
    parent = _parent(experiment)

    children = parent.create_children(count=5)

    assert isinstance(children, list)
    assert len(children) == 5
    assert [c.get_tags() for c in children] == [{BATCH_TAG: str(i)} for i in range(5)]
    assert [c.get_status() for c in children] == ["Running"] * 5
    assert all(c.parent is parent for c in children)
    infos = [experiment.workspace.store.get_run(c.id) for c in children]
    assert len({info.created_time for info in infos}) == 1  # one transaction
    assert [info.number for info in infos] == list(range(2, 7))
    assert _ids(parent.get_children()) == [c.id for c in reversed(children)]


def test_children_create_children_tag_key_and_values(experiment: Experiment) -> None:
    parent = _parent(experiment)

    children = parent.create_children(tag_key="learning_rate", tag_values=[0.1, 0.01, "auto"])

    assert [c.get_tags() for c in children] == [
        {"learning_rate": "0.1"},
        {"learning_rate": "0.01"},
        {"learning_rate": "auto"},
    ]
    assert [c.get_status() for c in children] == ["Running"] * 3


def test_children_create_children_accepts_a_generator_of_values(experiment: Experiment) -> None:
    parent = _parent(experiment)

    children = parent.create_children(tag_key="fold", tag_values=(i for i in range(3)))

    assert [c.tags for c in children] == [{"fold": "0"}, {"fold": "1"}, {"fold": "2"}]


def test_children_create_children_up_to_100(experiment: Experiment) -> None:
    parent = _parent(experiment)

    assert len(parent.create_children(count=100)) == 100
    assert parent.create_children(count=0) == []
    assert len(list(parent.get_children())) == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Either count or tag_key and tag_values must be set"),
        (
            {"count": 2, "tag_key": "k", "tag_values": ["a"]},
            "count can not be set when tag_key and tag_values are set",
        ),
        ({"count": 2, "tag_key": "k"}, "count can not be set when tag_key and tag_values are set"),
        (
            {"count": 2, "tag_values": ["a"]},
            "count can not be set when tag_key and tag_values are set",
        ),
        ({"tag_key": "k"}, "tag_values must be set when tag_key is set"),
        ({"tag_values": ["a", "b"]}, "tag_key must be set when tag_values is set"),
    ],
)
def test_children_create_children_argument_errors(
    experiment: Experiment, kwargs: dict[str, object], message: str
) -> None:
    parent = _parent(experiment)

    with pytest.raises(UserError) as info:
        parent.create_children(**kwargs)  # type: ignore[arg-type]

    assert str(info.value) == message
    assert list(parent.get_children()) == []


@pytest.mark.parametrize(
    "kwargs", [{"count": 101}, {"tag_key": "k", "tag_values": [str(i) for i in range(101)]}]
)
def test_children_create_children_more_than_100_raises(
    experiment: Experiment, kwargs: dict[str, object]
) -> None:
    parent = _parent(experiment)

    with pytest.raises(LimitExceededError) as info:
        parent.create_children(**kwargs)  # type: ignore[arg-type]

    assert str(info.value) == "create_children can not create more than 100 runs"
    assert isinstance(info.value, UserError)
    assert list(parent.get_children()) == []


@pytest.mark.parametrize("count", [-1, 2.5, "3", True])
def test_children_create_children_bad_count_raises(experiment: Experiment, count: object) -> None:
    parent = _parent(experiment)

    with pytest.raises(InvalidArgumentError, match="count must be a non-negative integer"):
        parent.create_children(count=count)  # type: ignore[arg-type]


# -- get_children --------------------------------------------------------------------------------


def test_children_get_children_is_lazy_and_direct_only(experiment: Experiment) -> None:
    parent = _parent(experiment)
    child = parent.child_run()
    child.child_run()

    children = parent.get_children()
    assert isinstance(children, types.GeneratorType)
    late = parent.child_run()

    assert [c.id for c in children] == [late.id, child.id]


def test_children_get_children_filters(experiment: Experiment) -> None:
    parent = _parent(experiment)
    first, second, third = parent.create_children(tag_key="kind", tag_values=["a", "b", None])
    first.add_properties({"author": "jane"})
    first.tag("rank", 1)
    second.complete()
    scripted = NewRun(
        run_id=str(uuid.uuid4()),
        experiment_name=experiment.name,
        parent_run_id=parent.id,
        run_type="azureml.scriptrun",
    )
    experiment.workspace.store.create_runs([scripted])
    _parent(experiment).create_children(tag_key="kind", tag_values=["a"])  # another family

    assert _ids(parent.get_children(tags="kind")) == [third.id, second.id, first.id]
    assert _ids(parent.get_children(tags={"kind": "a"})) == [first.id]
    assert _ids(parent.get_children(tags={"kind": None})) == [third.id]
    assert _ids(parent.get_children(tags={"rank": 1})) == [first.id]
    assert _ids(parent.get_children(tags={"kind": "a", "rank": "1"})) == [first.id]
    assert _ids(parent.get_children(tags={"kind": "b", "rank": "1"})) == []
    assert _ids(parent.get_children(properties={"author": "jane"})) == [first.id]
    assert _ids(parent.get_children(properties="author")) == [first.id]
    assert _ids(parent.get_children(status="Completed")) == [second.id]
    assert _ids(parent.get_children(status="Running", tags="kind")) == [third.id, first.id]
    assert _ids(parent.get_children(type="azureml.scriptrun")) == [scripted.run_id]


def test_children_get_children_unknown_filter_type_raises(experiment: Experiment) -> None:
    parent = _parent(experiment)

    with pytest.raises(InvalidArgumentError, match="Unknown filter type for run tags"):
        list(parent.get_children(tags=["kind"]))  # type: ignore[arg-type]


def _tree(experiment: Experiment) -> dict[str, Run]:
    """root -> a, b; a -> a1, a2; a1 -> a1x; b -> b1 (created in this order)."""
    root = _parent(experiment)
    a = root.child_run(name="a")
    b = root.child_run(name="b")
    a1 = a.child_run(name="a1")
    a2 = a.child_run(name="a2")
    a1x = a1.child_run(name="a1x")
    b1 = b.child_run(name="b1")
    for run in (a1, a1x, b1):
        run.tag("leaf-ish")
    a1.complete()
    return {"root": root, "a": a, "b": b, "a1": a1, "a2": a2, "a1x": a1x, "b1": b1}


def _names(runs: object) -> list[str | None]:
    assert isinstance(runs, types.GeneratorType)
    return [run.display_name for run in runs]


def test_children_get_children_recursive_from_the_root(experiment: Experiment) -> None:
    tree = _tree(experiment)

    assert _names(tree["root"].get_children()) == ["b", "a"]
    assert _names(tree["root"].get_children(recursive=True)) == [
        "b1",
        "a1x",
        "a2",
        "a1",
        "b",
        "a",
    ]
    assert _names(tree["root"].get_children(recursive=True, tags="leaf-ish")) == [
        "b1",
        "a1x",
        "a1",
    ]
    assert _names(tree["root"].get_children(recursive=True, status="Completed")) == ["a1"]


def test_children_get_children_recursive_from_a_middle_run(experiment: Experiment) -> None:
    tree = _tree(experiment)

    assert _names(tree["a"].get_children(recursive=True)) == ["a1x", "a2", "a1"]
    assert _names(tree["a"].get_children(recursive=True, tags="leaf-ish")) == ["a1x", "a1"]
    assert _names(tree["a"].get_children(recursive=True, status="Running")) == ["a1x", "a2"]
    assert _names(tree["a1"].get_children(recursive=True)) == ["a1x"]
    assert _names(tree["b"].get_children(recursive=True)) == ["b1"]
    assert _names(tree["a1x"].get_children(recursive=True)) == []


def test_children_get_children_recursive_from_a_reattached_middle_run(
    experiment: Experiment,
) -> None:
    tree = _tree(experiment)

    middle = Run.get(experiment.workspace, tree["a"].id)

    assert _names(middle.get_children(recursive=True)) == ["a1x", "a2", "a1"]
