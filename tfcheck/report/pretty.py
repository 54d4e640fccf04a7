"""The human format: findings by cluster, one header line each, the message beneath.

Designed for a terminal of `options.width` columns (the CLI passes the terminal's
width, or 100 when not writing to one):

- a cluster heading, then each finding as one header line -- status or severity,
  rule, address, `file:line` -- with the message wrapped beneath it and the evidence
  on one line (cut with "+N more" rather than wrapped);
- findings of one rule with one cause are one entry: on one resource (PC301's missing
  services) the messages are listed under one header; on several resources with the
  same evidence (seven endpoints behind one security group) the header names them
  together (`aws_vpc_endpoint.this x 7`) and one line lists the instances;
- a summary with counts per status and, for failures, per severity.

Errors and warnings are not repeated here: the CLI writes them to stderr, one line each.
Colour (ANSI) only when `options.color`; the text is the same without it.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec

from tfcheck.model import Finding, Report, Severity, Status
from tfcheck.report import RenderOptions
from tfcheck.report.common import (
    NO_CLUSTER,
    cluster_of,
    input_file_path,
    related_paths,
    where,
    without_control_chars,
)
from tfcheck.report.text import SEVERITY_STYLE, paint, wrap

DEFAULT_WIDTH = 100
INDENT = "      "  # the body under a header
LABEL_WIDTH = 8  # "CRITICAL", "UNKNOWN "
STATUS_STYLE = {Status.UNKNOWN: "magenta", Status.PASS: "green"}


class _Entry(msgspec.Struct):
    """One rule, one cause: one finding or several that read as one."""

    findings: list[Finding]

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def subjects(self) -> list[str]:
        return list(dict.fromkeys(f.address for f in self.findings))


def render(report: Report, options: RenderOptions) -> str:
    width = max(60, options.width or DEFAULT_WIDTH)
    color = options.color
    out: list[str] = []
    shown = [f for f in report.visible(options.show_passed) if not f.suppressed]
    several = len(report.inputs) > 1
    for (input_path, cluster), findings in _by_cluster(shown).items():
        out.append("")
        title = "Not tied to one cluster" if cluster == NO_CLUSTER else cluster
        if several and input_path:  # monorepos: every root may have `aws_eks_cluster.main`
            title += f" in {input_file_path(input_path, options.repo_root) or input_path}"
        out.append(paint(_clean(title), "bold", color))
        for entry in _entries(findings):
            out.extend(_entry_lines(entry, width, color, options.repo_root))
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        out.append("")
        out.append(paint("Suppressed", "bold", color))
        for finding in suppressed:
            text = (f"{finding.rule_id} {finding.address}: "
                    f"{finding.suppression_reason or ''}")
            out.extend(paint(line, "dim", color) for line in wrap(_clean(text), width, "    ",
                                                                  "  "))
    out.append("")
    out.extend(_summary(report, width, color))
    return "\n".join(out).lstrip("\n") + "\n"


def _entry_lines(entry: _Entry, width: int, color: bool, repo_root: str | None) -> list[str]:
    first = entry.first
    subjects = entry.subjects
    block, keys = _instances(subjects)
    if len(subjects) == 1:
        address = subjects[0]
    elif block is not None:
        address = f"{block} x {len(subjects)}"
    else:
        address = f"{len(subjects)} resources"
    lines = [_header(first, address, width, color, repo_root)]
    if len(subjects) > 1:
        listed = f"instances: {', '.join(keys)}" if block is not None else \
            f"resources: {', '.join(subjects)}"
        lines.extend(wrap(_clean(listed), width, INDENT + "  ", INDENT))
    if len(subjects) == 1 and len(entry.findings) > 1:
        for finding in entry.findings:
            lines.extend(wrap(_clean(finding.message), width, INDENT + "  ", INDENT + "- "))
    else:
        lines.extend(wrap(_clean(first.message), width, INDENT))
    for location, path in related_paths(first, repo_root):
        inside = f"{path}:{location.line}" if location.line else path
        lines.extend(paint(line, "dim", color)
                     for line in wrap(f"module code: {inside}", width, INDENT + "  ", INDENT))
    evidence = [e for e in first.evidence if e not in subjects] if len(subjects) > 1 \
        else list(first.evidence)
    if evidence:
        lines.append(paint(_one_line("evidence: ", evidence, width - len(INDENT)), "dim",
                           color).join((INDENT, "")))
    return lines


def _header(finding: Finding, address: str, width: int, color: bool,
            repo_root: str | None) -> str:
    """`  HIGH     PC301 missing-vpc-endpoint  aws_eks_cluster.main  main.tf:12`."""
    if finding.status is Status.FAIL:
        label, style = finding.severity.value.upper(), SEVERITY_STYLE[finding.severity]
    else:
        label, style = finding.status.value.upper(), STATUS_STYLE[finding.status]
    place = where(finding, repo_root) or ""
    address = _clean(address)
    plain = [f"  {label:<{LABEL_WIDTH}} ", f"{finding.rule_id} ", f"{finding.slug}  ",
             address, f"  {place}" if place else ""]
    if sum(map(len, plain)) > width:
        plain[2] = ""  # the slug goes first; `tfcheck explain` has it
    painted = [paint(plain[0][:2], "", color) + paint(label, style, color)
               + plain[0][2 + len(label):],
               paint(plain[1], "bold", color), plain[2], paint(address, "bold", color)]
    if sum(map(len, plain)) <= width:
        return "".join(painted) + paint(plain[4], "dim", color)
    # an address too long to share the line: the place goes beneath, never cut mid-word
    return "".join(painted) + "\n" + paint(f"{INDENT}at {place}", "dim", color) if place \
        else "".join(painted)


def _instances(addresses: list[str]) -> tuple[str | None, list[str]]:
    """(`aws_vpc_endpoint.this`, [`ec2`, `ecr.api`]) when all are instances of one block."""
    bases = {a.split("[", 1)[0] for a in addresses}
    if len(bases) != 1 or not all(a.endswith("]") and "[" in a for a in addresses):
        return None, addresses
    base = bases.pop()
    return base, [a[len(base) + 1:-1].strip('"') for a in addresses]


def _one_line(prefix: str, items: list[str], width: int) -> str:
    """`prefix a -> b -> c`, cut to `width` with "(+N more)" instead of wrapping."""
    items = [_clean(item) for item in items]
    shown: list[str] = []
    for number, item in enumerate(items):
        rest = len(items) - number - 1
        candidate = prefix + " -> ".join([*shown, item]) + (f" -> (+{rest} more)" if rest
                                                            else "")
        if len(candidate) > width and shown:
            break
        shown.append(item)
    rest = len(items) - len(shown)
    return prefix + " -> ".join(shown) + (f" -> (+{rest} more)" if rest else "")


def _entries(findings: list[Finding]) -> list[_Entry]:
    """Findings of one rule and one cause together, in the order of their first member."""
    entries: dict[tuple[object, ...], _Entry] = {}
    for finding in findings:
        entries.setdefault(_cause(finding), _Entry([])).findings.append(finding)
    return list(entries.values())


def _cause(finding: Finding) -> tuple[object, ...]:
    """What makes findings read as one: rule, status, severity, evidence beyond the subject.

    A finding without evidence beyond its own resource stands alone.
    """
    beyond = tuple(sorted(e for e in finding.evidence if e != finding.address))
    if not beyond:
        return (id(finding),)
    return (finding.rule_id, finding.status, finding.severity, beyond)


def _by_cluster(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """Findings by (input, cluster they concern), in input and address order."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.input_path or "", cluster_of(finding))].append(finding)
    ordered = sorted(groups, key=lambda k: (k[0], k[1] == NO_CLUSTER, k[1]))
    return {cluster: _severity_first(groups[cluster]) for cluster in ordered}


def _severity_first(findings: list[Finding]) -> list[Finding]:
    order = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2}
    return sorted(findings, key=lambda f: (order[f.status], -f.severity.rank, f.rule_id,
                                           f.address))


def _summary(report: Report, width: int, color: bool) -> list[str]:
    """`3 failed (1 critical, 2 high), 5 passed, 2 unknown, 0 suppressed (1 input scanned)`."""
    counts = report.summary()
    by_severity: dict[Severity, int] = defaultdict(int)
    for finding in report.failures():
        by_severity[finding.severity] += 1
    detail = ", ".join(f"{by_severity[s]} {s.value}" for s in reversed(Severity)
                       if by_severity[s])
    failed = f"{counts['fail']} failed" + (f" ({detail})" if detail else "")
    parts = [failed, f"{counts['pass']} passed", f"{counts['unknown']} unknown",
             f"{counts['suppressed']} suppressed"]
    if report.baselined:
        parts.append(f"{report.baselined} in the baseline")
    inputs = len(report.inputs)
    scanned = f"{inputs} input{'s' if inputs != 1 else ''} scanned"
    if report.input_errors:
        scanned += f", {len(report.input_errors)} unreadable"
    plain = ", ".join(parts) + f" ({scanned})"
    lines = wrap(plain, width)
    if report.unchecked_clusters:
        lines += wrap("not checked as private clusters (not in the config's `clusters`): "
                      + ", ".join(report.unchecked_clusters), width, "  ")
    if color:  # colour after wrapping, so that escape codes never count as width
        lines[0] = lines[0].replace(failed, paint(failed, "bold red" if counts["fail"]
                                                  else "green", True), 1)
    return lines


def _clean(text: str) -> str:
    return without_control_chars(text)
