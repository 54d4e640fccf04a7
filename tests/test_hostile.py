"""Hostile input (issue 9): reads stay in the scanned root, nothing hangs or explodes.

The configurations are written like a pull request to a repository that keeps its
cluster in `infra/` would be: a `.git` at the top, modules beside the root module.
"""

from __future__ import annotations

import codecs
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tfcheck.engine import scan
from tfcheck.hcl import functions_text, parse
from tfcheck.hcl.eval import Evaluator, Scope
from tfcheck.hcl.expressions import Expressions
from tfcheck.hcl.modules import ModuleDef
from tfcheck.hcl.parse import (
    MAX_FILE_BYTES,
    MAX_OPERATORS,
    HclSyntaxError,
    parse_expression,
    parse_hcl,
)
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.hcl import load_hcl
from tfcheck.loaders.plan import load_plan, load_plan_bytes, load_plan_file
from tfcheck.model import Unknown
from tfcheck.safe_io import ReadRefused, read_bytes, scan_root

from .work_counting import (
    allocation_peak,
    counted_calls,
    counted_calls_of,
    counted_lines,
    python_regex_refused,
)

VPC = 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "infra").mkdir()
    return tmp_path


class Reads:
    """What tfcheck asked of files by name: `os.open` flags and the bytes `os.read` gave."""

    def __init__(self) -> None:
        self.opened: dict[str, list[int]] = {}  # resolved path -> flags of each open
        self.read: dict[str, int] = {}  # resolved path -> bytes read
        self._paths: dict[int, str] = {}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Spy on the reads of tfcheck.safe_io (the one way tfcheck opens an input's file)."""
    spy = Reads()
    real_open, real_read, real_close = os.open, os.read, os.close

    def spy_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, *args, **kwargs)
        name = os.path.realpath(path)
        spy.opened.setdefault(name, []).append(flags)
        spy._paths[fd] = name
        return fd

    def spy_read(fd: int, size: int) -> bytes:
        data = real_read(fd, size)
        name = spy._paths.get(fd, f"fd {fd}")
        spy.read[name] = spy.read.get(name, 0) + len(data)
        return data

    def spy_close(fd: int) -> None:
        spy._paths.pop(fd, None)
        real_close(fd)

    monkeypatch.setattr(os, "open", spy_open)  # safe_io opens and reads with these
    monkeypatch.setattr(os, "read", spy_read)
    monkeypatch.setattr(os, "close", spy_close)
    return spy


@pytest.fixture
def fifo(repo: Path) -> Iterator[Path]:
    """A FIFO with a writer waiting: a blocking open for reading would return (and read
    an empty file) instead of hanging the test, so the defect fails as an assertion."""
    path = repo / "pipe"
    os.mkfifo(path)

    def writer() -> None:
        with open(path, "wb"):  # blocks until a reader opens (or the release below)
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    yield path
    release = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # the writer's reader, if none came
    thread.join()
    os.close(release)


def ev(text: str, directory: Path) -> Any:
    evaluator = Evaluator(ModuleDef(directory, "", "."), directory, {directory.resolve()}, {}, [])
    value, _ = evaluator.evaluate(parse_expression(text), Scope(evaluator.root))
    return value


# -- confined reads -----------------------------------------------------------------


def test_scan_root_is_the_repository_top_without_walking(repo: Path, tmp_path: Path) -> None:
    assert scan_root(repo / "infra") == repo.resolve()
    lone = tmp_path / "lone"
    lone.mkdir()
    # tmp_path itself holds .git (the repo fixture): the lone directory's root is it
    assert scan_root(lone) == repo.resolve()


def test_module_source_escaping_the_root_is_not_followed(repo: Path) -> None:
    (repo / "infra" / "main.tf").write_text(
        'module "all" {\n  source = "../../../../../../../../"\n}\n' + VPC
    )
    loaded = load_hcl(repo / "infra")
    assert not loaded.errors
    assert any("outside the scanned root" in n for n in loaded.graph.notes)
    assert [r.address for r in loaded.graph.resources()] == ["aws_vpc.main"]


def test_module_inside_the_repository_is_followed(repo: Path) -> None:
    (repo / "modules" / "net").mkdir(parents=True)
    (repo / "modules" / "net" / "main.tf").write_text(VPC)
    (repo / "infra" / "main.tf").write_text('module "net" {\n  source = "../modules/net"\n}\n')
    loaded = load_hcl(repo / "infra")
    assert [r.address for r in loaded.graph.resources()] == ["module.net.aws_vpc.main"]


def test_missing_local_module_is_an_input_error_naming_the_call(repo: Path) -> None:
    (repo / "infra" / "main.tf").write_text(
        VPC + '\nmodule "endpoints" {\n  source = "./modules/endpoints"\n}\n'
    )
    report = scan([repo / "infra"])
    [error] = report.input_errors
    assert error.path.endswith("main.tf") and (error.line, error.column) == (5, 1)
    assert "module endpoints" in error.message and "./modules/endpoints" in error.message


def test_modules_json_pointing_outside_is_refused(repo: Path) -> None:
    modules = repo / "infra" / ".terraform" / "modules"
    modules.mkdir(parents=True)
    (modules / "modules.json").write_text(
        json.dumps({"Modules": [{"Key": "vpc", "Source": "x", "Dir": "/etc"}]})
    )
    (repo / "infra" / "main.tf").write_text('module "vpc" {\n  source = "reg/vpc/aws"\n}\n')
    loaded = load_hcl(repo / "infra")
    assert any("outside the scanned root" in n for n in loaded.graph.notes)


def test_file_functions_outside_the_root_are_errors_naming_the_call(repo: Path) -> None:
    (repo.parent / "secret.txt").write_text("root:x:0:0")
    for call in ('file("../secret.txt")', 'file("/etc/passwd")', 'filebase64("/etc/hostname")',
                 'filemd5("/etc/passwd")', 'templatefile("/etc/passwd", {})',
                 'fileset("/", "**")'):
        value = ev(call, repo)
        assert isinstance(value, Unknown), call
        name = call.split("(")[0]
        assert value.reason.startswith(f"{name}(): ") and "outside the scanned root" in (
            value.reason
        ), value.reason


def test_special_files_are_never_opened_for_reading(
    repo: Path, fifo: Path, reads: Reads
) -> None:
    value = ev('file("pipe")', repo)
    assert isinstance(value, Unknown) and "not a regular file" in value.reason
    with pytest.raises(ReadRefused, match="not a regular file"):
        read_bytes(Path("/dev/zero"))
    # a FIFO opened without O_NONBLOCK waits for a writer; neither is ever read
    assert all(flags & os.O_NONBLOCK for flags in reads.opened.get(str(fifo.resolve()), []))
    assert not reads.read, reads.read


def test_symlinked_file_is_checked_where_it_resolves(repo: Path) -> None:
    (repo / "infra" / "main.tf").write_text(VPC)
    (repo / "infra" / "passwd.tf").symlink_to("/etc/passwd")
    (repo / "infra" / "link.txt").symlink_to("/etc/hostname")
    loaded = load_hcl(repo / "infra")
    [error] = loaded.errors
    assert error.path == "passwd.tf" and "outside the scanned root" in error.message
    value = ev('file("infra/link.txt")', repo)
    assert isinstance(value, Unknown) and "outside the scanned root" in value.reason


def test_huge_sparse_file_is_refused_by_its_size(repo: Path, reads: Reads) -> None:
    (repo / "infra" / "main.tf").write_text(VPC)
    big = repo / "infra" / "big.tf"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GB, sparse: refused by its size, never read whole
    loaded = load_hcl(repo / "infra")
    [error] = loaded.errors
    assert error.path == "big.tf" and "larger than" in error.message
    # no byte past the limit: only the head up to it, for the line and column of the
    # refusal (twice today: the parse ahead and the module's load each refuse the file)
    assert reads.read.get(str(big.resolve()), 0) <= 2 * MAX_FILE_BYTES


def test_reads_stop_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"a" * 100)
    assert read_bytes(path, {tmp_path.resolve()}, 100) == b"a" * 100
    with pytest.raises(ReadRefused, match="larger than 99 bytes"):
        read_bytes(path, {tmp_path.resolve()}, 99)


# -- regular expressions: RE2, as terraform ---------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            'regex("(?P<major>[0-9]+)\\\\.(?P<minor>[0-9]+)", "v1.29")',
            {"major": "1", "minor": "29"},
        ),
        ('regex("([a-z]+)-([0-9]+)", "eks-12")', ["eks", "12"]),
        ('regexall("[0-9]+", "a1b22c333")', ["1", "22", "333"]),
        ('replace("eks-12", "/([a-z]+)-(?P<n>[0-9]+)/", "$n:$1:$${1}x:$$")', "12:eks:eksx:$"),
        ('replace("abc", "/b/", "$9")', "ac"),
    ],
)
def test_regex_functions_follow_go_semantics(
    expression: str, expected: Any, tmp_path: Path
) -> None:
    assert ev(expression, tmp_path) == expected


# 20,000 characters, built in 1,000 steps (range() stops at 10,000 elements)
A20K = f'join("", [for i in range(1000) : "{"a" * 20}"])'


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f'regex("^(a|aa)*c$", {A20K})', "did not match"),
        (f'regexall("a*a*a*a*a*a*b", {A20K})', []),
        (f'length(replace({A20K}, "/a*a*a*a*b/", "x"))', 20_000),
        ('format("%00000000000000000000000000000000000000000000000000000000000!", 1)',
         "too many arguments"),
    ],
)
def test_backtracking_patterns_end_in_linear_time(
    expression: str, expected: Any, tmp_path: Path
) -> None:
    # RE2 is linear; Python's `re` would backtrack (exponentially on `(a|aa)*c`)
    with python_regex_refused(functions_text):
        value = ev(expression, tmp_path)
    if isinstance(expected, str):
        assert isinstance(value, Unknown) and expected in value.reason
    else:
        assert value == expected


def test_pattern_re2_rejects_is_an_evaluation_error(tmp_path: Path) -> None:
    value = ev('regex("(a)\\\\1", "aa")', tmp_path)
    assert isinstance(value, Unknown) and "invalid regular expression" in value.reason
    assert ev('try(regex("(a)\\\\1", "aa"), "fallback")', tmp_path) == "fallback"


# -- sizes and budgets ----------------------------------------------------------------

# Bytes allocated at once before a result is refused: formatlist's are the most, ten
# strings of the maximum length (10.4 MB measured); the others take under 1.4 MB
PEAK = 32_000_000
WARM = ('[join(",", ["a"]), replace("a", "a", "b"), jsonencode(1), yamlencode(1), '
        'formatlist("%s", ["a"]), indent(1, "a"), range(1)]')
# Python calls a small hostile configuration may take: the shared-structure bomb takes
# 1.1 million (measured, cold); unbounded, it would take billions, and stops here instead
LOAD_CALLS = 5_000_000

BIG = 'join("", [for i in range(1000) : "0123456789012345678901234567890123456789"])'
# 10,000 references to one 40 KB string: small in memory, 400 MB once joined
MANY = f"[for s in [{BIG}] : [for i in range(10000) : s]][0]"


@pytest.mark.parametrize(
    "expression",
    [
        f'join(",", {MANY})',
        f'replace({BIG}, "0", {BIG})',
        f'replace({BIG}, "", "xyzxyzxyzxyzxyzxyzxyzxyzxyzxyz")',
        f"jsonencode({MANY})",
        f"yamlencode({MANY})",
        f'formatlist("%s%s", {MANY}, {BIG})',
        'indent(1000, join("\\n", [for i in range(5000) : "x"]))',
        "range(1000000)",
    ],
)
def test_results_are_refused_before_they_are_built(expression: str, tmp_path: Path) -> None:
    ev(WARM, tmp_path)  # modules imported on first use are not the result
    with allocation_peak() as peak:  # the 400 MB result is never allocated
        value = ev(expression, tmp_path)
    assert isinstance(value, Unknown)
    assert "longer than" in value.reason or "more than" in value.reason, value.reason
    assert peak.bytes < PEAK, peak.bytes


@pytest.mark.parametrize(
    ("expression", "size"),
    [
        ("length(toset(range({n})))", 1),
        ("length(distinct(range({n})))", 1),
        ("length(setunion(range({n}), range({n} / 2, {n} * 3 / 2)))", 1.5),
        ("length(setsubtract(range({n}), range({n} / 2, {n} * 3 / 2)))", 0.5),
        ("length(setintersection(range({n}), range({n})))", 1),
        ("length(matchkeys(range({n}), range({n}), range({n})))", 1),
    ],
)
def test_set_functions_are_linear(expression: str, size: float, tmp_path: Path) -> None:
    def work(n: int) -> int:
        with counted_lines() as counted:
            assert ev(expression.format(n=n), tmp_path) == n * size
        return counted.lines

    work(100)  # warm: imports and caches on first use are not the function's work
    # twice the elements, twice the Python lines run (1.92x at most measured);
    # comparing each element with every other would be 4x
    assert work(2000) <= 2.2 * work(1000)


def test_shared_structure_bomb_is_an_input_error_with_its_line(repo: Path) -> None:
    doubling = "\n".join(f"  l{i} = [local.l{i - 1}, local.l{i - 1}]" for i in range(1, 40))
    (repo / "infra" / "main.tf").write_text(
        f'locals {{\n  l0 = ["x"]\n{doubling}\n}}\n'
        'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n'
        "  tags = { doc = jsonencode(local.l39) }\n"
        "  tags_all = { all = local.l39 }\n}\n"
    )
    # 2^39 leaves: walking them once each would never end (stopped at the call limit)
    with counted_calls(limit=LOAD_CALLS):
        loaded = load_hcl(repo / "infra")
    lines = {(e.path, e.line) for e in loaded.errors}
    assert lines == {("main.tf", 45), ("main.tf", 46)}, loaded.errors


def test_result_bound_is_an_input_error_naming_the_call(repo: Path) -> None:
    (repo / "infra" / "main.tf").write_text(
        VPC + "locals {\n"
        '  line = join("", [for i in range(1000) : "0123456789"])\n'
        '  page = join("\\n", [for i in range(10000) : local.line])\n'
        "}\n"
        'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.id\n'
        '  cidr_block = "10.0.1.0/24"\n  tags = { page = local.page }\n}\n'
    )
    report = scan([repo / "infra"])
    [error] = report.input_errors
    assert error.path.endswith("main.tf") and error.line == 6
    assert error.message.startswith("join(): result would be longer than")


def test_long_operator_chain_is_evaluated_without_recursion(repo: Path) -> None:
    terms = " + ".join(["1"] * 20_000)
    (repo / "infra" / "main.tf").write_text(
        f"locals {{\n  n = {terms}\n}}\n"
        'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n'
        "  tags = { n = local.n }\n}\n"
    )
    loaded = load_hcl(repo / "infra")
    assert not loaded.errors
    resource = loaded.graph.get("aws_vpc.main")
    assert resource is not None and resource.values["tags"] == {"n": 20_000}


def test_operator_bomb_is_refused_before_the_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "locals {\n  n = " + "+".join(["1"] * (MAX_OPERATORS + 2)) + "\n}\n"
    trees: list[str] = []

    def parse_tree(text: str) -> Any:
        trees.append(text)
        return real_parse_tree(text)

    real_parse_tree = parse._parse_tree
    monkeypatch.setattr(parse, "_parse_tree", parse_tree)
    with pytest.raises(HclSyntaxError, match="operators") as raised:
        parse_hcl(text, "main.tf")
    assert raised.value.line == 2
    assert trees == []  # the slow parse never started


def test_exhausted_step_budget_is_an_input_error_with_its_place(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "infra" / "main.tf").write_text(
        VPC + "\nlocals {\n"
        "  grid = [for i in range(10000) : [for j in range(10000) : i * j]]\n"
        "}\n"
        'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.id\n'
        '  cidr_block = "10.0.1.0/24"\n  tags = { n = length(local.grid) }\n}\n'
    )
    # 100 million elements: the budget stops the grid. Its steps counted apart from the
    # budget's own count (300,001 taken); a budget not kept stops at the limit instead
    counted_calls_of(monkeypatch, Expressions, "eval", limit=1_000_000)
    report = scan([repo / "infra"])
    errors = [e for e in report.input_errors if "budget" in e.message]
    assert errors and errors[0].path.endswith("main.tf") and errors[0].line == 6


def test_deep_nesting_is_a_syntax_error_with_its_line() -> None:
    with pytest.raises(HclSyntaxError, match="nested too deeply") as raised:
        parse_hcl('x = 1\ny = "a"\nz = ' + "[" * 500 + "]" * 500 + "\n", "main.tf")
    assert (raised.value.line, raised.value.column) == (3, 1)


def test_deeply_nested_blocks_are_a_syntax_error_with_their_line() -> None:
    with pytest.raises(HclSyntaxError, match="blocks nested") as raised:
        parse_hcl("y = 1\n" + "x {\n" * 3000 + "}\n" * 3000, "main.tf")
    assert (raised.value.line, raised.value.column) == (202, 1)


# -- plans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"resource_changes": {"a": 1}}, "resource_changes: expected a list, got an object"),
        ({"resource_changes": [{"address": 3}]}, "resource_changes[0].address"),
        (
            {"resource_changes": [{"address": "a.b", "change": {"actions": "create"}}]},
            "resource_changes[0].change.actions: expected a list",
        ),
        ({"planned_values": {"root_module": {"resources": "x"}}},
         "planned_values.root_module.resources"),
        ({"planned_values": {"root_module": {"child_modules": [{"resources": [7]}]}}},
         "planned_values.root_module.child_modules[0].resources[0]"),
        ({"configuration": {"root_module": {"module_calls": []}}},
         "configuration.root_module.module_calls"),
        ({"planned_values": [], "format_version": "1.2"}, "planned_values: expected an object"),
    ],
)
def test_plan_of_the_wrong_shape_is_rejected_naming_the_path(
    document: dict[str, Any], path: str
) -> None:
    with pytest.raises(LoadFailure) as raised:
        load_plan(document, "plan.json")
    assert path in raised.value.error.message


def test_a_plan_file_of_the_wrong_shape_is_rejected_at_its_line_and_column(
        tmp_path: Path) -> None:
    text = ('{\n  "format_version": "1.2",\n  "configuration": {"provider_config": {\n'
            '    "aws.west": {"name": "aws"},\n    "aws.east": []\n  }}\n}\n')
    path = tmp_path / "plan.json"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    with pytest.raises(LoadFailure) as raised:
        load_plan_file(path, "plan.json")
    error = raised.value.error
    assert error.message.endswith(
        "configuration.provider_config.aws.east: expected an object, got a list")
    assert (error.line, error.column) == (5, 17)
    assert str(error).startswith("plan.json:5:17: not a valid plan")


def _plan_with_masks(size: int) -> bytes:
    """A plan whose one security group has `size` unknown CIDR blocks, each referenced."""
    values = {"name": "sg", "vpc_id": "vpc-1", "ingress": [
        {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": [None] * size}]}
    mask = {"ingress": [{"cidr_blocks": [True] * size}]}
    document = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [{
            "address": "aws_security_group.sg", "mode": "managed",
            "type": "aws_security_group", "name": "sg", "values": values}]}},
        "resource_changes": [{"address": "aws_security_group.sg", "change": {
            "actions": ["create"], "after": values, "after_unknown": mask,
            "after_sensitive": mask}}],
        "configuration": {"root_module": {"resources": [{
            "address": "aws_security_group.sg", "mode": "managed",
            "type": "aws_security_group", "name": "sg",
            "expressions": {"ingress": [{"cidr_blocks": {
                "references": [f"aws_subnet.s[{i}]" for i in range(size)]}}]}}]}},
    }
    return json.dumps(document).encode()


def test_plan_with_large_masks_loads_in_linear_work(tmp_path: Path) -> None:
    def load(size: int) -> tuple[int, int]:
        path = tmp_path / f"plan-{size}.json"
        path.write_bytes(_plan_with_masks(size))
        with counted_lines() as work:
            graph = load_plan_file(path)
        assert graph.get("aws_security_group.sg") is not None
        # memory from the bytes on: reading a file reserves a buffer of the plan limit
        with allocation_peak() as peak:
            load_plan_bytes(path.read_bytes(), "plan.json")
        return work.lines, peak.bytes

    load(100)  # warm: modules imported on first use are not the load's work
    lines, peak = load(5_000)
    double_lines, double_peak = load(10_000)
    # twice the elements, twice the lines run and memory at most (1.6x and 2.0x
    # measured); each unknown element with its own copy of the references: 4x memory
    assert double_lines <= 2.2 * lines
    assert double_peak <= 2.2 * peak


# A local whose evaluation takes more steps than the floor of the budget (300,000).
_WORK = """locals {
  big = [for i in range(300) : [for j in range(500) : i + j]]
}
resource "aws_sqs_queue" "q" {
  name = "q-${length(local.big)}"
}
"""


@pytest.mark.slow
def test_the_step_budget_grows_with_the_configuration_text(tmp_path: Path) -> None:
    """A large configuration is not a bomb: its own text buys it evaluation steps."""
    small = tmp_path / "small"
    small.mkdir()
    (small / "main.tf").write_text(_WORK, encoding="utf-8")
    load = load_hcl(small)
    exhausted = [e for e in load.errors if "steps exhausted" in e.message]
    assert len(exhausted) == 1, load.errors  # reported once, not once per expression

    large = tmp_path / "large"
    large.mkdir()
    (large / "main.tf").write_text(_WORK, encoding="utf-8")
    for index in range(60):  # 600 KB of ordinary configuration beside it
        (large / f"filler_{index}.tf").write_text(
            "".join(f'resource "aws_sqs_queue" "q{index}_{n}" {{\n'
                    f'  name = "queue-{index}-{n}"\n  delay_seconds = 0\n}}\n'
                    for n in range(150)), encoding="utf-8")
    assert not [e for e in load_hcl(large).errors if "steps exhausted" in e.message]
