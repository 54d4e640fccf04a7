"""The engine: policy isolation, redaction, --changed-only, the library API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import tfcheck
from tfcheck.engine import ScanOptions, scan
from tfcheck.model import Severity, Status
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.registry import load_policies
from tfcheck.report import FORMATS, RenderOptions, renderer

from .test_cli import cluster_plan, write

SECRET_CIDR = "198.51.100.0/24"


@policy(id="PC901", slug="always-raises", severity=Severity.LOW, title="raises")
def always_raises(ctx: ScanContext) -> Iterator[Result]:
    """A policy with a bug."""
    raise RuntimeError("boom")
    yield  # pragma: no cover


@policy(id="PC902", slug="leaks", severity=Severity.HIGH, title="leaks")
def leaks_everything(ctx: ScanContext) -> Iterator[Result]:
    """A careless policy that prints the values it decides on."""
    for cluster in ctx.graph.managed("aws_eks_cluster"):
        cidrs = cluster.get("vpc_config.public_access_cidrs")
        yield Result.fail(cluster, f"cidrs are {cidrs}", remediation=f"remove {cidrs}",
                          data={"cidrs": cidrs}, evidence=[cluster.address, str(cidrs)])


def sensitive_plan(tmp_path: Path) -> Path:
    document = cluster_plan(True, True, [SECRET_CIDR])
    change = document["resource_changes"][0]["change"]
    change["after_sensitive"] = {"vpc_config": [{"public_access_cidrs": True}]}
    return write(tmp_path / "sensitive.json", document)


def test_a_raising_policy_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    builtin = [p for p in load_policies()[0] if p.id == "PC101"]
    report = scan([plan], policies=[always_raises, *builtin])
    assert [e.where for e in report.internal_errors] == [f"policy PC901 on {plan}"]
    assert report.internal_errors[0].message == "RuntimeError('boom')"
    assert [(f.rule_id, f.status) for f in report.findings] == [("PC101", Status.FAIL)]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_sensitive_values_never_reach_any_output(tmp_path: Path, fmt: str) -> None:
    builtin = [p for p in load_policies()[0] if p.id == "PC102"]
    report = scan([sensitive_plan(tmp_path)], policies=[leaks_everything, *builtin])
    assert {f.rule_id for f in report.findings} == {"PC102", "PC902"}
    try:
        render = renderer(fmt)
    except ModuleNotFoundError:
        pytest.skip(f"the {fmt} format is not implemented yet")
    text = render(report, RenderOptions(show_passed=True))
    assert SECRET_CIDR not in text
    assert "(sensitive value)" in text or fmt in ("junit",)


def test_changed_only_keeps_findings_on_created_or_updated_resources(tmp_path: Path) -> None:
    document = cluster_plan(None, None)
    plan = write(tmp_path / "p.json", document)
    assert scan([plan], options=ScanOptions(changed_only=True)).findings
    document["resource_changes"][0]["change"]["actions"] = ["no-op"]
    write(plan, document)
    report = scan([plan], options=ScanOptions(changed_only=True))
    assert [f for f in report.findings if f.rule_id in ("PC101", "PC102")] == []


def test_library_api_matches_the_cli(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    report = tfcheck.scan([str(plan)])
    assert report.inputs[0].kind == "plan"
    assert ("PC101", "aws_eks_cluster.main", Status.FAIL) in {
        (f.rule_id, f.address, f.status) for f in report.findings}
    assert json.loads(renderer("json")(report, RenderOptions()))["summary"]["fail"] >= 1


def test_sensitive_hcl_variables_are_redacted(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
variable "office_cidr" {
  type      = string
  sensitive = true
  default   = "198.51.100.0/24"
}
resource "aws_eks_cluster" "main" {
  name     = "main"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {
    subnet_ids              = ["subnet-0aaa"]
    endpoint_private_access = true
    public_access_cidrs     = [var.office_cidr]
  }
}
''')
    report = scan([tmp_path], policies=[leaks_everything])
    assert report.findings, report.input_errors
    for fmt in sorted(FORMATS):
        assert SECRET_CIDR not in renderer(fmt)(report, RenderOptions(show_passed=True))


def test_redaction_pattern_matches_what_a_flat_longest_first_alternation_does() -> None:
    """The prefix-tree pattern (linear in findings) redacts exactly like `a|b|c...`."""
    import random
    import re

    from tfcheck.engine import _alternation

    rng = random.Random(7)
    for _ in range(200):
        secrets = sorted({"".join(rng.choice("ab.c(") for _ in range(rng.randint(4, 12)))
                          for _ in range(rng.randint(1, 40))}, key=len, reverse=True)
        tree = re.compile(_alternation(secrets))
        flat = re.compile("|".join(re.escape(s) for s in secrets))
        for _ in range(20):
            text = "".join(rng.choice("ab.c( x") for _ in range(rng.randint(0, 60)))
            assert tree.sub("#", text) == flat.sub("#", text)
