"""A pull-request comment (`--format markdown`): what failed, where, why, and how to fix it.

Layout, most important first: a hidden `<!-- tfcheck -->` marker (so a workflow can find
and update its own comment), the counts, a table of unsuppressed failures (highest
severity first), one Mermaid `flowchart LR` per failing cluster -- the picture of its
network (`tfcheck.picture`: VPC, subnets by Availability Zone, route tables, gateways,
endpoints and their security groups, failing parts red), or, for a report without one,
the findings' evidence chains -- then collapsible sections: remediation snippets, unknown
findings, suppressed findings and (with `--show-passed`) passes.

The evidence-chain fallback: nodes are resource addresses, edges join consecutive items
(an item's trailing note, as in `aws_route.nat (0.0.0.0/0)`, labels the edge into it);
the resources findings are reported on are red and name their rules, and a missing
VPC endpoint (a finding's `data.service`) is a dashed red node. Findings are grouped
by cluster the way the terminal output groups them (`common.cluster_of`).

GitHub refuses comments over 65,536 characters. The comment is built section by
section under that budget; what does not fit is left out whole (a table row, a
diagram, a snippet — never half a code fence) and a note says how much and where to
find the rest. Text from the scanned configuration is escaped for tables, code spans,
HTML and Mermaid labels, so it cannot break the layout or inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import msgspec

from tfcheck.model import Finding, Report, Status
from tfcheck.report import RenderOptions
from tfcheck.report.common import (
    NO_CLUSTER,
    cluster_of,
    input_file_path,
    where,
    without_control_chars,
)

GITHUB_COMMENT_LIMIT = 65_536
# Mermaid's defaults (maxEdges, maxTextSize): past them GitHub shows an error, not a diagram.
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000
MARKER = "<!-- tfcheck -->"
_NOTE_RESERVE = 400  # room kept for the truncation note
_EVIDENCE_NOTE = re.compile(r"^(?P<address>.+?) \((?P<note>[^()]*)\)$")


def render(report: Report, options: RenderOptions) -> str:
    return render_comment(report, options, limit=GITHUB_COMMENT_LIMIT)


def render_comment(report: Report, options: RenderOptions, *, limit: int) -> str:
    """The comment, at most `limit` characters long."""
    failures = sorted((f for f in report.findings
                       if f.status is Status.FAIL and not f.suppressed),
                      key=lambda f: -f.severity.rank)  # stable: report order within a severity
    unknown = [f for f in report.findings if f.status is Status.UNKNOWN and not f.suppressed]
    suppressed = [f for f in report.findings if f.suppressed]
    passed = [f for f in report.findings
              if f.status is Status.PASS and not f.suppressed] if options.show_passed else []

    out = _Budget(limit - _NOTE_RESERVE)
    out.add_always(_header(report, options))
    out.section(
        "| Severity | Rule | Resource | Location | Message |\n| --- | --- | --- | --- | --- |\n",
        (_failure_row(f, options) for f in failures), "\n", what="failure")
    groups = _by_cluster(failures)
    names = [cluster for (_, cluster), _ in groups]
    out.section("#### Network paths\n\n",
                (_diagram_block(key, group, report, options, names.count(key[1]) > 1)
                 for key, group in groups), "", what="diagram")
    out.section(_details_open(f"Remediation ({len(failures)})"),
                (_remediation(f, options) for f in failures), "</details>\n\n",
                what="remediation")
    out.section(_details_open(f"Unknown ({len(unknown)}): cannot be decided from the input")
                + "| Rule | Resource | Location | Why |\n| --- | --- | --- | --- |\n",
                (_row(f, options, f.message) for f in unknown), "\n</details>\n\n",
                what="unknown finding")
    out.section(_details_open(f"Suppressed ({len(suppressed)})")
                + "| Rule | Resource | Location | Reason |\n| --- | --- | --- | --- |\n",
                (_row(f, options, f.suppression_reason or "") for f in suppressed),
                "\n</details>\n\n", what="suppressed finding")
    out.section(_details_open(f"Passed ({len(passed)})")
                + "| Rule | Resource | Location | Check |\n| --- | --- | --- | --- |\n",
                (_row(f, options, f.message) for f in passed), "\n</details>\n\n",
                what="passed check")
    return out.finish()


class _Budget(msgspec.Struct):
    """Appends whole pieces while they fit; remembers what it had to leave out."""

    limit: int
    parts: list[str] = msgspec.field(default_factory=list)
    size: int = 0
    omitted: dict[str, int] = msgspec.field(default_factory=dict)

    def add_always(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def section(self, opening: str, items: Iterable[str], closing: str, *, what: str) -> None:
        """`opening`, as many `items` as fit, `closing`; nothing at all when there are none."""
        pending = list(items)
        if not pending:
            return
        frame = len(opening) + len(closing)
        kept: list[str] = []
        used = self.size + frame
        for item in pending:
            if used + len(item) > self.limit:
                break
            kept.append(item)
            used += len(item)
        if len(kept) < len(pending):
            self.omitted[what] = len(pending) - len(kept)
        if kept:
            self.add_always(opening + "".join(kept) + closing)

    def finish(self) -> str:
        text = "".join(self.parts).rstrip("\n") + "\n"
        if self.omitted:
            left_out = ", ".join(f"{n} {what}{'s' if n != 1 else ''}"
                                 for what, n in self.omitted.items())
            text += (f"\n> [!NOTE]\n> Truncated to fit GitHub's comment limit: {left_out} "
                     f"left out. `tfcheck scan --format json` gives the full report.\n")
        return text


def _header(report: Report, options: RenderOptions) -> str:
    counts = report.summary()
    broken = report.input_errors or report.internal_errors
    icon = "❌" if counts["fail"] or broken else ("⚠️" if counts["unknown"] else "✅")
    lines = [
        MARKER,
        f"### {icon} tfcheck: {counts['fail']} failed · {counts['unknown']} unknown · "
        f"{counts['suppressed']} suppressed · {counts['pass']} passed",
        "",
    ]
    if report.unchecked_clusters:
        lines += ["Not checked as private clusters (not in the config's `clusters`): "
                  + ", ".join(_code(c) for c in report.unchecked_clusters) + ".", ""]
    if report.inputs:
        scanned = ", ".join(f"{_code(input_file_path(i.path, options.repo_root) or i.path)} "
                            f"({i.kind})"
                            for i in report.inputs)
        lines += [f"Scanned {scanned}.", ""]
    problems = [f"{_text(str(e))}" for e in report.input_errors] + [
        f"internal error in {_text(e.where)}: {_text(e.message)}" for e in report.internal_errors]
    if problems:
        lines += ["> [!CAUTION]", *(f"> {p}  " for p in problems), ""]
    if report.notes:
        lines += ["> [!WARNING]", *(f"> {_text(n)}  " for n in report.notes), ""]
    return "\n".join(lines) + "\n"


def _failure_row(finding: Finding, options: RenderOptions) -> str:
    return (f"| {finding.severity.value} | {_cell_code(finding.rule_id)} {finding.slug} | "
            f"{_cell_code(finding.address)} | {_location(finding, options)} | "
            f"{_cell(finding.message)} |\n")


def _row(finding: Finding, options: RenderOptions, text: str) -> str:
    return (f"| {_cell_code(finding.rule_id)} {finding.slug} | {_cell_code(finding.address)} | "
            f"{_location(finding, options)} | {_cell(text)} |\n")


def _location(finding: Finding, options: RenderOptions) -> str:
    place = where(finding, options.repo_root)
    return _cell_code(place) if place else "—"


def _remediation(finding: Finding, options: RenderOptions) -> str:
    parts = [f"#### {_code(finding.rule_id)} {finding.slug} on {_code(finding.address)}", "",
             _text(finding.message), ""]
    if finding.evidence:
        parts += ["Evidence: " + " → ".join(_code(item) for item in finding.evidence), ""]
    if finding.remediation:
        parts += [_fence(finding.remediation, "hcl"), ""]
    return "\n".join(parts) + "\n"


# --- Mermaid ---------------------------------------------------------------------------

def _by_cluster(findings: list[Finding]) -> list[tuple[tuple[str, str], list[Finding]]]:
    """Failures by (input, cluster): two root modules may both have `aws_eks_cluster.main`."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.input_path or "", cluster_of(finding)), []).append(finding)
    return sorted(groups.items(), key=lambda item: (item[0][1] == NO_CLUSTER, item[0]))


def _diagram_block(key: tuple[str, str], findings: list[Finding], report: Report,
                   options: RenderOptions, name_input: bool) -> str:
    """One cluster's diagram: the picture of its network, else its evidence chains.

    A report built by the engine has the picture (VPC, AZs, route tables, gateways,
    endpoints); one built by hand falls back to the findings' evidence chains.
    """
    input_path, cluster = key
    title = "Not tied to one cluster" if cluster == NO_CLUSTER else _code(cluster)
    if name_input and input_path:  # the same address in two root modules
        title += f" in {_code(input_file_path(input_path, options.repo_root) or input_path)}"
    picture = report.pictures.get(key)
    if picture is not None:
        from tfcheck.picture import to_mermaid

        chart = to_mermaid(picture)
    else:
        chart = flowchart(findings)
    edges = sum(1 for line in chart.splitlines() if " -->" in line or " -.->" in line)
    if edges > MERMAID_MAX_EDGES or len(chart) > MERMAID_MAX_TEXT:
        return (f"**{title}**: {edges} edges, too many for Mermaid to draw; "
                f"`tfcheck graph --cluster` gives the graph.\n\n")
    return f"**{title}**\n\n```mermaid\n{chart}```\n\n"


def flowchart(findings: list[Finding]) -> str:
    """A `flowchart LR` of the evidence chains of one cluster's failing findings."""
    nodes: dict[str, str] = {}  # address -> node id, in order of first appearance
    edges: list[tuple[str, str, str, str]] = []  # (from, arrow, to, label)
    failing: dict[str, list[str]] = {}  # node id -> rule IDs reported on it
    missing: dict[str, str] = {}  # label -> node id, for missing endpoints

    def node(address: str) -> str:
        return nodes.setdefault(address, f"n{len(nodes)}")

    def edge(source: str, arrow: str, target: str, label: str = "") -> None:
        if (source, arrow, target, label) not in edges:
            edges.append((source, arrow, target, label))

    for finding in findings:
        chain = [_split_evidence(item) for item in finding.evidence]
        previous: str | None = None
        for address, note in chain:
            current = node(address)
            if previous is not None and previous != current:
                edge(previous, "-->", current, note)
            previous = current
        subject = node(finding.address)
        if chain and finding.address not in {address for address, _ in chain}:
            edge(node(chain[0][0]), "-->", subject)
        rules = failing.setdefault(subject, [])
        if finding.rule_id not in rules:
            rules.append(finding.rule_id)
        service = finding.data.get("service")
        if service:
            missing_id = missing.setdefault(f"no {service} endpoint", f"m{len(missing)}")
            edge(previous or subject, "-.->", missing_id, finding.rule_id)

    lines = ["flowchart LR"]
    for address, node_id in nodes.items():
        label = _mermaid(address)
        if node_id in failing:
            label += "<br/>" + _mermaid(", ".join(sorted(failing[node_id])))
        lines.append(f'  {node_id}["{label}"]' + (":::fail" if node_id in failing else ""))
    for label, node_id in missing.items():
        lines.append(f'  {node_id}["{_mermaid(label)}"]:::missing')
    for source, arrow, target, label in edges:
        text = f'|"{_mermaid(label)}"|' if label else ""
        lines.append(f"  {source} {arrow}{text} {target}")
    lines.append("  classDef fail fill:#ffebe9,stroke:#cf222e,color:#1f2328")
    if missing:
        lines.append("  classDef missing fill:#fff,stroke:#cf222e,stroke-dasharray:5 5,"
                     "color:#cf222e")
    return "\n".join(lines) + "\n"


def _split_evidence(item: str) -> tuple[str, str]:
    """`aws_route.nat (0.0.0.0/0)` -> (`aws_route.nat`, `0.0.0.0/0`)."""
    match = _EVIDENCE_NOTE.match(item)
    if match:
        return match["address"], match["note"]
    return item, ""


def _mermaid(text: str) -> str:
    """Text for a quoted Mermaid label: entity codes for what Mermaid or HTML would parse."""
    text = " ".join(without_control_chars(text).split())
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("&", "#amp;"), ("<", "#lt;"),
                       (">", "#gt;"), ("`", "#96;"), ("|", "#124;")):
        text = text.replace(char, code)
    return text


# --- Markdown escaping ------------------------------------------------------------------

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]~|])")


def _text(text: str) -> str:
    """Configuration text as inert Markdown prose: no emphasis, links, HTML or tables."""
    text = html.escape(without_control_chars(text), quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return _text(text).replace("\r\n", "\n").replace("\n", "<br>")


def _code(text: str) -> str:
    """A code span that holds any text: a fence longer than any backtick run inside."""
    text = " ".join(without_control_chars(text).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell_code(text: str) -> str:
    # GFM splits table cells on `|` before it parses code spans; `\|` survives both.
    return _code(text).replace("|", "\\|")


def _fence(text: str, language: str) -> str:
    body = without_control_chars(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def _details_open(summary: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>\n\n"
