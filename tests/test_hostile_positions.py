"""Every bound a hostile input reaches is an input error at its line and column (issue 9).

One case per kind of bound: the step budget, nesting (parse, evaluation, JSON, plans),
the operator count, file size, and the result-size estimates of functions, templates
and collections. Each names the exact place: the innermost expression that reached it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_tfcheck
from tfcheck.engine import scan
from tfcheck.hcl.parse import MAX_FILE_BYTES, MAX_OPERATORS


def resource(expression: str) -> str:
    """`expression` on line 4, starting at column 9."""
    return ('resource "aws_vpc" "x" {\n  cidr_block = "10.0.0.0/16"\n  tags = {\n'
            f"    v = {expression}\n  }}\n}}\n")


CASES: dict[str, tuple[str, int, int, str]] = {
    # name: (main.tf, line, column, message part)
    "step budget, at the innermost expression": (
        resource("[for x in range(9000) : [for y in range(9000) : x]]"), 4, 57,
        "evaluation budget of"),
    "range size": (resource("concat([], range(20000))"), 4, 20, "more than 10000 elements"),
    "join result estimated before it is built": (
        'locals {\n  k = "' + "k" * 1000 + '"\n}\n'
        + resource('upper(join("", [for i in range(3000) : local.k]))'), 7, 15,
        "longer than"),
    "format width": (resource('format("%999999999d", 1)'), 4, 9, "format width too large"),
    "collection size": (resource("setproduct(range(1000), range(1000))"), 4, 9,
                        "larger than"),
    "template result": (
        'locals {\n  k = "' + "k" * 9000 + '"\n  l = [for i in range(60) : local.k]\n}\n'
        + resource('"a-${join("", local.l)}-${join("", local.l)}"'), 8, 9, "longer than"),
    "heredoc interpolation, where it is written": (
        'resource "aws_vpc" "x" {\n  tags = {\n    v = <<-EOT\n      x ${  range(20000)  } y\n'
        "    EOT\n  }\n}\n", 4, 13, "more than 10000 elements"),
    "evaluation nesting through references": (
        "locals {\n" + "".join(f"  a{i} = [local.a{i + 1}]\n" for i in range(400))
        + "  a400 = 1\n}\n" + resource("local.a0"), 151, 10, "nested too deeply"),
    "parse nesting": (resource("[" * 250 + "1" + "]" * 250), 3, 3, "nested too deeply"),
    "operator count": (
        "locals {\n  n = " + "+".join(["1"] * (MAX_OPERATORS + 2)) + "\n}\n", 2,
        6 + 2 * MAX_OPERATORS + 2, f"more than {MAX_OPERATORS} operators"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bound_errors_name_line_and_column(tmp_path: Path, name: str) -> None:
    text, line, column, message = CASES[name]
    (tmp_path / "main.tf").write_text(text, encoding="utf-8")
    errors = scan([tmp_path]).input_errors
    assert errors, name
    first = errors[0]
    assert (Path(first.path).name, first.line, first.column) == ("main.tf", line, column), (
        name, first)
    assert message in first.message, first.message


def test_file_over_the_size_limit_is_refused_where_it_crosses_it(tmp_path: Path) -> None:
    row = "# 3456789\n"  # ten bytes a line
    (tmp_path / "main.tf").write_text(row * (MAX_FILE_BYTES // 10 + 5), encoding="utf-8")
    [error] = scan([tmp_path]).input_errors
    assert "larger than" in error.message
    assert (error.line, error.column) == (MAX_FILE_BYTES // 10 + 1, MAX_FILE_BYTES % 10 + 1)


def test_json_nesting_names_the_deepest_bracket(tmp_path: Path) -> None:
    (tmp_path / "main.tf.json").write_text(
        '{\n  "locals": {"a": ' + "[" * 5000 + "]" * 5000 + "}\n}\n", encoding="utf-8")
    [error] = scan([tmp_path]).input_errors
    assert "nested too deeply" in error.message and (error.line, error.column) == (2, 5018)


def test_plan_nesting_names_the_deepest_bracket(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": "1.2",\n "planned_values": '
                    + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    [error] = scan([plan]).input_errors
    assert "nested too deeply" in error.message and (error.line, error.column) == (2, 100_019)


@pytest.mark.parametrize("fmt", ["sarif", "json", "pretty"])
def test_bound_error_goes_to_stderr_with_its_position(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "main.tf").write_text(resource("concat([], range(20000))"), encoding="utf-8")
    result = run_tfcheck("scan", str(tmp_path), "-f", fmt, "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"tfcheck: error: {tmp_path / 'main.tf'}:4:20: range(): more than 10000 elements" \
        in result.stderr or "tfcheck: error: main.tf:4:20: range(): more than 10000 elements" \
        in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if fmt == "json":
        errors = json.loads((tmp_path / "out").read_text())["errors"]
        assert errors[0]["line"] == 4 and errors[0]["column"] == 20
