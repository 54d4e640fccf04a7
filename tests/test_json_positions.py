"""Where a JSON path's value sits in the text: the line and column of shape errors."""

from __future__ import annotations

import json

import pytest

from tfcheck.loaders.json_positions import locate

PLAN = """{
  "format_version": "1.2",
  "resource_changes": [
    {"address": "aws_subnet.a", "change": {"actions": ["create"]}},
    {
      "address": "aws_subnet.b",
      "change": {"actions": "create"}
    }
  ]
}
"""


def _at(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1:]


def test_a_nested_value_is_found_by_keys_and_indexes() -> None:
    where = locate(PLAN, ["resource_changes", 1, "change", "actions"])
    assert where == (7, 29)
    assert _at(PLAN, *where).startswith('"create"}')


def test_an_array_element_and_the_document_itself() -> None:
    first = _at(PLAN, *locate(PLAN, ["resource_changes", 0]))
    assert first.startswith('{"address": "aws_subnet.a"')
    assert locate(PLAN, []) == (1, 1)
    assert locate("\n\n  [1]", []) == (3, 3)


def test_a_missing_part_points_at_the_deepest_part_that_exists() -> None:
    where = locate(PLAN, ["resource_changes", 1, "change", "after"])
    assert _at(PLAN, *where).startswith('{"actions": "create"}')
    assert _at(PLAN, *locate(PLAN, ["resource_changes", 7])).startswith("[")
    assert locate(PLAN, ["nothing", "here"]) == (1, 1)


def test_the_last_of_repeated_keys_counts_as_decoders_keep_it() -> None:
    text = '{"a": {"b": 1},\n "a": {"b": 2}}'
    assert json.loads(text)["a"]["b"] == 2
    assert locate(text, ["a", "b"]) == (2, 13)


def test_strings_with_brackets_quotes_and_escaped_keys_are_stepped_over() -> None:
    text = ('{"x": ["]", "}\\"{", {"[": "]"}], "k\\u0065y": {"v": [1, 2.5e3, true, null]},'
            '\n "z": 1}')
    assert _at(text, *locate(text, ["key", "v", 3])).startswith("null]")
    assert locate(text, ["z"]) == (2, 7)


def test_columns_count_characters_not_bytes() -> None:
    text = '{"naïve": "é", "b": 1}'
    assert locate(text, ["b"]) == (1, 21)
    assert text[20] == "1"


@pytest.mark.parametrize("wrong", [["resource_changes", "0"], [0]])
def test_a_key_for_an_array_or_an_index_for_an_object_stops_there(wrong: list[str | int]) -> None:
    line, column = locate(PLAN, wrong)
    assert (line, column) in {(1, 1), (3, 23)}


def test_many_values_with_brackets_inside_their_strings() -> None:
    items = ",\n".join(json.dumps({"address": f"r.{i}", "values": {"s": "[{" * 3}})
                       for i in range(20_000))
    text = '{"resources": [\n' + items + '\n], "last": true}'
    assert locate(text, ["resources", 19_999, "values"])[0] == 20_001
    assert locate(text, ["last"])[0] == 20_002
