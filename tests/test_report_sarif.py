from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest

from tfcheck.model import Finding, Location, Report, Severity, Status
from tfcheck.report import RenderOptions, renderer
from tfcheck.report.sarif import render

from .conftest import SHARED
from .report_samples import (
    CLUSTER,
    IN_MODULE,
    PC101_PASS,
    PC101_UNKNOWN,
    PC102_SUPPRESSED,
    REPO,
    pc301,
    report_with_errors,
    sample_report,
    terminal_report,
)

SCHEMA_PATH = SHARED / "sarif" / "sarif-schema-2.1.0.json"
OPTIONS = RenderOptions(repo_root=REPO)


def sarif(report: Report, options: RenderOptions = OPTIONS) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render(report, options))
    return document


def results_by(document: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [r for r in document["runs"][0]["results"] if r["ruleId"] == rule_id]


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"the official SARIF schema is not at {SCHEMA_PATH} (outside the repo)")
    schema = json.loads(SCHEMA_PATH.read_text())
    # The official schema declares draft-04; validate with that draft's rules.
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize(
    "report, options",
    [
        (sample_report(), OPTIONS),
        (sample_report(), RenderOptions(repo_root=REPO, show_passed=True)),
        (report_with_errors(), OPTIONS),
        (Report(version="0.1.0"), OPTIONS),
        (terminal_report(), OPTIONS),
    ],
    ids=["sample", "show-passed", "errors", "empty", "module-and-groups"],
)
def test_valid_against_the_official_schema(validator: Any, report: Report,
                                           options: RenderOptions) -> None:
    errors = sorted(validator.iter_errors(sarif(report, options)), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("show_passed", [False, True])
def test_meets_github_code_scanning_constraints(show_passed: bool) -> None:
    document = sarif(report_with_errors(), RenderOptions(repo_root=REPO, show_passed=show_passed))
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "tfcheck"
    assert urlsplit(driver["informationUri"]).scheme == "https"
    rules = driver["rules"]
    assert len({rule["id"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0.0 < float(rule["properties"]["security-severity"]) <= 10.0
        assert "security" in rule["properties"]["tags"]
        assert len(rule["properties"]["tags"]) <= 20
    for result in document["runs"][0]["results"]:
        assert result["ruleId"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].strip()
        if result["kind"] != "fail":  # SARIF 3.27.10
            assert result["level"] == "none"
        # code scanning rejects the whole upload over one result without a file
        assert 1 <= len(result["locations"]) <= 10
        for location in result["locations"]:
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert uri and not uri.startswith("/") and not urlsplit(uri).scheme
            assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert location["physicalLocation"].get("region", {}).get("startLine", 1) >= 1
        assert len(result["partialFingerprints"]["tfcheck/v1"]) == 32


def test_failure_result_exact() -> None:
    (ecr, _sts) = results_by(sarif(sample_report()), "PC301")
    rules = sarif(sample_report())["runs"][0]["tool"]["driver"]["rules"]
    assert ecr == {
        "ruleId": "PC301",
        "ruleIndex": [r["id"] for r in rules].index("PC301"),
        "kind": "fail",
        "level": "error",
        "message": {
            "text": "aws_eks_cluster.this: no ecr.dkr VPC endpoint in vpc aws_vpc.main "
                    "(evidence: aws_eks_cluster.this -> aws_vpc.main)"
        },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": "infra/prod/main.tf", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 12},
            },
            "logicalLocations": [{"fullyQualifiedName": CLUSTER, "kind": "resource"}],
        }],
        "partialFingerprints": {"tfcheck/v1": pc301("ecr.dkr").fingerprint},
        "properties": {
            "severity": "high",
            "status": "fail",
            "address": CLUSTER,
            "evidence": [CLUSTER, "aws_vpc.main"],
            "data": {"service": "ecr.dkr", "required_by": ["aws_eks_node_group.default"]},
            "remediation": pc301("ecr.dkr").remediation,
        },
    }


def test_rules_carry_policy_docs_and_github_severity() -> None:
    rules = sarif(sample_report())["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["PC101", "PC102", "PC201", "PC301", "PC304"]
    pc301_rule = rules[3]
    assert pc301_rule["name"] == "missing-vpc-endpoint"
    assert pc301_rule["shortDescription"] == {
        "text": "Every service the cluster needs has a VPC endpoint"}
    assert pc301_rule["fullDescription"] == {
        "text": "Every AWS service the nodes call has a VPC endpoint in the cluster's VPC."}
    assert pc301_rule["helpUri"] == (
        "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html")
    markdown = pc301_rule["help"]["markdown"]
    assert markdown.startswith(
        "# PC301 missing-vpc-endpoint: Every service the cluster needs has a VPC endpoint\n\n"
        "Every AWS service")
    assert "## Remediation\nAdd an interface endpoint for the service." in markdown
    assert '```hcl\nresource "aws_vpc_endpoint" "ecr_dkr" {' in markdown
    assert pc301_rule["help"]["text"].endswith(
        "Reference: https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html")
    assert pc301_rule["defaultConfiguration"] == {"level": "error"}
    assert pc301_rule["properties"] == {
        "tags": ["security", "terraform", "aws", "eks"],
        "security-severity": "8.0",
        "severity": "high",
    }
    medium = rules[1]  # PC102: no doc, no URL
    assert "help" not in medium and "helpUri" not in medium
    assert medium["fullDescription"] == {"text": "Cluster API endpoint is not publicly reachable"}
    assert medium["defaultConfiguration"] == {"level": "warning"}
    assert medium["properties"]["security-severity"] == "5.5"


def test_unknown_is_a_review_result_anchored_on_the_plan() -> None:
    (unknown,) = results_by(sarif(sample_report()), "PC101")
    assert unknown["kind"] == "review"
    assert unknown["level"] == "none"
    assert unknown["message"]["text"] == (
        "unknown: module.eks.aws_eks_cluster.this[0]: " + PC101_UNKNOWN.message)
    assert unknown["locations"] == [{
        "physicalLocation": {
            "artifactLocation": {"uri": "plans/plan.json", "uriBaseId": "%SRCROOT%"}},
        "logicalLocations": [{"fullyQualifiedName": "module.eks.aws_eks_cluster.this[0]",
                              "kind": "resource"}],
    }]


@pytest.mark.parametrize("stdin", ["<stdin>", "-"])
def test_finding_from_stdin_without_file_is_anchored_on_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdin: str) -> None:
    monkeypatch.chdir(tmp_path)
    finding = msgspec.structs.replace(PC101_UNKNOWN, input_path=stdin)
    report = Report(version="0.1.0", findings=[finding])
    (result,) = sarif(report, RenderOptions())["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": ".", "uriBaseId": "%SRCROOT%"}}
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path / "stacks")
    (result,) = sarif(report, RenderOptions(repo_root=str(tmp_path)))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks"


def test_suppressed_finding_carries_an_in_source_suppression() -> None:
    (suppressed,) = results_by(sarif(sample_report()), "PC102")
    assert suppressed["kind"] == "fail"
    assert suppressed["level"] == "warning"
    assert suppressed["suppressions"] == [{
        "kind": "inSource",
        "status": "accepted",
        "justification": "CI runners | need <public> access, until: Q3 & 100%",
    }]
    unsuppressed = results_by(sarif(sample_report()), "PC301")
    assert all("suppressions" not in r for r in unsuppressed)


def test_severity_override_shows_in_level_not_rule() -> None:
    high = msgspec.structs.replace(PC102_SUPPRESSED, severity=Severity.HIGH, suppressed=False,
                               suppression_reason=None)
    report = Report(version="0.1.0", rules=sample_report().rules, findings=[high])
    (result,) = sarif(report)["runs"][0]["results"]
    assert result["level"] == "error"
    assert result["properties"]["severity"] == "high"


def test_pass_results_only_with_show_passed() -> None:
    assert not [r for r in sarif(sample_report())["runs"][0]["results"] if r["kind"] == "pass"]
    document = sarif(sample_report(), RenderOptions(repo_root=REPO, show_passed=True))
    passes = [r for r in document["runs"][0]["results"] if r["kind"] == "pass"]
    assert [(p["ruleId"], p["level"], p["message"]["text"]) for p in passes] == [
        ("PC101", "none", "pass: aws_eks_cluster.this: vpc_config.endpoint_private_access is true")
    ]
    assert passes[0]["partialFingerprints"] == {"tfcheck/v1": PC101_PASS.fingerprint}


def test_results_in_report_order() -> None:
    results = sarif(sample_report())["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["address"]) for r in results] == [
        ("PC102", CLUSTER),
        ("PC201", 'aws_subnet.private["a"]'),
        ("PC301", CLUSTER),
        ("PC301", CLUSTER),
        ("PC101", "module.eks.aws_eks_cluster.this[0]"),
        ("PC304", "module.vpc.aws_vpc_endpoint.ecr_api"),
    ]


def test_deterministic_and_fingerprints_survive_line_moves() -> None:
    assert render(sample_report(), OPTIONS) == render(sample_report(), OPTIONS)
    moved = Report(version="0.1.0", findings=[pc301("ecr.dkr", line=80)])
    here = Report(version="0.1.0", findings=[pc301("ecr.dkr", line=12)])
    fingerprints = [sarif(r)["runs"][0]["results"][0]["partialFingerprints"]
                    for r in (moved, here)]
    assert fingerprints[0] == fingerprints[1]
    other = sarif(Report(version="0.1.0", findings=[pc301("sts")]))["runs"][0]["results"][0]
    assert other["partialFingerprints"] != fingerprints[0]


def test_rule_made_from_finding_when_report_lists_none() -> None:
    finding = Finding(rule_id="ACME1", slug="acme-thing", severity=Severity.LOW,
                      status=Status.FAIL, address="aws_s3_bucket.logs", message="acme says no",
                      location=Location("s3.tf", 3), source_root=REPO)
    document = sarif(Report(version="0.1.0", findings=[finding]))
    (rule,) = document["runs"][0]["tool"]["driver"]["rules"]
    assert rule == {
        "id": "ACME1",
        "name": "acme-thing",
        "shortDescription": {"text": "acme-thing"},
        "fullDescription": {"text": "acme-thing"},
        "defaultConfiguration": {"level": "note"},
        "properties": {"tags": ["security", "terraform", "aws", "eks"],
                       "security-severity": "3.0", "severity": "low"},
    }
    result = document["runs"][0]["results"][0]
    assert (result["ruleIndex"], result["level"]) == (0, "note")
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s3.tf"


def test_paths_relative_to_cwd_by_default_and_uri_escaped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    finding = msgspec.structs.replace(pc301("ecr.dkr"), source_root="stacks/eu west",
                                  location=Location("main#1.tf", 5))
    result = sarif(Report(version="0.1.0", findings=[finding]),
                   RenderOptions())["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "stacks/eu%20west/main%231.tf"


def test_a_file_outside_the_repository_keeps_a_relative_path_everywhere(tmp_path: Path) -> None:
    """The same root-relative path in every format (spec); code scanning rejects absolute URIs."""
    root, outside = tmp_path / "repo", tmp_path / "elsewhere"
    finding = msgspec.structs.replace(pc301("ecr.dkr"), source_root=str(outside),
                                  input_path=str(outside))
    report = Report(version="0.1.0", findings=[finding])
    result = sarif(report, RenderOptions(repo_root=str(root)))["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "../elsewhere/main.tf", "uriBaseId": "%SRCROOT%"}
    document = json.loads(renderer("json")(report, RenderOptions(repo_root=str(root))))
    assert document["findings"][0]["file"] == "../elsewhere/main.tf"


def test_errors_become_tool_execution_notifications() -> None:
    invocation = sarif(report_with_errors())["runs"][0]["invocations"][0]
    assert invocation == {
        "executionSuccessful": False,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": "/repo/infra/broken/main.tf:7:3: Unexpected token '}'"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "infra/broken/main.tf",
                                         "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 7},
                }}],
            },
            {"level": "error",
             "message": {"text": "internal error in policy PC401: KeyError('ingress')"}},
        ],
    }
    assert sarif(sample_report())["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_registered_as_the_sarif_format() -> None:
    assert renderer("sarif") is render


def test_a_finding_inside_a_module_points_at_the_module_block() -> None:
    report = Report(version="0.1.0", findings=[IN_MODULE])
    (result,) = sarif(report)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "infra/prod/main.tf"
    assert location["region"] == {"startLine": 30, "startColumn": 1}
    assert result["relatedLocations"] == [{
        "id": 0, "message": {"text": "module.nodes.aws_launch_template.this[0] inside its module"},
        "physicalLocation": {
            "artifactLocation": {"uri": "infra/prod/.terraform/modules/nodes/launch_template.tf",
                                 "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 8}}}]
