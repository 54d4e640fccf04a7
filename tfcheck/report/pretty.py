"""The human format: findings grouped by cluster, severity colours, evidence chains.

Plain text (no colour codes) when not writing to a terminal or when NO_COLOR is set;
the CLI decides and passes `options.color`.
"""

from __future__ import annotations

import io
import textwrap
from collections import defaultdict

from rich.console import Console
from rich.text import Text

from tfcheck.model import Finding, Report, Severity, Status
from tfcheck.report import RenderOptions
from tfcheck.report.common import NO_CLUSTER, cluster_of, where

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
BODY_INDENT = 11
STATUS_STYLE = {Status.FAIL: "red", Status.UNKNOWN: "magenta", Status.PASS: "green"}


def render(report: Report, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color,
                      width=options.width or 120, highlight=False, soft_wrap=False)
    for error in report.input_errors:
        console.print(Text(f"error: {error}", style="bold red"))
    for internal in report.internal_errors:
        console.print(Text(f"internal error in {internal.where}: {internal.message}",
                           style="bold red"))
    for note in report.notes:
        console.print(Text(f"warning: {note}", style="yellow"))

    shown = [f for f in report.visible(options.show_passed) if not f.suppressed]
    for cluster, findings in _by_cluster(shown).items():
        console.print()
        console.print(Text(cluster, style="bold"))
        for finding in findings:
            _print_finding(console, finding, options.repo_root)
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        console.print()
        console.print(Text("Suppressed", style="bold"))
        for finding in suppressed:
            console.print(Text(f"  {finding.rule_id} {finding.address}: "
                               f"{finding.suppression_reason}", style="dim"))
    console.print()
    console.print(_summary_line(report))
    return buffer.getvalue()


def _print_finding(console: Console, finding: Finding, repo_root: str | None) -> None:
    """A header line, then the message and the evidence that decided it, indented."""
    header = Text("  ")
    header.append(f"{finding.severity.value.upper():<8}", style=SEVERITY_STYLE[finding.severity])
    header.append(f" {finding.rule_id} ", style="bold")
    header.append(finding.slug)
    if finding.status is not Status.FAIL:
        header.append(f" [{finding.status.value}]", style=STATUS_STYLE[finding.status])
    header.append(f"  {finding.address}", style="bold")
    place = where(finding, repo_root)
    if place:
        header.append(f"  {place}", style="dim")
    console.print(header)
    width = max(40, console.width - BODY_INDENT)
    indent = " " * BODY_INDENT
    for line in textwrap.wrap(finding.message, width) or [""]:
        console.print(Text(indent + line))
    if finding.evidence:
        evidence = "evidence: " + " -> ".join(finding.evidence)
        for line in textwrap.wrap(evidence, width, break_on_hyphens=False):
            console.print(Text(indent + line, style="dim"))


def _by_cluster(findings: list[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped under the cluster they concern, clusters in address order."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[cluster_of(finding)].append(finding)
    ordered = sorted(groups, key=lambda c: (c == NO_CLUSTER, c))
    return {cluster: _severity_first(groups[cluster]) for cluster in ordered}


def _severity_first(findings: list[Finding]) -> list[Finding]:
    order = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2}
    return sorted(findings, key=lambda f: (order[f.status], -f.severity.rank, f.rule_id,
                                           f.address))


def _summary_line(report: Report) -> Text:
    counts = report.summary()
    text = Text()
    text.append(f"{counts['fail']} failed", style="bold red" if counts["fail"] else "green")
    text.append(f", {counts['pass']} passed, ")
    text.append(f"{counts['unknown']} unknown", style="magenta" if counts["unknown"] else "")
    text.append(f", {counts['suppressed']} suppressed")
    inputs = len(report.inputs)
    text.append(f" ({inputs} input{'s' if inputs != 1 else ''} scanned")
    if report.input_errors:
        text.append(f", {len(report.input_errors)} unreadable", style="bold red")
    text.append(")")
    return text
