"""The machine contract (`--format json`): stable field names, additive changes only.

See ../shared/spec/interface.md. Output is deterministic: the same input gives
byte-identical output. Paths (`file`, `inputs[].path`, `errors[].path`) are relative to
the repository root, as in SARIF and the annotations. Additive fields beyond the
contract: `related` (for a finding inside a module, the resource's own place, while
`file`/`line` is the root `module` block), `summary.baselined`, and
`summary.unchecked_clusters` when the config's `clusters` leaves some out.
"""

from __future__ import annotations

from typing import Any

from tfcheck.model import Finding, Report
from tfcheck.report import RenderOptions
from tfcheck.report.common import indented_json, input_file_path, related_paths, source_path


def render(report: Report, options: RenderOptions) -> str:
    return indented_json(as_document(report, options)) + "\n"


def as_document(report: Report, options: RenderOptions) -> dict[str, Any]:
    return {
        "tool": {"name": "tfcheck", "version": report.version},
        "inputs": [{"path": _input_path(i.path, options), "kind": i.kind}
                   for i in report.inputs],
        "findings": [finding_document(f, options)
                     for f in report.visible(options.show_passed)],
        "summary": {**report.summary(), "baselined": report.baselined,
                    **({"unchecked_clusters": list(report.unchecked_clusters)}
                       if report.unchecked_clusters else {})},
        "errors": [
            {"path": _input_path(e.path, options), "line": e.line, "column": e.column,
             "message": e.message}
            for e in report.input_errors
        ],
        "internal_errors": [
            {"where": e.where, "message": e.message} for e in report.internal_errors
        ],
        "warnings": list(report.notes),
    }


def _input_path(path: str, options: RenderOptions) -> str:
    return input_file_path(path, options.repo_root) or path


def finding_document(finding: Finding, options: RenderOptions | None = None) -> dict[str, Any]:
    """One finding; `file` is relative to the repository root, as in every format."""
    repo_root = options.repo_root if options else None
    return {
        "rule_id": finding.rule_id,
        "slug": finding.slug,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "address": finding.address,
        "file": source_path(finding, repo_root),
        "line": finding.location.line,
        "message": finding.message,
        "remediation": finding.remediation,
        "evidence": list(finding.evidence),
        "data": dict(finding.data),
        "suppressed": finding.suppressed,
        "suppression_reason": finding.suppression_reason,
        "input": input_file_path(finding.input_path or "", repo_root) or finding.input_path,
        "related": [{"file": path, "line": location.line}
                    for location, path in related_paths(finding, repo_root)],
        "fingerprint": finding.fingerprint,
    }
