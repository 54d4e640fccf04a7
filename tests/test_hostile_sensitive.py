"""Sensitive values never reach an output: marks follow every derivation (issue 9).

Each case puts a value derived from a sensitive variable where tfcheck quotes it (the
subnet ids of a cluster, listed in PC301/PC401 messages). A control run with the
variable *not* sensitive proves the value is printed there; the real run must print it
in none of the six formats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfcheck.engine import scan
from tfcheck.hcl.functions import FUNCTIONS
from tfcheck.loaders.hcl import load_hcl
from tfcheck.model import Report, Sensitive, reveal_all
from tfcheck.report import FORMATS, RenderOptions, renderer

CANARY = "CANARYzq7SECRETx9"

# function -> an expression with it over var.secret giving a string of >= 4 characters
CASES: dict[str, str] = {
    "interpolation": '"subnet-${var.secret}"',
    "substr": "substr(var.secret, 0, 9)",
    "upper": "upper(var.secret)",
    "lower": "lower(var.secret)",
    "title": "title(lower(var.secret))",
    "replace": 'replace(var.secret, "CANARY", "canary-")',
    "replace_regex": 'replace(var.secret, "/[0-9]/", "#")',
    "regex": 'regex("[A-Z]+zq", var.secret)',
    "regexall": 'regexall("[A-Za-z0-9]{5}", var.secret)[1]',
    "format": 'format("sn-%s", var.secret)',
    "formatlist": 'formatlist("sn-%s", [var.secret])[0]',
    "join": 'join("-", [var.secret, "x"])',
    "split": 'split("zq7", var.secret)[1]',
    "trimprefix": 'trimprefix(var.secret, "CAN")',
    "trimsuffix": 'trimsuffix(var.secret, "x9")',
    "trim": 'trim(var.secret, "C9")',
    "trimspace": 'trimspace(" ${var.secret} ")',
    "chomp": 'chomp("${var.secret}\\n")',
    "indent": 'indent(2, var.secret)',
    "strrev": "strrev(var.secret)",
    "base64encode": "base64encode(var.secret)",
    "textencodebase64": 'textencodebase64(var.secret, "UTF-8")',
    "urlencode": 'urlencode("a b ${var.secret}")',
    "md5": "md5(var.secret)",
    "sha1": "sha1(var.secret)",
    "sha256": "sha256(var.secret)",
    "sha512": "substr(sha512(var.secret), 0, 20)",
    "jsonencode": "jsonencode({ s = var.secret })",
    "element": "element([var.secret], 0)",
    "lookup": 'lookup({ k = var.secret }, "k")',
    "coalesce": 'coalesce("", var.secret)',
    "concat": 'concat(["a"], [var.secret])[1]',
    "tolist": "tolist([var.secret])[0]",
    "toset": "tolist(toset([var.secret]))[0]",
    "tostring": "tostring(var.secret)",
    "reverse": "reverse([var.secret, \"b\"])[1]",
    "sort": 'sort([var.secret, "zzzz"])[0]',
    "distinct": "distinct([var.secret, var.secret])[0]",
    "flatten": "flatten([[var.secret]])[0]",
    "compact": 'compact(["", var.secret])[0]',
    "slice": 'slice(["a", var.secret], 1, 2)[0]',
    "one": "one([var.secret])",
    "keys": "keys({ (var.secret) = 1 })[0]",
    "values": "values({ k = var.secret })[0]",
    "merge": "merge({ a = var.secret }, { b = 1 }).a",
    "zipmap": 'zipmap(["k"], [var.secret]).k',
    "try": "try(var.secret.nope, var.secret)",
    "conditional": 'var.secret == "x" ? "no-match" : "other-${var.secret}"',
    "for_expression": "[for c in [var.secret] : upper(c)][0]",
    "object_key": "{ for c in [var.secret] : c => c }[var.secret]",
    "index": "local.by_name[var.secret]",
    "template_directive": '"%{ for c in [var.secret] }p-${c}%{ endfor }"',
    "heredoc": "trimspace(local.heredoc)",
    "yamlencode": 'trimspace(yamlencode({ s = var.secret }))',
}


def configuration(sensitive: bool) -> str:
    clusters = []
    for name, expression in CASES.items():
        clusters.append(
            f'resource "aws_eks_cluster" "{name}" {{\n'
            f'  name     = "c-{name}"\n'
            '  role_arn = "arn:aws:iam::123456789012:role/eks"\n'
            "  vpc_config {\n"
            f"    subnet_ids              = [{expression}]\n"
            "    endpoint_private_access = true\n"
            "    endpoint_public_access  = false\n"
            "  }\n"
            "}\n"
        )
    return (
        'variable "secret" {\n'
        "  type      = string\n"
        f'  default   = "{CANARY}"\n'
        f"  sensitive = {'true' if sensitive else 'false'}\n"
        "}\n"
        "locals {\n"
        "  by_name = { (var.secret) = \"indexed-${var.secret}\" }\n"
        "  heredoc = <<-EOT\n"
        "    doc-${var.secret}\n"
        "  EOT\n"
        "}\n" + "\n".join(clusters)
    )


def outputs(report: Report, root: Path) -> dict[str, str]:
    options = RenderOptions(show_passed=True, repo_root=str(root))
    return {name: renderer(name)(report, options) for name in FORMATS}


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each case's value, from a run where the variable is not sensitive."""
    root = tmp_path_factory.mktemp("plain")
    (root / "main.tf").write_text(configuration(False))
    graph = load_hcl(root).graph
    found = {}
    for name in CASES:
        resource = graph.get(f"aws_eks_cluster.{name}")
        assert resource is not None
        value = reveal_all(resource.values["vpc_config"][0]["subnet_ids"][0])
        assert isinstance(value, str) and len(value) >= 4, (name, value)
        found[name] = value
    return found


def test_every_function_family_is_covered() -> None:
    string_functions = {
        "substr", "upper", "lower", "title", "replace", "regex", "regexall", "format",
        "formatlist", "join", "split", "trimprefix", "trimsuffix", "trim", "trimspace",
        "chomp", "indent", "strrev", "base64encode", "textencodebase64", "urlencode",
        "md5", "sha1", "sha256", "sha512", "jsonencode", "yamlencode", "element", "lookup",
        "coalesce", "concat", "tolist", "toset", "tostring", "reverse", "sort", "distinct",
        "flatten", "compact", "slice", "one", "keys", "values", "merge", "zipmap",
    }
    assert string_functions <= set(FUNCTIONS)
    assert string_functions <= set(CASES)


def test_control_run_prints_the_derived_values(tmp_path: Path, derived: dict[str, str]) -> None:
    (tmp_path / "main.tf").write_text(configuration(False))
    report = scan([tmp_path])
    text = outputs(report, tmp_path)["json"]
    missing = [name for name, value in derived.items() if json.dumps(value)[1:-1] not in text]
    assert not missing, f"not printed even when not sensitive: {missing}"


def test_no_format_prints_a_sensitive_derivation(tmp_path: Path, derived: dict[str, str]) -> None:
    (tmp_path / "main.tf").write_text(configuration(True))
    graph = load_hcl(tmp_path).graph
    for name in CASES:
        resource = graph.get(f"aws_eks_cluster.{name}")
        assert resource is not None
        leaf = resource.values["vpc_config"][0]["subnet_ids"]
        assert isinstance(leaf, Sensitive) or isinstance(leaf[0], Sensitive), name
    report = scan([tmp_path])
    assert not report.input_errors
    for fmt, text in outputs(report, tmp_path).items():
        assert CANARY not in text, fmt
        for name, value in derived.items():
            for shown in (value, json.dumps(value)[1:-1]):
                assert shown not in text, f"{name} leaks in {fmt}"


def test_sensitive_for_each_is_rejected_as_terraform_does(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "secret" {\n  default   = "' + CANARY + '"\n  sensitive = true\n}\n'
        'resource "aws_vpc" "x" {\n'
        "  for_each   = toset([substr(var.secret, 0, 12)])\n"
        '  cidr_block = "10.0.0.0/16"\n'
        "}\n"
        'resource "aws_subnet" "n" {\n'
        "  count      = length(var.secret) > 3 ? 2 : 0\n"
        '  vpc_id     = "vpc-1"\n'
        '  cidr_block = "10.0.${count.index}.0/24"\n'
        "}\n"
    )
    report = scan([tmp_path])
    [error] = report.input_errors
    assert error.path.endswith("main.tf") and error.line == 6
    assert "for_each" in error.message and "sensitive" in error.message
    # terraform accepts a sensitive count: the instances exist
    loaded = load_hcl(tmp_path)
    assert {r.address for r in loaded.graph.resources() if r.type == "aws_subnet"} == {
        "aws_subnet.n[0]",
        "aws_subnet.n[1]",
    }
    for fmt, text in outputs(report, tmp_path).items():
        assert CANARY[:12] not in text, fmt


def test_errors_on_sensitive_operands_do_not_quote_them(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "secret" {\n  default   = "' + CANARY + '"\n  sensitive = true\n}\n'
        'resource "aws_vpc" "x" {\n'
        "  cidr_block = tonumber(var.secret)\n"
        "  tags       = { a = var.secret + 1 }\n"
        "  tags_all   = { b = cidrsubnet(var.secret, 1, 1) }\n"
        "}\n"
    )
    graph = load_hcl(tmp_path).graph
    resource = graph.get("aws_vpc.x")
    assert resource is not None
    text = repr(resource.values) + " ".join(graph.notes)
    assert "CANARY" not in text
    reasons: list[Any] = [resource.values[k] for k in ("cidr_block", "tags", "tags_all")]
    assert all("sensitive" in str(getattr(r, "reason", "")) for r in reasons), reasons
