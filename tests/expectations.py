"""expect.txt: the findings a fixture case must produce, read and checked in one place.

One finding per line, `[mode:] RULE status address [key=value]`:

- `status` is fail, unknown or pass; `key=value` names the `data` field that tells
  several findings on one address apart (`PC301 fail aws_eks_cluster.main service=ecr.dkr`);
- a `plan:` or `hcl:` prefix limits the line to scanning the plan or the HCL (a plan
  shows values known only after apply that the HCL evaluator can still render, such as
  user data around the cluster endpoint); lines without one hold for both;
- `#` starts a comment.

Every `fail` and `unknown` finding of the policies under test must be listed, and
nothing else may appear; `pass` lines must be present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tfcheck.model import Finding, Report

MODES = ("plan", "hcl")
LINE = re.compile(
    r"^(?:(?P<mode>plan|hcl):\s*)?(?P<rule>PC\d{3})\s+(?P<status>fail|unknown|pass)\s+"
    r"(?P<address>\S+)(?:\s+(?P<key>[a-z_]+)=(?P<value>\S+))?$"
)


@dataclass(frozen=True)
class Expected:
    rule: str
    status: str
    address: str
    key: str | None = None
    value: str | None = None
    mode: str | None = None  # None: both modes
    line: int = 0

    def matches(self, finding: Finding) -> bool:
        return (
            finding.rule_id == self.rule
            and finding.status.value == self.status
            and finding.address == self.address
            and (self.key is None or str(finding.data.get(self.key)) == self.value)
        )

    def __str__(self) -> str:
        extra = f" {self.key}={self.value}" if self.key else ""
        prefix = f"{self.mode}: " if self.mode else ""
        return f"{prefix}{self.rule} {self.status} {self.address}{extra}"


def read_expectations(case: Path, mode: str | None = None) -> list[Expected]:
    """The lines of `case/expect.txt` that hold when scanning in `mode` (None: all)."""
    path = case / "expect.txt"
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        match = LINE.match(text)
        if match is None:
            raise ValueError(f"{path}:{number}: not `[plan:|hcl:] RULE status address "
                             f"[key=value]`: {raw!r}")
        expected = Expected(match["rule"], match["status"], match["address"], match["key"],
                            match["value"], match["mode"], number)
        if mode is None or expected.mode in (None, mode):
            found.append(expected)
    return found


def describe(finding: Finding) -> str:
    return f"{finding.rule_id} {finding.status.value} {finding.address} {dict(finding.data)}"


def check(report: Report, expected: Iterable[Expected], rules: set[str]) -> None:
    """The report's findings of `rules` are exactly the expected ones."""
    assert report.input_errors == [], report.input_errors
    assert report.internal_errors == [], [e.message for e in report.internal_errors]
    unmatched = [f for f in report.findings if f.status.value != "pass" and f.rule_id in rules]
    missing = []
    for expectation in expected:
        if expectation.rule not in rules:
            continue
        pool = report.findings if expectation.status == "pass" else unmatched
        match = next((f for f in pool if expectation.matches(f)), None)
        if match is None:
            missing.append(str(expectation))
        elif expectation.status != "pass":
            unmatched.remove(match)
    assert not missing and not unmatched, (
        "missing: " + "; ".join(missing)
        + " | unexpected: " + "; ".join(describe(f) for f in unmatched))
