"""The terminal output, as people read it at 80 and 120 columns (snapshots)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tfcheck.model import Severity
from tfcheck.policy import Policy
from tfcheck.report import RenderOptions
from tfcheck.report.pretty import render
from tfcheck.report.text import explain_text, policy_table

from .report_samples import REPO, terminal_report

SNAPSHOTS = Path(__file__).parent / "snapshots"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("width", [80, 120])
def test_snapshot(width: int) -> None:
    text = render(terminal_report(), RenderOptions(width=width, repo_root=REPO))
    assert text == (SNAPSHOTS / f"pretty-{width}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_lines_fit_the_width_unless_one_word_is_longer(width: int) -> None:
    for line in render(terminal_report(), RenderOptions(width=width, repo_root=REPO)
                       ).splitlines():
        if line.strip().startswith("evidence: "):  # one line: cut, never wrapped
            assert len(line) <= width or line.count(" -> ") <= 1, line
            continue
        assert len(line) <= width or " " not in line.strip(), line


def test_one_header_per_finding_with_rule_address_and_place() -> None:
    text = render(terminal_report(), RenderOptions(width=80, repo_root=REPO))
    headers = [line for line in text.splitlines() if re.match(r"  [A-Z]+ +PC\d{3} ", line)]
    assert '  HIGH     PC201 aws_subnet.private["a"]  infra/prod/network.tf:40' in headers
    # seven endpoints behind one security group: one entry, the instances on one line
    assert sum("PC401" in line for line in headers) == 1
    assert "  HIGH     PC401 aws_vpc_endpoint.this x 7  infra/prod/endpoints.tf:3" in headers
    assert "      instances: ec2, ecr.api, ecr.dkr, logs, ssm, ssmmessages, sts" in text
    # PC301's two missing services on one cluster: one header, both messages
    assert sum("PC301" in line for line in headers) == 1
    assert "- no sts VPC endpoint" in text and "- no ecr.dkr VPC endpoint" in text
    # a finding inside a module: at the module block, the module's own code beneath
    assert "module code: infra/prod/.terraform/modules/nodes/launch_template.tf:8" in text
    assert "12 failed (11 high, 1 medium), 1 passed, 1 unknown, 1 suppressed" in text


def test_colour_only_when_asked_and_the_text_is_the_same() -> None:
    options = RenderOptions(width=80, repo_root=REPO)
    plain = render(terminal_report(), options)
    coloured = render(terminal_report(), RenderOptions(width=80, repo_root=REPO, color=True))
    assert "\x1b[" not in plain and "\x1b[1;31mHIGH\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == plain


def _policy(id: str, severity: Severity, slug: str, title: str, pack: str) -> Policy:
    def check(_: object) -> list[object]:
        """Why it matters.

        ## Why
        The guide says:

        > Endpoint private access is required.

        - first point, long enough to need wrapping when the terminal is narrow like this
        - second point

        ## Bad
        ```hcl
        resource "aws_eks_cluster" "main" {
          vpc_config { endpoint_private_access = false }
        }
        ```
        """
        return []

    return Policy(id, slug, severity, title, check, pack=pack)  # type: ignore[arg-type]


def test_policy_table_fits_80_columns_and_names_packs() -> None:
    policies = [
        _policy("PC101", Severity.HIGH, "cluster-private-endpoint",
                "Cluster API endpoint has private access enabled", "builtin"),
        _policy("XY001", Severity.LOW, "team-tags", "Every resource has the team's cost "
                "allocation tags, so that the bill can be split", "acme"),
    ]
    table = policy_table(policies, width=80, color=False)
    assert all(len(line) <= 80 for line in table.splitlines())
    assert table.splitlines()[0].split() == ["ID", "SEVERITY", "SLUG", "PACK", "TITLE"]
    assert "acme" in table and "2 policies." in table
    narrow = policy_table(policies, width=60, color=False)
    assert narrow.splitlines()[1].split() == ["PC101", "high", "cluster-private-endpoint",
                                              "builtin"]


def test_explain_renders_markdown_for_the_terminal() -> None:
    text = explain_text(_policy("PC101", Severity.HIGH, "cluster-private-endpoint",
                                "Cluster API endpoint has private access enabled",
                                "builtin"), width=60, color=False)
    assert "```" not in text and "## " not in text
    assert "\nWHY\n" in text and "\nBAD\n" in text
    assert "  | Endpoint private access is required." in text
    assert '    resource "aws_eks_cluster" "main" {' in text  # code kept, indented
    assert "  - first point" in text and "\n  - second point" in text
    assert all(len(line) <= 60 for line in text.splitlines())
