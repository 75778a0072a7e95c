"""Tests of the workflow registry: kinds, steps, lookups."""

import pytest

from retail_connector_base_lib import workflow as registry


@pytest.fixture
def kind():
    declared = registry.register_kind("unit_kind", "Unit", "res.partner", [
        ("one", "One", "_one"),
        registry.StepDefinition("two", "Two", "_two", waits=True),
    ])
    yield declared
    registry._KINDS.pop("unit_kind", None)


def test_a_kind_keeps_its_steps_in_order(kind):
    assert [s.code for s in kind.steps] == ["one", "two"]
    assert kind.step("two").waits and not kind.step("one").waits
    assert registry.kind("unit_kind") is kind
    assert ("unit_kind", "Unit") in registry.kinds()


def test_unknown_kind_and_step_name_what_exists(kind):
    with pytest.raises(KeyError, match="unit_kind"):
        registry.kind("nope")
    with pytest.raises(KeyError, match="one, two"):
        kind.step("three")


def test_a_kind_needs_distinct_steps():
    with pytest.raises(ValueError, match="declares step"):
        registry.register_kind("bad_kind", "Bad", "res.partner", [("a", "A", "_a"), ("a", "A again", "_b")])
    with pytest.raises(ValueError, match="no step"):
        registry.register_kind("empty_kind", "Empty", "res.partner", [])
    assert "bad_kind" not in dict(registry.kinds())


def test_outcomes_carry_their_data():
    assert registry.Done({"id": 3}, "made").result == {"id": 3}
    assert registry.Wait("parcel").reason == "parcel"
    assert registry.Skip().reason == ""
