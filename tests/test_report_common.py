"""The helpers every format shares: JSON text and repository paths."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from tfcheck.report import common
from tfcheck.report.common import indented_json, repo_path

AWKWARD = ["", " ", "\x00\x01\x1b\x1f\x7f", "\u2028\u2029", "é☃😀", "a/b<>&'", "\\\"\n\r\t\b\f",
           1e16, 1e-07, 1e300, 5e-324, -0.0, 0.1, 2**63, -(2**70), True, False, None,
           {}, [], {"": {}}, [[]], [{}], {"k": [1, {"x": []}]}]


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_indented_json_is_what_json_dumps_with_indent_writes(value: object) -> None:
    document = {"a": value, "b": [value, {"c": value}], f"key {value}": 1}
    assert indented_json(document) == json.dumps(document, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "\ud800"], ids=repr)
def test_what_msgspec_refuses_is_written_as_json_dumps_writes_it(value: object) -> None:
    document = {"a": [value]}
    assert indented_json(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_indented_json_passes_unknown_objects_to_default() -> None:
    document = {"path": Path("x/y"), "nested": [Path("z")]}
    assert indented_json(document, default=str) == json.dumps(
        document, indent=2, ensure_ascii=False, default=str)


def test_indented_json_does_not_run_the_pure_python_encoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`json.dumps(indent=2)` encodes in Python (`_make_iterencode`): 3-25 ms per report."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pure-Python JSON encoder ran")

    monkeypatch.setattr(json.encoder, "_make_iterencode", refuse)
    assert indented_json({"findings": [{"rule_id": "PC101", "line": 3}]}) == (
        '{\n  "findings": [\n    {\n      "rule_id": "PC101",\n      "line": 3\n    }\n  ]\n}')


def test_repo_path_works_each_path_out_once_per_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thousands of findings name one input: its path is computed once, not per finding."""
    common._repo_path.cache_clear()
    calls = []
    relpath = os.path.relpath

    def counting(path: str, start: str | None = None) -> str:
        calls.append(path)
        return relpath(path, start)

    monkeypatch.setattr(os.path, "relpath", counting)
    monkeypatch.chdir(tmp_path)
    assert {repo_path("plans/plan.json", None) for _ in range(100)} == {"plans/plan.json"}
    assert len(calls) == 1
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # a relative path means another file now
    assert repo_path("plans/plan.json", str(tmp_path)) == "sub/plans/plan.json"
    assert repo_path("plans/plan.json", None) == "plans/plan.json"
    assert repo_path(str(tmp_path / "x.tf"), None) == "../x.tf"
