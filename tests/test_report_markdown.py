from __future__ import annotations

import re

import msgspec

from tfcheck.model import Finding, Location, Report, Severity, Status
from tfcheck.report import RenderOptions, renderer
from tfcheck.report.markdown import (
    GITHUB_COMMENT_LIMIT,
    flowchart,
    render,
    render_comment,
)

from .report_samples import (
    CLUSTER,
    HCL_ROOT,
    PC101_PASS,
    PC201,
    REPO,
    pc301,
    report_with_errors,
    sample_report,
)

OPTIONS = RenderOptions(repo_root=REPO)


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start)) + len(end)]


def test_header_and_failure_table() -> None:
    text = render(report_with_errors(), OPTIONS)
    assert text.startswith(
        "<!-- tfcheck -->\n"
        "### ❌ tfcheck: 4 failed · 1 unknown · 1 suppressed · 1 passed\n\n"
        "Scanned `infra/prod` (hcl), `plans/plan.json` (plan).\n\n"
        "> [!CAUTION]\n"
        "> /repo/infra/broken/main.tf:7:3: Unexpected token '}'  \n"
        "> internal error in policy PC401: KeyError('ingress')  \n\n"
        "| Severity | Rule | Resource | Location | Message |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| high | `PC201` node-subnet-internet-route | `aws_subnet.private[\"a\"]` | "
        "`infra/prod/network.tf:40` | node subnet routes 0.0.0.0/0 to aws\\_nat\\_gateway.this "
        "via aws\\_route\\_table.private |\n"
        "| high | `PC301` missing-vpc-endpoint | `aws_eks_cluster.this` | "
        "`infra/prod/main.tf:12` | no ecr.dkr VPC endpoint in vpc aws\\_vpc.main |\n"
        "| high | `PC301` missing-vpc-endpoint | `aws_eks_cluster.this` | "
        "`infra/prod/main.tf:12` | no sts VPC endpoint in vpc aws\\_vpc.main |\n"
        "| medium | `PC304` endpoint-subnet-coverage | `module.vpc.aws_vpc_endpoint.ecr_api` | "
        "`plans/plan.json` | no ENI in eu-west-1c, where aws\\_subnet.private\\[\"c\"\\] holds "
        "nodes |\n\n"
        "#### Network paths\n\n"
    )


def test_failures_ordered_by_severity_then_report_order() -> None:
    low = msgspec.structs.replace(pc301("sts"), severity=Severity.LOW, message="low one")
    report = Report(version="0.1.0", findings=[low, PC201, pc301("ecr.dkr")])
    rows = [line for line in render(report, OPTIONS).splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[2:]] == ["| high", "| high", "| low"]
    assert "node subnet routes" in rows[2] and "ecr.dkr" in rows[3]


def test_one_mermaid_flowchart_per_failing_cluster() -> None:
    text = render(sample_report(), OPTIONS)
    assert text.count("```mermaid\nflowchart LR\n") == 2
    assert section(text, "**`aws_eks_cluster.this`**", "```\n\n") == (
        "**`aws_eks_cluster.this`**\n\n"
        "```mermaid\n"
        "flowchart LR\n"
        '  n0["aws_eks_cluster.this<br/>PC301"]:::fail\n'
        '  n1["aws_subnet.private[#quot;a#quot;]<br/>PC201"]:::fail\n'
        '  n2["aws_route_table.private"]\n'
        '  n3["aws_route.nat"]\n'
        '  n4["aws_nat_gateway.this"]\n'
        '  n5["aws_vpc.main"]\n'
        '  m0["no ecr.dkr endpoint"]:::missing\n'
        '  m1["no sts endpoint"]:::missing\n'
        "  n0 --> n1\n"
        "  n1 --> n2\n"
        '  n2 -->|"0.0.0.0/0"| n3\n'
        "  n3 --> n4\n"
        "  n0 --> n5\n"
        '  n5 -.->|"PC301"| m0\n'
        '  n5 -.->|"PC301"| m1\n'
        "  classDef fail fill:#ffebe9,stroke:#cf222e,color:#1f2328\n"
        "  classDef missing fill:#fff,stroke:#cf222e,stroke-dasharray:5 5,color:#cf222e\n"
        "```\n\n"
    )
    # the plan's cluster: grouped by the cluster at the head of the evidence chain
    assert section(text, "**`module.eks.aws_eks_cluster.this[0]`**", "```\n\n").endswith(
        '  n0["module.eks.aws_eks_cluster.this[0]"]\n'
        '  n1["module.vpc.aws_vpc_endpoint.ecr_api<br/>PC304"]:::fail\n'
        "  n0 --> n1\n"
        "  classDef fail fill:#ffebe9,stroke:#cf222e,color:#1f2328\n"
        "```\n\n")


def test_suppressed_and_unknown_clusters_get_no_diagram() -> None:
    text = render(sample_report(), OPTIONS)
    diagrams = re.findall(r"\*\*`([^`]+)`\*\*\n\n```mermaid", text)
    assert diagrams == [CLUSTER, "module.eks.aws_eks_cluster.this[0]"]


def test_mermaid_labels_escape_what_mermaid_parses() -> None:
    hostile = 'aws_subnet.x["a\\"b#c<d>&e`f|g"]'
    finding = msgspec.structs.replace(PC201, address=hostile, evidence=(CLUSTER, hostile),
                                  data={})
    chart = flowchart([finding])
    assert chart.splitlines()[2] == (
        '  n1["aws_subnet.x[#quot;a\\#quot;b#35;c#lt;d#gt;#amp;e#96;f#124;g#quot;]'
        '<br/>PC201"]:::fail')
    assert "`" not in chart and "<d>" not in chart


def test_remediation_details() -> None:
    text = render(sample_report(), OPTIONS)
    details = section(text, "<details><summary>Remediation (4)</summary>", "</details>")
    assert (
        "#### `PC301` missing-vpc-endpoint on `aws_eks_cluster.this`\n\n"
        "no sts VPC endpoint in vpc aws\\_vpc.main\n\n"
        "Evidence: `aws_eks_cluster.this` → `aws_vpc.main`\n\n"
        "```hcl\n" + pc301("sts").remediation + "\n```\n\n"
    ) in details
    # a finding without remediation gets no empty code block
    assert details.endswith(
        "Evidence: `module.eks.aws_eks_cluster.this[0]` → "
        "`module.vpc.aws_vpc_endpoint.ecr_api`\n\n</details>")


def test_unknown_and_suppressed_sections() -> None:
    text = render(sample_report(), OPTIONS)
    assert section(text, "<details><summary>Unknown (1)", "</details>") == (
        "<details><summary>Unknown (1): cannot be decided from the input</summary>\n\n"
        "| Rule | Resource | Location | Why |\n| --- | --- | --- | --- |\n"
        "| `PC101` cluster-private-endpoint | `module.eks.aws_eks_cluster.this[0]` | "
        "`plans/plan.json` | vpc\\_config.endpoint\\_private\\_access is not known before apply "
        "(var.private: 50% of &lt;clusters&gt;, see: docs)<br>run on a plan |\n\n</details>")
    assert section(text, "<details><summary>Suppressed (1)", "</details>") == (
        "<details><summary>Suppressed (1)</summary>\n\n"
        "| Rule | Resource | Location | Reason |\n| --- | --- | --- | --- |\n"
        "| `PC102` cluster-public-endpoint | `aws_eks_cluster.this` | `infra/prod/main.tf:12` | "
        "CI runners \\| need &lt;public&gt; access, until: Q3 &amp; 100% |\n\n</details>")
    assert "<summary>Passed" not in text
    with_passes = render(sample_report(), RenderOptions(repo_root=REPO, show_passed=True))
    assert ("| `PC101` cluster-private-endpoint | `aws_eks_cluster.this` | "
            "`infra/prod/main.tf:12` | vpc\\_config.endpoint\\_private\\_access is true |"
            ) in with_passes


def test_clean_report() -> None:
    report = Report(version="0.1.0", findings=[PC101_PASS])
    assert render(report, OPTIONS) == (
        "<!-- tfcheck -->\n### ✅ tfcheck: 0 failed · 0 unknown · 0 suppressed · 1 passed\n")


def test_errors_never_look_clean() -> None:
    report = Report(version="0.1.0", internal_errors=report_with_errors().internal_errors)
    assert render(report, OPTIONS).startswith(
        "<!-- tfcheck -->\n### ❌ tfcheck: 0 failed · 0 unknown · 0 suppressed · 0 passed\n\n"
        "> [!CAUTION]\n> internal error in policy PC401: KeyError('ingress')  \n")
    unknown_only = Report(version="0.1.0", findings=[
        f for f in sample_report().findings if f.status is Status.UNKNOWN])
    assert "### ⚠️ tfcheck: 0 failed · 1 unknown" in render(unknown_only, OPTIONS)


def test_configuration_text_cannot_break_the_table_or_inject_markup() -> None:
    finding = msgspec.structs.replace(
        PC201, address="aws_x.y[\"a|b`c\"]",
        message="<script>alert(1)</script> | *bold* [link](http://x)\nsecond line\x1b[0m",
        remediation='heredoc = <<EOT\n```\nEOT\n````', evidence=())
    text = render(Report(version="0.1.0", findings=[finding]), OPTIONS)
    (row,) = [line for line in text.splitlines() if line.startswith("| high")]
    assert row == (
        "| high | `PC201` node-subnet-internet-route | ``aws_x.y[\"a\\|b`c\"]`` | "
        "`infra/prod/network.tf:40` | &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*bold\\* "
        "\\[link\\](http://x)<br>second line\\[0m |")
    # the snippet's own fences cannot close the block that holds it
    assert "`````hcl\nheredoc = <<EOT\n```\nEOT\n````\n`````" in text
    assert "\x1b" not in text


def test_long_reports_are_truncated_under_the_comment_limit() -> None:
    findings = [
        Finding(rule_id="PC201", slug="node-subnet-internet-route", severity=Severity.HIGH,
                status=Status.FAIL, address=f'aws_subnet.private["{i}"]',
                message="node subnet routes 0.0.0.0/0 to aws_nat_gateway.this " + "x" * 60,
                remediation='remove resource "aws_route" "nat"\n' * 5,
                location=Location("network.tf", i + 1),
                evidence=(CLUSTER, f'aws_subnet.private["{i}"]', "aws_route_table.private"),
                input_path=HCL_ROOT, source_root=HCL_ROOT)
        for i in range(1500)
    ]
    text = render(Report(version="0.1.0", findings=findings), OPTIONS)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    rows = sum(1 for line in text.splitlines() if line.startswith("| high |"))
    assert 100 < rows < 1500
    assert text.endswith(
        f"\n> [!NOTE]\n> Truncated to fit GitHub's comment limit: {1500 - rows} failures, "
        "1 diagram, 1500 remediations left out. `tfcheck scan --format json` gives the "
        "full report.\n")


def test_small_limit_keeps_whole_pieces() -> None:
    text = render_comment(sample_report(), OPTIONS, limit=1000)
    assert len(text) <= 1000
    assert text.count("\n| high |") == 2  # two of the four failure rows fit
    assert "```mermaid" not in text and "<details>" not in text
    assert text.endswith(
        "\n\n> [!NOTE]\n> Truncated to fit GitHub's comment limit: 2 failures, 2 diagrams, "
        "4 remediations, 1 unknown finding, 1 suppressed finding left out. "
        "`tfcheck scan --format json` gives the full report.\n")


def test_deterministic_and_registered() -> None:
    assert render(report_with_errors(), OPTIONS) == render(report_with_errors(), OPTIONS)
    assert renderer("markdown") is render
