from __future__ import annotations

import msgspec
import pytest

from tfcheck.model import Location, Report, Severity
from tfcheck.report import RenderOptions, renderer
from tfcheck.report.github import command, escape_data, escape_property, render

from .report_samples import PC101_UNKNOWN, PC201, REPO, pc301, report_with_errors, sample_report

OPTIONS = RenderOptions(repo_root=REPO)


def lines(report: Report, options: RenderOptions = OPTIONS) -> list[str]:
    return render(report, options).splitlines()


def test_sample_report_exact() -> None:
    assert lines(sample_report()) == [
        '::error file=infra/prod/network.tf,line=40,title=PC201 node-subnet-internet-route::'
        'aws_subnet.private["a"]: node subnet routes 0.0.0.0/0 to aws_nat_gateway.this via '
        'aws_route_table.private%0AEvidence: aws_eks_cluster.this -> aws_subnet.private["a"] '
        '-> aws_route_table.private -> aws_route.nat (0.0.0.0/0) -> aws_nat_gateway.this'
        '%0ARemediation:%0Aremove resource "aws_route" "nat"',
        '::error file=infra/prod/main.tf,line=12,title=PC301 missing-vpc-endpoint::'
        'aws_eks_cluster.this: no ecr.dkr VPC endpoint in vpc aws_vpc.main%0A'
        'Evidence: aws_eks_cluster.this -> aws_vpc.main%0ARemediation:%0A'
        'resource "aws_vpc_endpoint" "ecr_dkr" {%0A  vpc_id              = aws_vpc.main.id%0A'
        '  service_name        = "com.amazonaws.eu-west-1.ecr.dkr"%0A'
        '  vpc_endpoint_type   = "Interface"%0A  private_dns_enabled = true%0A}',
        '::error file=infra/prod/main.tf,line=12,title=PC301 missing-vpc-endpoint::'
        'aws_eks_cluster.this: no sts VPC endpoint in vpc aws_vpc.main%0A'
        'Evidence: aws_eks_cluster.this -> aws_vpc.main%0ARemediation:%0A'
        'resource "aws_vpc_endpoint" "sts" {%0A  vpc_id              = aws_vpc.main.id%0A'
        '  service_name        = "com.amazonaws.eu-west-1.sts"%0A'
        '  vpc_endpoint_type   = "Interface"%0A  private_dns_enabled = true%0A}',
        # medium failure: warning; no source file: annotated on the plan it came from
        "::warning file=plans/plan.json,title=PC304 endpoint-subnet-coverage::"
        'module.vpc.aws_vpc_endpoint.ecr_api: no ENI in eu-west-1c, where aws_subnet.private["c"]'
        " holds nodes%0AEvidence: module.eks.aws_eks_cluster.this[0] -> "
        "module.vpc.aws_vpc_endpoint.ecr_api",
        # unknown: notice; %, newline escaped, the BEL character dropped
        "::notice file=plans/plan.json,title=PC101 cluster-private-endpoint (unknown)::"
        "module.eks.aws_eks_cluster.this[0]: vpc_config.endpoint_private_access is not known "
        "before apply (var.private: 50%25 of <clusters>, see: docs)%0Arun on a plan",
        # suppressed: a plain log line, no annotation
        "tfcheck: suppressed PC102 cluster-public-endpoint on aws_eks_cluster.this "
        "(infra/prod/main.tf:12): CI runners | need <public> access, until: Q3 & 100%25",
        "tfcheck: 4 failed, 1 unknown, 1 suppressed, 1 passed",
    ]


def test_passes_never_annotated() -> None:
    shown = render(sample_report(), RenderOptions(repo_root=REPO, show_passed=True))
    assert shown == render(sample_report(), OPTIONS)
    assert "endpoint_private_access is true" not in shown


def test_errors_before_warnings_before_notices() -> None:
    low = msgspec.structs.replace(PC201, severity=Severity.LOW)
    critical = msgspec.structs.replace(pc301("ecr.api"), severity=Severity.CRITICAL)
    report = Report(version="0.1.0", findings=[PC101_UNKNOWN, low, critical])
    assert [line.split(" ", 1)[0] for line in lines(report)] == [
        "::error", "::warning", "::notice", "tfcheck:"]


def test_input_and_internal_errors() -> None:
    head = lines(report_with_errors())[:2]
    assert head == [
        "::error file=infra/broken/main.tf,line=7,col=3,title=tfcheck input error::"
        "Unexpected token '}'",
        "::error title=tfcheck internal error::policy PC401: KeyError('ingress')",
    ]


def test_properties_escape_colon_and_comma_and_column_is_kept() -> None:
    finding = msgspec.structs.replace(
        pc301("ecr.dkr"), location=Location("a,b:c%.tf", 3, 7), remediation="",
        evidence=(), message="line one\r\nline two")
    (annotation, _summary) = lines(Report(version="0.1.0", findings=[finding]))
    assert annotation == (
        "::error file=infra/prod/a%2Cb%3Ac%25.tf,line=3,col=7,"
        "title=PC301 missing-vpc-endpoint::aws_eks_cluster.this: line one%0D%0Aline two")


@pytest.mark.parametrize("stdin", ["<stdin>", "-"])
def test_no_file_property_for_stdin_findings(stdin: str) -> None:
    finding = msgspec.structs.replace(PC101_UNKNOWN, input_path=stdin, message="m")
    (annotation, _summary) = lines(Report(version="0.1.0", findings=[finding]))
    assert annotation == (
        "::notice title=PC101 cluster-private-endpoint (unknown)::"
        "module.eks.aws_eks_cluster.this[0]: m")


def test_configuration_text_cannot_start_a_command_of_its_own() -> None:
    hostile = msgspec.structs.replace(
        pc301("ecr.dkr"), message="x\n::add-mask::secret\n\x1b[2Kgone",
        remediation="", evidence=())
    suppressed = msgspec.structs.replace(hostile, suppressed=True,
                                     suppression_reason="ok\n::stop-commands::token")
    output = render(Report(version="0.1.0", findings=[hostile, suppressed]), OPTIONS)
    assert all(line.startswith(("::error ", "tfcheck: ")) for line in output.splitlines())
    assert "\x1b" not in output
    assert "x%0A::add-mask::secret%0A[2Kgone" in output
    assert "ok%0A::stop-commands::token" in output


def test_escape_functions_match_actions_toolkit() -> None:
    assert escape_data("100% \r\n: ,") == "100%25 %0D%0A: ,"
    assert escape_property("100% \r\n: ,") == "100%25 %0D%0A%3A %2C"
    assert command("warning", "m") == "::warning::m"


def test_deterministic_and_registered() -> None:
    assert render(sample_report(), OPTIONS) == render(sample_report(), OPTIONS)
    assert renderer("github") is render
