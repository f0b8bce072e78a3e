"""Tags (mutable) and properties (add-only) of a run, and their limits (reference §4)."""

from __future__ import annotations

import warnings

import pytest

from runyard import Experiment, Run
from runyard.errors import (
    InvalidArgumentError,
    LimitExceededError,
    PropertyConflictError,
    TagConversionWarning,
    UserError,
)
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_KEY_LENGTH,
    MAX_PROPERTIES_PER_RUN,
    MAX_TAGS_PER_RUN,
    MAX_VALUE_LENGTH,
)


@pytest.fixture
def run(experiment: Experiment) -> Run:
    return experiment.start_logging(snapshot_directory=None)


# -- tags ----------------------------------------------------------------------------------------


def test_tags_tag_sets_and_overwrites(run: Run) -> None:
    run.tag("quality", "great run")
    assert run.get_tags() == {"quality": "great run"}

    run.tag("quality", "fantastic run")
    assert run.get_tags() == {"quality": "fantastic run"}


def test_tags_tag_without_value_is_none(run: Run) -> None:
    run.tag("worth another look")

    assert run.get_tags() == {"worth another look": None}
    assert Run(run.experiment, run.id).get_tags() == {"worth another look": None}


def test_tags_non_string_values_are_stored_as_str(run: Run) -> None:
    run.tag("My Favorite Run")
    with pytest.warns(TagConversionWarning) as caught:
        run.tag("Competition Rank", 1)
        run.set_tags({"lr": 0.5, "ok": True})

    assert run.get_tags() == {
        "My Favorite Run": None,
        "Competition Rank": "1",
        "lr": "0.5",
        "ok": "True",
    }
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("Converting non-string tag to string: 'Competition Rank'")
    assert caught[0].filename == __file__  # the user's line, not runyard's


def test_tags_conversion_warning_shows_once_per_line_and_can_be_silenced(run: Run) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for lr in (0.1, 0.2, 0.3):  # a sweep: one line, several values
            run.set_tags({"lr": lr})
    assert len(caught) == 1
    assert caught[0].category is TagConversionWarning
    with warnings.catch_warnings(record=True) as silenced:
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=TagConversionWarning)
        run.set_tags({"epochs": 3})
    assert silenced == []
    assert run.get_tags()["lr"] == "0.3"


def test_tags_set_tags_merges(run: Run) -> None:
    run.set_tags({"a": "1", "b": "2"})
    run.set_tags({"b": "two", "c": None})

    assert run.get_tags() == {"a": "1", "b": "two", "c": None}


def test_tags_set_tags_with_a_string_raises(run: Run) -> None:
    with pytest.raises(InvalidArgumentError, match=r"run\.tag\(key, value\)"):
        run.set_tags("quality")  # type: ignore[arg-type]
    assert run.get_tags() == {}


def test_tags_remove_tags(run: Run) -> None:
    run.set_tags({"a": "1", "b": "2", "c": None})

    assert run.remove_tags(["a", "missing"]) is None  # type: ignore[func-returns-value]
    run.remove_tags("c")

    assert run.get_tags() == {"b": "2"}
    assert run.tags == {"b": "2"}


def test_tags_cached_attribute_versus_get_tags(run: Run) -> None:
    other = Run(run.experiment, run.id)
    other.tag("set-elsewhere", "yes")

    assert run.tags == {}  # the cache
    assert run.get_tags() == {"set-elsewhere": "yes"}  # re-read
    assert run.tags == {"set-elsewhere": "yes"}  # and the cache follows


def test_tags_returned_dict_is_a_copy(run: Run) -> None:
    run.tag("a", "1")

    run.tags["b"] = "2"
    run.get_tags()["c"] = "3"

    assert run.get_tags() == {"a": "1"}


# -- properties ----------------------------------------------------------------------------------


def test_properties_add_and_get(run: Run) -> None:
    run.add_properties({"author": "azureml-user", "dataset": "v2"})

    properties = run.get_properties()
    assert properties["author"] == "azureml-user"
    assert properties["dataset"] == "v2"
    assert run.properties["author"] == "azureml-user"


def test_properties_same_value_again_is_accepted(run: Run) -> None:
    run.add_properties({"author": "azureml-user"})

    run.add_properties({"author": "azureml-user", "extra": "x"})

    assert run.get_properties()["author"] == "azureml-user"
    assert run.get_properties()["extra"] == "x"


def test_properties_different_value_raises_naming_key_and_values(run: Run) -> None:
    run.add_properties({"author": "azureml-user"})

    with pytest.raises(PropertyConflictError) as info:
        run.add_properties({"author": "different-user"})

    message = str(info.value)
    assert "'author'" in message
    assert "'azureml-user'" in message
    assert "'different-user'" in message
    assert isinstance(info.value, UserError)
    assert info.value.http_status == 409
    assert run.get_properties()["author"] == "azureml-user"


def test_properties_conflict_writes_nothing_of_the_call(run: Run) -> None:
    run.add_properties({"author": "azureml-user"})
    before = run.get_properties()

    with pytest.raises(PropertyConflictError):
        run.add_properties({"fresh": "value", "author": "different-user", "later": "x"})

    assert run.get_properties() == before


@pytest.mark.parametrize("empty", [None, {}])
def test_properties_none_or_empty_does_nothing(run: Run, empty: dict[str, str] | None) -> None:
    before = run.get_properties()

    run.add_properties(empty)

    assert run.get_properties() == before


def test_properties_non_string_values_are_stored_as_str(run: Run) -> None:
    run.add_properties({"epochs": 10, "rate": 0.5})

    assert run.get_properties()["epochs"] == "10"
    assert run.get_properties()["rate"] == "0.5"
    run.add_properties({"epochs": "10"})  # the same value, as stored


def test_properties_not_a_dict_raises(run: Run) -> None:
    with pytest.raises(InvalidArgumentError, match="properties must be a dict"):
        run.add_properties([("author", "me")])  # type: ignore[arg-type]


def test_properties_cached_attribute_versus_get_properties(run: Run) -> None:
    other = Run(run.experiment, run.id)
    other.add_properties({"author": "someone"})

    assert "author" not in run.properties
    assert run.get_properties()["author"] == "someone"
    assert run.properties["author"] == "someone"


# -- limits --------------------------------------------------------------------------------------


def test_limits_tag_key_too_long_raises(run: Run) -> None:
    with pytest.raises(LimitExceededError, match=str(MAX_KEY_LENGTH)):
        run.tag("k" * (MAX_KEY_LENGTH + 1), "v")
    run.tag("k" * MAX_KEY_LENGTH, "v")
    assert len(run.get_tags()) == 1


def test_limits_tag_value_too_long_raises(run: Run) -> None:
    with pytest.raises(LimitExceededError, match="upload_file"):
        run.tag("notes", "x" * (MAX_VALUE_LENGTH + 1))
    assert run.get_tags() == {}


def test_limits_too_many_tags_raises_and_writes_nothing(run: Run) -> None:
    run.set_tags({f"t{i}": "v" for i in range(MAX_TAGS_PER_RUN)})

    with pytest.raises(LimitExceededError, match=str(MAX_TAGS_PER_RUN)):
        run.set_tags({"t0": "changed", "one-too-many": "v"})

    tags = run.get_tags()
    assert len(tags) == MAX_TAGS_PER_RUN
    assert tags["t0"] == "v"
    run.tag("t0", "overwriting is fine")  # no new key


def test_limits_tags_at_start_logging_are_checked(experiment: Experiment) -> None:
    with pytest.raises(LimitExceededError):
        experiment.start_logging(snapshot_directory=None, tags={"k" * (MAX_KEY_LENGTH + 1): "v"})
    assert list(experiment.get_runs()) == []


def test_limits_property_value_too_long_raises(run: Run) -> None:
    with pytest.raises(LimitExceededError):
        run.add_properties({"ok": "fine", "notes": "x" * (MAX_VALUE_LENGTH + 1)})
    assert "ok" not in run.get_properties()


def test_limits_too_many_properties_raises_and_writes_nothing(run: Run) -> None:
    room = MAX_PROPERTIES_PER_RUN - len(run.get_properties())
    run.add_properties({f"p{i}": "v" for i in range(room)})

    with pytest.raises(LimitExceededError, match=str(MAX_PROPERTIES_PER_RUN)):
        run.add_properties({"p0": "v", "one-too-many": "v"})

    assert len(run.get_properties()) == MAX_PROPERTIES_PER_RUN
    run.add_properties({"p0": "v"})  # an existing key with its value adds nothing


def test_limits_display_name_and_description(run: Run) -> None:
    with pytest.raises(LimitExceededError):
        run.display_name = "n" * (MAX_DISPLAY_NAME_LENGTH + 1)
    with pytest.raises(LimitExceededError):
        run.description = "d" * (MAX_DESCRIPTION_LENGTH + 1)

    run.display_name = "n" * MAX_DISPLAY_NAME_LENGTH
    assert Run(run.experiment, run.id).display_name == "n" * MAX_DISPLAY_NAME_LENGTH
    assert Run(run.experiment, run.id).description is None


def test_limits_empty_tag_key_raises(run: Run) -> None:
    with pytest.raises(UserError, match="non-empty string"):
        run.tag("", "v")
