"""The README's first command scans the shipped example: it must keep finding its faults."""

from __future__ import annotations

import json
import re

from .conftest import REPO, run_tfcheck

EXAMPLE = REPO / "examples" / "nat-egress-cluster"
EXPECTED_FAILURES = {
    ("PC101", "aws_eks_cluster.main"),
    ("PC102", "aws_eks_cluster.main"),
    ("PC201", "aws_subnet.private[0]"),
    ("PC201", "aws_subnet.private[1]"),
    ("PC301", "aws_eks_cluster.main"),
    ("PC401", "aws_vpc_endpoint.ec2"),
}


def test_readme_quick_start_scans_the_shipped_example() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(r"\.venv/bin/tfcheck (scan \S+)", readme)
    assert command is not None and command.group(1) == "scan examples/nat-egress-cluster/plan.json"
    result = run_tfcheck("scan", "examples/nat-egress-cluster/plan.json")
    assert result.returncode == 1, result.stderr
    # one header per cause: severity, rule, resources, file:line (the slug gives way at
    # 100 columns, the width when not writing to a terminal); both subnets route to the NAT
    lines = result.stdout.splitlines()
    header = lines.index(
        "  HIGH     PC201 aws_subnet.private x 2  examples/nat-egress-cluster/main.tf:30")
    assert lines[header + 1] == "      instances: 0, 1"


def test_example_plan_and_hcl_agree() -> None:
    found = {}
    for target in (EXAMPLE / "plan.json", EXAMPLE):
        result = run_tfcheck("scan", str(target), "-f", "json")
        document = json.loads(result.stdout)
        found[target.name] = {(f["rule_id"], f["address"]) for f in document["findings"]
                              if f["status"] == "fail"}
        assert found[target.name] >= EXPECTED_FAILURES
    assert found["plan.json"] == found[EXAMPLE.name]
