"""Expressions and terraform functions, evaluated without any configuration around them."""

from __future__ import annotations

import base64
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from tfcheck.hcl import functions_text
from tfcheck.hcl.eval import Evaluator, Scope
from tfcheck.hcl.expressions import Expressions
from tfcheck.hcl.modules import ModuleDef
from tfcheck.hcl.parse import parse_expression
from tfcheck.model import Unknown

from .work_counting import (
    allocation_peak,
    counted_calls,
    counted_calls_of,
    python_regex_refused,
)


def ev(text: str, root: Path | None = None, **names: Any) -> Any:
    directory = root or Path(".")
    evaluator = Evaluator(ModuleDef(directory, "", "."), directory, {directory.resolve()}, {}, [])
    value, _ = evaluator.evaluate(parse_expression(text), Scope(evaluator.root, names=names))
    return value


UNKNOWN = Unknown("aws_vpc.main.id is known only after apply", ("aws_vpc.main",))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3 - 4", 3),
        ("10 / 4", 2.5),
        ("10 / 2", 5),
        ("-7 % 3", -1),
        ('"1" + 1', 2),
        ("1 == 1.0", True),
        ('1 == "1"', False),
        ("[1, 2] == [1, 2]", True),
        ("!true || 2 > 1 && 1 >= 1", True),
        ('true ? "a" : "b"', "a"),
        ('"x-${1 + 1}-${true}"', "x-2-true"),
        ('"${[1]}"', [1]),
        ('[for i, v in ["a", "b"] : "${i}${v}"]', ["0a", "1b"]),
        ("{for k, v in {b = 2, a = 1} : v => k}", {"1": "a", "2": "b"}),
        ('{for s in ["a", "bb", "cc"] : length(s) => s...}', {"1": ["a"], "2": ["bb", "cc"]}),
        ("[for v in [1, 2, 3, 4] : v if v % 2 == 0]", [2, 4]),
        ("[{a = 1}, {a = 2}][*].a", [1, 2]),
        ("[{a = {b = 1}}][*].a.b", [1]),
        ("{a = 1}[*]", [{"a": 1}]),
        ("null[*]", []),
        ("[[1, 2], [3]].*[0]", [1, 2]),  # the legacy splat ends before an index
        ('"%{ for x in range(2) }${x},%{ endfor }"', "0,1,"),
        ('"%{ if 1 > 2 }yes%{ else }no%{ endif }"', "no"),
    ],
)
def test_expressions(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('concat(["a"], ["b", "c"])', ["a", "b", "c"]),
        ("merge({a = 1, b = 1}, null, {b = 2})", {"a": 1, "b": 2}),
        ('lookup({a = 1}, "b", 0)', 0),
        ('lookup({a = 1}, "a")', 1),
        ('element(["a", "b"], 3)', "b"),
        ('length("abc") + length([1]) + length({a = 1})', 5),
        ("keys({b = 1, a = 2})", ["a", "b"]),
        ("values({b = 1, a = 2})", [2, 1]),
        ('contains(["a"], "a")', True),
        ('contains(["a"], "b")', False),
        ('distinct(["a", "b", "a"])', ["a", "b"]),
        ("flatten([[1, [2]], 3])", [1, 2, 3]),
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ('toset(["a", 1])', ["1", "a"]),
        ("tolist([1])", [1]),
        ("tomap({a = 1})", {"a": 1}),
        ("tostring(1.5)", "1.5"),
        ('tonumber("42")', 42),
        ('tobool("true")', True),
        ('format("%s-%03d-%.2f-%t-%q-%v", "a", 7, 1.5, true, "q", 2)', 'a-007-1.50-true-"q"-2'),
        ('format("%-4s|%5s|%x|%%", "ab", "cd", 255)', "ab  |   cd|ff|%"),
        ('formatlist("%s=%s", ["a", "b"], "x")', ["a=x", "b=x"]),
        ('join(",", ["a", "b"], ["c"])', "a,b,c"),
        ('split(",", "a,b")', ["a", "b"]),
        ('replace("a-b-c", "-", "_")', "a_b_c"),
        ('replace("ecr.api", "/^(\\\\w+)\\\\.(\\\\w+)$/", "$2-$1")', "api-ecr"),
        ('lower("AbC")', "abc"),
        ('upper("abc")', "ABC"),
        ('trimspace("  x \\n")', "x"),
        ('trim("??x??", "?")', "x"),
        ('trimprefix("com.amazonaws.s3", "com.amazonaws.")', "s3"),
        ('trimsuffix("a.tf", ".tf")', "a"),
        ('substr("hello", 1, 3)', "ell"),
        ('substr("hello", -3, -1)', "llo"),
        ('coalesce("", null, "x")', "x"),
        ("coalescelist([], [1])", [1]),
        ('compact(["a", "", null, "b"])', ["a", "b"]),
        ('try(local_missing.x, {a = 1}.b, "fallback")', "fallback"),
        ("can({a = 1}.b)", False),
        ("can({a = 1}.a)", True),
        ("range(3)", [0, 1, 2]),
        ("range(1, 10, 4)", [1, 5, 9]),
        ("range(3, 0)", [3, 2, 1]),
        ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
        ("slice([1, 2, 3], 1, 3)", [2, 3]),
        ("min(3, 1, 2) + max([4, 5]...)", 6),
        ("abs(-2) + ceil(1.2) + floor(1.8)", 5),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ('cidrsubnet("10.0.0.0/16", 4, 15)', "10.0.240.0/20"),
        (
            'cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)',
            ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"],
        ),
        ('cidrhost("10.0.0.0/24", 5)', "10.0.0.5"),
        ('cidrhost("10.0.0.0/24", -2)', "10.0.0.254"),
        ('cidrnetmask("10.0.0.0/12")', "255.240.0.0"),
        ('cidrsubnet("fd00::/56", 8, 1)', "fd00:0:0:1::/64"),
        ('jsonencode({b = [1, "<x>"], a = true})', '{"a":true,"b":[1,"\\u003cx\\u003e"]}'),
        ('jsondecode("{\\"a\\": [1, 2.5]}")', {"a": [1, 2.5]}),
        ('yamldecode("a: [1, b]\\n")', {"a": [1, "b"]}),
        ("yamlencode({a = 1})", "a: 1\n"),
        ('base64decode(base64encode("héllo"))', "héllo"),
        ('startswith("abc", "ab") && endswith("abc", "bc")', True),
        (
            'regex("^com\\\\.amazonaws\\\\.([a-z0-9-]+)\\\\.", "com.amazonaws.eu-west-1.ecr.api")',
            ["eu-west-1"],
        ),
        ('regexall("[0-9]+", "a1b22")', ["1", "22"]),
        ('one(["x"])', "x"),
        ("one([])", None),
        ("sum([1, 2.5])", 3.5),
        ('setunion(["b"], ["a", "b"])', ["a", "b"]),
        ('setintersection(["a", "b"], ["b", "c"])', ["b"]),
        ('sha256("x")', "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
        ("reverse([1, 2])", [2, 1]),
        ('index(["a", "b"], "b")', 1),
        ("alltrue([true, true]) && !anytrue([false])", True),
    ],
)
def test_functions(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


def test_unsupported_function_is_unknown_not_an_error() -> None:
    value = ev("timestamp()")
    assert isinstance(value, Unknown)
    assert value.reason == "function timestamp is not supported"


@pytest.mark.parametrize(
    "expression",
    [
        'tonumber("x")',
        '{a = 1}["b"]',
        "[1][5]",
        "1 / 0",
        'cidrsubnet("10.0.0.0/30", 4, 1)',
        '"a${null}"',
        "element([], 0)",
        'yamldecode("a: [1")',
    ],
)
def test_invalid_expressions_are_unknown_with_the_reason(expression: str) -> None:
    value = ev(expression)
    assert isinstance(value, Unknown)
    assert value.reason


def test_invalid_yaml_is_unknown_naming_the_function_and_the_yaml_error() -> None:
    value = ev('yamldecode("a: b: c")')
    assert isinstance(value, Unknown)
    assert value.reason.startswith("yamldecode(): ScannerError: mapping values are not allowed")


def test_unknown_arguments_propagate_with_their_references() -> None:
    assert ev("upper(x)", x=UNKNOWN) == UNKNOWN
    assert ev('"vpc-${x}"', x=UNKNOWN).references == ("aws_vpc.main",)
    partial = ev('[x, "b"]', x=UNKNOWN)
    assert partial == [UNKNOWN, "b"]  # a list with one unknown element stays a list
    assert ev("length([x, 1])", x=UNKNOWN) == 2
    assert ev('contains([x, "a"], "a")', x=UNKNOWN) is True
    assert isinstance(ev('contains([x], "a")', x=UNKNOWN), Unknown)
    assert ev('coalesce("a", x)', x=UNKNOWN) == "a"
    assert ev("x == null ? 1 : 1", x=UNKNOWN) == 1  # both branches agree
    chosen = ev('x == "a" ? "p" : "q"', x=UNKNOWN)
    assert isinstance(chosen, Unknown) and chosen.references == ("aws_vpc.main",)
    assert ev("false && x", x=UNKNOWN) is False
    assert ev("[a, b][x]", x=UNKNOWN, a=1, b=2).references == ("aws_vpc.main",)


def test_compact_and_flatten_keep_every_unknowns_references() -> None:
    # `compact(concat([aws_subnet.a.id, aws_subnet.b.id], [""]))`: the result may hold
    # either subnet, so both stay references (a linker narrows to them), not the first
    a = Unknown("aws_subnet.a.id is known only after apply", ("aws_subnet.a",))
    b = Unknown("aws_subnet.b.id is known only after apply", ("aws_subnet.b",))
    for expression in ('compact(concat([a, b], [""]))', 'flatten([[a], [b, "c"]])'):
        result = ev(expression, a=a, b=b)
        assert isinstance(result, Unknown)
        assert result.references == ("aws_subnet.a", "aws_subnet.b")


def test_template_with_unknown_part_keeps_a_partial_rendering() -> None:
    value = ev(
        'base64encode("--apiserver-endpoint ${x.endpoint} --b64 ${y}")',
        x={"endpoint": UNKNOWN},
        y="CA",
    )
    assert isinstance(value, Unknown)
    partial = getattr(value, "partial", None)
    assert base64.b64decode(partial).decode() == "--apiserver-endpoint ${x.endpoint} --b64 CA"


def test_file_and_templatefile_read_inside_the_tree_only(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "user.sh").write_text(
        "#!/bin/bash\n/etc/eks/bootstrap.sh ${name}%{ for f in flags } ${f}%{ endfor }\n"
    )
    outside = tmp_path.parent / "outside-secret.txt"
    outside.write_text("secret")
    rendered = ev('templatefile("tpl/user.sh", {name = "c", flags = ["--a", "--b"]})', tmp_path)
    assert rendered == "#!/bin/bash\n/etc/eks/bootstrap.sh c --a --b\n"
    assert ev('file("tpl/user.sh")', tmp_path).startswith("#!/bin/bash")
    refused = ev('file("../outside-secret.txt")', tmp_path)
    assert isinstance(refused, Unknown) and "outside the scanned root" in refused.reason
    assert isinstance(ev(f'file("{outside}")', tmp_path), Unknown)
    missing = ev('file("nope.txt")', tmp_path)
    assert isinstance(missing, Unknown)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("range(100000000)", "more than"),
        ('format("%999999999d", 1)', "width too large"),
        ('join("", [for i in range(10000) : format("%1000s", "x")])', "longer than"),
        ("[for a in range(10000) : [for b in range(10000) : a * b]]", "budget"),
        ('regex("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")', "did not match"),
        (
            'yamldecode("a: &a [1,1,1,1,1,1,1,1,1]\\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\\n'
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\\n"
            'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\\n")',
            "too large",
        ),
        ("pow(10, 100000)", "exponent too large"),
    ],
)
def test_hostile_expressions_are_bounded(
    expression: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bounded work, counted (issue 10: no elapsed-time bound): the evaluator's steps,
    # counted apart from its budget (the grid takes the budget's 300,001); an unbounded
    # expansion stops at the limit instead of hanging. No pattern reaches Python's
    # backtracking engine (that guard sees every call: only where a pattern runs).
    counted_calls_of(monkeypatch, Expressions, "eval", limit=1_000_000)
    patterns = python_regex_refused(functions_text) if "regex" in expression else nullcontext()
    with patterns:
        value = ev(expression)
    assert isinstance(value, Unknown)
    assert reason in value.reason


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("range(100000000)", "more than"),
        ('format("%999999999d", 1)', "width too large"),
        ("pow(10, 100000)", "exponent too large"),
    ],
)
def test_hostile_numbers_and_widths_are_refused_before_they_are_built(
    expression: str, reason: str
) -> None:
    # one call would build these (a list, a padded string, a number): refused first,
    # the memory for them is never allocated (a 1 GB string, a 100-million-element list)
    ev('[range(1), format("%d", 1), pow(2, 2)]')  # modules imported on first use: not counted
    with allocation_peak() as peak, counted_calls(limit=100_000):  # (700 calls measured)
        value = ev(expression)
    assert isinstance(value, Unknown) and reason in value.reason
    assert peak.bytes < 1_000_000, peak.bytes
