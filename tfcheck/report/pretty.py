"""The human format: findings grouped by cluster, severity colours, evidence chains.

Plain text (no colour codes) when not writing to a terminal or when NO_COLOR is set;
the CLI decides and passes `options.color`.
"""

from __future__ import annotations

import io
from collections import defaultdict

from rich.console import Console
from rich.table import Table
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
        console.print(_table(findings, options.repo_root))
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


def _table(findings: list[Finding], repo_root: str | None) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Resource", overflow="fold")
    table.add_column("Location", overflow="fold")
    table.add_column("Message", overflow="fold", ratio=1)
    for finding in findings:
        message = Text(finding.message)
        if finding.evidence:
            message.append("\n" + " -> ".join(finding.evidence), style="dim")
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
            f"{finding.rule_id}\n{finding.slug}",
            Text(finding.status.value, style=STATUS_STYLE[finding.status]),
            finding.address,
            where(finding, repo_root) or "",
            message,
        )
    return table


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
