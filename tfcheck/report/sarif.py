"""SARIF 2.1.0 for GitHub code scanning (`--format sarif`).

Decisions, each made for what code scanning does with the file:

- **Rules** are every policy that ran (`Report.rules`), not only those that fired, so
  code scanning can tell "ran and found nothing" from "not run" and close fixed alerts.
  `properties.security-severity` (critical 9.5, high 8.0, medium 5.5, low 3.0) and the
  `security` tag make GitHub file them as security alerts with that severity; GitHub
  reads severity from the rule only, so a finding whose severity differs from its
  policy's (PC102 open to the world) carries it in `level` and `properties.severity`.
- **Locations.** Code scanning rejects a whole upload when one result lacks a
  `physicalLocation` with a relative `artifactLocation.uri`. Every result therefore
  has one: the resource's file (from the repository root, `uriBaseId` `%SRCROOT%`, no
  `originalUriBaseIds` so the output holds no machine-specific absolute path), else the
  plan file it came from, else the working directory; `region` only where the line is
  known. The resource address is always given too, as a logical location.
- **Modules.** A finding on a resource inside a module is located at the root
  `module` block (the code the user edits); the resource's own block is a
  `relatedLocations` entry.
- **Fingerprints.** `partialFingerprints["tfcheck/v1"]` is `Finding.fingerprint`
  (rule, address and the datum that tells findings on one address apart): stable when
  lines move, so alerts are not closed and reopened by unrelated edits.
- **Status.** `fail` is `kind: fail` with the severity's level. `unknown` is
  `kind: review` ("needs a human to decide", SARIF 3.27.9) with `level: none`, which
  SARIF requires for any kind but `fail`; its message starts with "unknown:" because
  GitHub shows every result as an alert whatever its kind. `pass` results (`kind:
  pass`) appear only with `--show-passed` — which is therefore not for code scanning.
- **Suppressed** findings keep their kind and level and carry
  `suppressions: [{kind: inSource, status: accepted, justification}]`.
- Input and internal errors become `invocations[0].toolExecutionNotifications`, with
  `executionSuccessful` false.

Output is deterministic: results in the report's order, no timestamps.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any
from urllib.parse import quote

from tfcheck.model import Finding, Report, RuleInfo, Severity, Status
from tfcheck.report import RenderOptions
from tfcheck.report.common import (
    anchor_path,
    indented_json,
    input_file_path,
    line_of,
    related_paths,
    repo_path,
)
from tfcheck.report.text import doc_for_readers

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "tfcheck/v1"
SOURCE_ROOT = "%SRCROOT%"
FALLBACK_INFORMATION_URI = "https://pypi.org/project/tfcheck/"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub's bands: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
RULE_TAGS = ("security", "terraform", "aws", "eks")


def render(report: Report, options: RenderOptions) -> str:
    return indented_json(as_document(report, options), default=str) + "\n"


def as_document(report: Report, options: RenderOptions) -> dict[str, Any]:
    findings = report.visible(options.show_passed)
    rules = _rules(report.rules, findings)
    index = {rule.id: i for i, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tfcheck",
                        "version": report.version,
                        "semanticVersion": report.version,
                        "informationUri": _information_uri(),
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "invocations": [_invocation(report, options)],
                "results": [_result(f, index[f.rule_id], options) for f in findings],
            }
        ],
    }


def _rules(ran: list[RuleInfo], findings: list[Finding]) -> list[RuleInfo]:
    """The policies that ran, plus one made from the finding for any that is not listed.

    A report built without rule metadata (or a third-party pack that emits an ID it did
    not declare) must still give every result a rule to point at.
    """
    rules = {rule.id: rule for rule in ran}
    for finding in findings:
        if finding.rule_id not in rules:
            rules[finding.rule_id] = RuleInfo(
                id=finding.rule_id, slug=finding.slug, severity=finding.severity,
                title=finding.slug,
            )
    return sorted(rules.values(), key=lambda rule: rule.id)


def _rule(rule: RuleInfo) -> dict[str, Any]:
    summary = rule.doc.split("\n", 1)[0].strip() if rule.doc else ""
    document: dict[str, Any] = {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": summary or rule.title},
    }
    if rule.doc:
        reference = f"\n\nReference: {rule.docs_url}" if rule.docs_url else ""
        doc = doc_for_readers(rule.doc)
        document["help"] = {
            "text": doc + reference,
            "markdown": f"# {rule.id} {rule.slug}: {rule.title}\n\n{doc}"
            + (f"\n\nReference: <{rule.docs_url}>" if rule.docs_url else ""),
        }
    if rule.docs_url:
        document["helpUri"] = rule.docs_url
    document["defaultConfiguration"] = {"level": LEVEL[rule.severity]}
    document["properties"] = {
        "tags": list(RULE_TAGS),
        "security-severity": SECURITY_SEVERITY[rule.severity],
        "severity": rule.severity.value,
    }
    return document


def _result(finding: Finding, rule_index: int, options: RenderOptions) -> dict[str, Any]:
    kind, level = _kind_and_level(finding)
    prefix = {"fail": "", "review": "unknown: ", "pass": "pass: "}[kind]
    text = f"{prefix}{finding.address}: {finding.message}"
    if finding.evidence:
        text += f" (evidence: {' -> '.join(finding.evidence)})"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": text},
        "locations": [_location(finding, options)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    related = [
        {"id": number, "message": {"text": f"{finding.address} inside its module"},
         "physicalLocation": {
             "artifactLocation": {"uri": _uri(path), "uriBaseId": SOURCE_ROOT},
             **({"region": {"startLine": location.line}} if location.line else {})}}
        for number, (location, path) in enumerate(related_paths(finding, options.repo_root))
    ]
    if related:
        result["relatedLocations"] = related
    if finding.suppressed:
        result["suppressions"] = [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": finding.suppression_reason or "",
            }
        ]
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "status": finding.status.value,
        "address": finding.address,
    }
    if finding.evidence:
        properties["evidence"] = list(finding.evidence)
    if finding.data:
        properties["data"] = dict(finding.data)
    if finding.remediation:
        properties["remediation"] = finding.remediation
    result["properties"] = properties
    return result


def _kind_and_level(finding: Finding) -> tuple[str, str]:
    if finding.status is Status.FAIL:
        return "fail", LEVEL[finding.severity]
    # SARIF 3.27.10: a level other than "none" requires kind "fail".
    if finding.status is Status.UNKNOWN:
        return "review", "none"
    return "pass", "none"


def _location(finding: Finding, options: RenderOptions) -> dict[str, Any]:
    path = anchor_path(finding, options.repo_root) or repo_path(".", options.repo_root)
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": _uri(path), "uriBaseId": SOURCE_ROOT},
    }
    line = line_of(finding)
    if line is not None and line >= 1:
        region: dict[str, Any] = {"startLine": line}
        if finding.location.column:
            region["startColumn"] = finding.location.column
        physical["region"] = region
    return {
        "physicalLocation": physical,
        "logicalLocations": [{"fullyQualifiedName": finding.address, "kind": "resource"}],
    }


def _uri(path: str) -> str:
    """A relative URI reference for a `/`-separated path (spaces, `#`, `%` escaped)."""
    return quote(path, safe="/")


def _invocation(report: Report, options: RenderOptions) -> dict[str, Any]:
    notifications: list[dict[str, Any]] = []
    for error in report.input_errors:
        notification: dict[str, Any] = {"level": "error", "message": {"text": str(error)}}
        region = {"startLine": error.line} if error.line else None
        path = input_file_path(error.path, options.repo_root)
        if path is not None:
            physical: dict[str, Any] = {
                "artifactLocation": {"uri": _uri(path), "uriBaseId": SOURCE_ROOT},
            }
            if region:
                physical["region"] = region
            notification["locations"] = [{"physicalLocation": physical}]
        notifications.append(notification)
    for internal in report.internal_errors:
        notifications.append({
            "level": "error",
            "message": {"text": f"internal error in {internal.where}: {internal.message}"},
        })
    for note in report.notes:
        notifications.append({"level": "warning", "message": {"text": note}})
    invocation: dict[str, Any] = {
        "executionSuccessful": not (report.input_errors or report.internal_errors),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _information_uri() -> str:
    """The project's home page from the installed metadata, else its PyPI page."""
    try:
        urls = metadata.metadata("tfcheck").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("homepage", "home", "repository", "source") and url:
            return url.strip()
    return FALLBACK_INFORMATION_URI
