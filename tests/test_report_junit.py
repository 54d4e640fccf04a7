from __future__ import annotations

import xml.etree.ElementTree as ET

import msgspec

from tfcheck.model import Report, ScannedInput
from tfcheck.report import RenderOptions, renderer
from tfcheck.report.junit import render

from .report_samples import (
    CLUSTER,
    HCL_ROOT,
    PC101_UNKNOWN,
    PC102_SUPPRESSED,
    REPO,
    pc301,
    report_with_errors,
    sample_report,
)

OPTIONS = RenderOptions(repo_root=REPO)


def parse(report: Report, options: RenderOptions = OPTIONS) -> ET.Element:
    text = render(report, options)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    return ET.fromstring(text.encode())


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def test_one_testcase_per_policy_and_resource() -> None:
    root = parse(sample_report(), RenderOptions(repo_root=REPO, show_passed=True))
    assert [(s.get("name"), [(c.get("classname"), c.get("name")) for c in s.iter("testcase")])
            for s in root.iter("testsuite")] == [
        ("infra/prod", [
            ("PC101/cluster-private-endpoint", CLUSTER),
            ("PC102/cluster-public-endpoint", CLUSTER),
            ("PC201/node-subnet-internet-route", 'aws_subnet.private["a"]'),
            ("PC301/missing-vpc-endpoint", CLUSTER),  # two findings, one case
            ("PC304/endpoint-subnet-coverage", "no failure on any resource"),
        ]),
        ("plans/plan.json", [
            ("PC101/cluster-private-endpoint", "module.eks.aws_eks_cluster.this[0]"),
            ("PC304/endpoint-subnet-coverage", "module.vpc.aws_vpc_endpoint.ecr_api"),
            ("PC102/cluster-public-endpoint", "no failure on any resource"),
            ("PC201/node-subnet-internet-route", "no failure on any resource"),
            ("PC301/missing-vpc-endpoint", "no failure on any resource"),
        ]),
    ]


def test_a_clean_run_still_has_a_passing_testcase_per_rule() -> None:
    clean = msgspec.structs.replace(sample_report(), findings=[])
    root = parse(clean)
    assert root.get("tests") == str(2 * len(clean.rules)) and root.get("failures") == "0"
    assert all(case.find("failure") is None for case in root.iter("testcase"))


def test_failure_lists_every_finding_of_the_case() -> None:
    case = cases(parse(sample_report()))[("PC301/missing-vpc-endpoint", CLUSTER)]
    assert case.attrib == {"classname": "PC301/missing-vpc-endpoint", "name": CLUSTER,
                           "file": "infra/prod/main.tf", "line": "12", "time": "0"}
    assert [(p.get("name"), p.get("value")) for p in case.iter("property")] == [
        ("severity", "high"),
        ("fingerprint", pc301("ecr.dkr").fingerprint),
        ("fingerprint", pc301("sts").fingerprint),
    ]
    (failure,) = case.findall("failure")
    assert failure.attrib == {
        "message": "2 failures: no ecr.dkr VPC endpoint in vpc aws_vpc.main; "
                   "no sts VPC endpoint in vpc aws_vpc.main",
        "type": "high",
    }
    assert failure.text == (
        "[high fail] PC301 missing-vpc-endpoint on aws_eks_cluster.this (infra/prod/main.tf:12)\n"
        "no ecr.dkr VPC endpoint in vpc aws_vpc.main\n"
        "Evidence: aws_eks_cluster.this -> aws_vpc.main\n"
        f"Remediation:\n{pc301('ecr.dkr').remediation}\n\n"
        "[high fail] PC301 missing-vpc-endpoint on aws_eks_cluster.this (infra/prod/main.tf:12)\n"
        "no sts VPC endpoint in vpc aws_vpc.main\n"
        "Evidence: aws_eks_cluster.this -> aws_vpc.main\n"
        f"Remediation:\n{pc301('sts').remediation}"
    )
    assert case.find("skipped") is None


def test_unknown_and_suppressed_are_skipped_with_the_reason() -> None:
    found = cases(parse(sample_report()))
    unknown = found[("PC101/cluster-private-endpoint", "module.eks.aws_eks_cluster.this[0]")]
    assert unknown.find("failure") is None
    assert unknown.attrib["file"] == "plans/plan.json" and "line" not in unknown.attrib
    # the BEL at the end of the message is dropped; the newline survives as &#10;
    assert unknown.find("skipped").attrib == {
        "message": "unknown: " + PC101_UNKNOWN.message.rstrip("\x07")}
    suppressed = found[("PC102/cluster-public-endpoint", CLUSTER)]
    assert suppressed.find("failure") is None
    assert suppressed.find("skipped").attrib == {
        "message": "suppressed: CI runners | need <public> access, until: Q3 & 100%"}
    assert ("suppression", "CI runners | need <public> access, until: Q3 & 100%") in [
        (p.get("name"), p.get("value")) for p in suppressed.iter("property")]


def test_suppressed_failure_beside_a_live_one_stays_a_failure() -> None:
    live = pc301("ecr.dkr")
    muted = msgspec.structs.replace(pc301("sts"), suppressed=True, suppression_reason="later")
    (case,) = parse(Report(version="0.1.0", findings=[live, muted])).iter("testcase")
    failure = case.find("failure")
    assert failure is not None and case.find("skipped") is None
    assert failure.get("message") == "no ecr.dkr VPC endpoint in vpc aws_vpc.main"
    assert "[high suppressed] PC301 missing-vpc-endpoint" in (failure.text or "")
    assert "Suppressed: later" in (failure.text or "")


def test_passes_only_with_show_passed() -> None:
    key = ("PC101/cluster-private-endpoint", CLUSTER)
    assert key not in cases(parse(sample_report()))
    case = cases(parse(sample_report(), RenderOptions(repo_root=REPO, show_passed=True)))[key]
    assert [child.tag for child in case] == ["properties"]


def test_counts_match_the_cases() -> None:
    root = parse(report_with_errors(), RenderOptions(repo_root=REPO, show_passed=True))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.iter("testsuite"):
        here = list(suite.iter("testcase"))
        expected = {
            "tests": len(here),
            "failures": sum(c.find("failure") is not None for c in here),
            "errors": sum(c.find("error") is not None for c in here),
            "skipped": sum(c.find("skipped") is not None for c in here),
        }
        assert {k: int(suite.attrib[k]) for k in expected} == expected
        for key, value in expected.items():
            totals[key] += value
    assert {k: int(root.attrib[k]) for k in totals} == totals == {
        "tests": 12, "failures": 3, "errors": 2, "skipped": 2}  # 4 rules that passed on an input


def test_errors_are_error_cases() -> None:
    root = parse(report_with_errors())
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    (input_case,) = suites["infra/broken/main.tf"].iter("testcase")
    assert input_case.get("classname") == "tfcheck/input-error"
    assert input_case.get("line") == "7"
    assert input_case.find("error").attrib == {
        "message": "/repo/infra/broken/main.tf:7:3: Unexpected token '}'", "type": "InputError"}
    (internal,) = suites["tfcheck"].iter("testcase")
    assert (internal.get("classname"), internal.get("name")) == (
        "tfcheck/internal-error", "policy PC401")
    assert "Traceback" not in render(report_with_errors(), OPTIONS)


def test_every_input_has_a_suite_even_without_findings() -> None:
    report = Report(version="0.1.0", inputs=[ScannedInput(HCL_ROOT, "hcl")])
    root = parse(report)
    (suite,) = root.iter("testsuite")
    assert suite.get("name") == "infra/prod" and suite.get("tests") == "0"
    assert [(p.get("name"), p.get("value")) for p in suite.iter("property")] == [
        ("tfcheck.version", "0.1.0"), ("input.kind", "hcl")]


def test_hostile_text_stays_well_formed_xml() -> None:
    nasty = 'a]]>b<c>&d"e\'\x00\x1b[31m\ufffe\n'
    finding = msgspec.structs.replace(PC102_SUPPRESSED, suppressed=False, message=nasty,
                                  address=f"aws_x.y[{nasty!r}]", remediation=nasty)
    text = render(Report(version="0.1.0", findings=[finding]), OPTIONS)
    assert "\x00" not in text and "\x1b" not in text and "\ufffe" not in text
    (case,) = ET.fromstring(text.encode()).iter("testcase")
    assert case.find("failure").get("message") == 'a]]>b<c>&d"e\'[31m\n'


def test_deterministic_and_registered() -> None:
    assert render(report_with_errors(), OPTIONS) == render(report_with_errors(), OPTIONS)
    assert renderer("junit") is render
