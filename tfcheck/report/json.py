"""The machine contract (`--format json`): stable field names, additive changes only.

See ../shared/spec/interface.md. Output is deterministic: the same input gives
byte-identical output.
"""

from __future__ import annotations

import json
from typing import Any

from tfcheck.model import Finding, Report
from tfcheck.report import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(as_document(report, options), indent=2, ensure_ascii=False) + "\n"


def as_document(report: Report, options: RenderOptions) -> dict[str, Any]:
    return {
        "tool": {"name": "tfcheck", "version": report.version},
        "inputs": [{"path": i.path, "kind": i.kind} for i in report.inputs],
        "findings": [finding_document(f) for f in report.visible(options.show_passed)],
        "summary": report.summary(),
        "errors": [
            {"path": e.path, "line": e.line, "column": e.column, "message": e.message}
            for e in report.input_errors
        ],
        "internal_errors": [
            {"where": e.where, "message": e.message} for e in report.internal_errors
        ],
        "warnings": list(report.notes),
    }


def finding_document(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "slug": finding.slug,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "address": finding.address,
        "file": finding.location.file,
        "line": finding.location.line,
        "message": finding.message,
        "remediation": finding.remediation,
        "evidence": list(finding.evidence),
        "data": dict(finding.data),
        "suppressed": finding.suppressed,
        "suppression_reason": finding.suppression_reason,
        "input": finding.input_path,
        "fingerprint": finding.fingerprint,
    }
