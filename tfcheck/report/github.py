"""GitHub Actions workflow commands (`--format github`): findings as annotations.

`::error file=infra/main.tf,line=12,title=PC301 missing-vpc-endpoint::message` shows the
finding on the pull request's diff, next to the resource. Decisions:

- **Level.** An unsuppressed `fail` at or above `high` is `error`; `medium` and `low`
  failures are `warning` (GitHub draws both, but only errors read as "must fix");
  `unknown` is `notice`. Errors come first: GitHub shows at most 10 annotations of each
  level per step (50 per job), so the ones that matter most must not be cut.
- **Passes** are never annotated, even with `--show-passed`: an annotation marks a
  line that needs attention.
- **Suppressed** findings are listed as plain log lines, not annotations: they stay
  visible in the log without drawing on the diff.
- **Escaping** follows @actions/core: `%`, CR and LF are `%25`, `%0D`, `%0A` in every
  value, and `:` and `,` are `%3A`, `%2C` in properties. Plain lines are escaped too, so
  that a resource name or message from the scanned configuration can never start a
  workflow command of its own on a new line; other control characters (ESC, BEL) are
  dropped, so none can colour or rewrite the log.
- **Paths** are relative to the repository root (`RenderOptions.repo_root`, which in
  a workflow is the checkout, `GITHUB_WORKSPACE`). A finding without a source file is
  annotated on the plan file it came from, or without `file` when read from stdin.
"""

from __future__ import annotations

from tfcheck.model import Finding, Report, Severity, Status
from tfcheck.report import RenderOptions
from tfcheck.report.common import (
    anchor_path,
    input_file_path,
    line_of,
    where,
    without_control_chars,
)

LEVEL_ORDER = ("error", "warning", "notice")


def render(report: Report, options: RenderOptions) -> str:
    lines: list[str] = []
    for error in report.input_errors:
        lines.append(command("error", error.message,
                             file=input_file_path(error.path, options.repo_root),
                             line=error.line, col=error.column, title="tfcheck input error"))
    for internal in report.internal_errors:
        lines.append(command("error", f"{internal.where}: {internal.message}",
                             title="tfcheck internal error"))
    for note in report.notes:
        lines.append(command("warning", note, title="tfcheck"))

    levels = [(level_of(f), f) for f in report.findings if not f.suppressed]
    for level in LEVEL_ORDER:  # errors first, each level in the report's order
        lines.extend(annotation(f, level, options) for lvl, f in levels if lvl == level)

    for finding in report.findings:
        if finding.suppressed:
            place = where(finding, options.repo_root)
            lines.append(escape_data(
                f"tfcheck: suppressed {finding.rule_id} {finding.slug} on {finding.address}"
                f"{f' ({place})' if place else ''}: {finding.suppression_reason or ''}"))
    counts = report.summary()
    lines.append(f"tfcheck: {counts['fail']} failed, {counts['unknown']} unknown, "
                 f"{counts['suppressed']} suppressed, {counts['pass']} passed")
    return "\n".join(lines) + "\n"


def level_of(finding: Finding) -> str | None:
    """The annotation level for an unsuppressed finding; None for passes."""
    if finding.status is Status.FAIL:
        return "error" if finding.severity.rank >= Severity.HIGH.rank else "warning"
    if finding.status is Status.UNKNOWN:
        return "notice"
    return None


def annotation(finding: Finding, level: str, options: RenderOptions) -> str:
    status = " (unknown)" if finding.status is Status.UNKNOWN else ""
    message = f"{finding.address}: {finding.message}"
    if finding.evidence:
        message += "\nEvidence: " + " -> ".join(finding.evidence)
    if finding.remediation:
        message += "\nRemediation:\n" + finding.remediation
    return command(
        level,
        message,
        file=anchor_path(finding, options.repo_root),
        line=line_of(finding),
        col=finding.location.column if line_of(finding) else None,
        title=f"{finding.rule_id} {finding.slug}{status}",
    )


def command(level: str, message: str, *, file: str | None = None, line: int | None = None,
            col: int | None = None, title: str | None = None) -> str:
    """One workflow command line, with properties in the order GitHub documents them."""
    properties = [(key, value) for key, value in
                  (("file", file), ("line", line), ("col", col), ("title", title))
                  if value is not None]
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{level}{' ' + rendered if rendered else ''}::{escape_data(message)}"


def escape_data(value: str) -> str:
    text = without_control_chars(value)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
