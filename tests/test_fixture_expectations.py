"""Every fixture case gives exactly the findings its expect.txt lists.

fixtures/plans/<case>/ holds HCL, the plan terraform made from it (plan.json) and
expect.txt: one `RULE status address [key=value]` line per expected finding. Every
`fail` and `unknown` finding of every implemented policy must be listed (and nothing
else may appear); `pass` lines must be present. The same expectations hold for the HCL
scanned without a plan (issue: parity of HCL and plan), except where a case says why
not in `HCL_DIVERGENCES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tfcheck.engine import scan
from tfcheck.model import Finding, Report
from tfcheck.registry import load_policies

from .conftest import FIXTURES

CASES = sorted(p.parent for p in (FIXTURES / "plans").glob("*/expect.txt"))
IMPLEMENTED = {p.id for p in load_policies()[0]}

# (case, rule) pairs where scanning the HCL legitimately decides more than the plan:
# the plan shows a value as known only after apply that the HCL evaluator can compute.
HCL_DIVERGENCES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Expected:
    rule: str
    status: str
    address: str
    key: str | None = None
    value: str | None = None

    def matches(self, finding: Finding) -> bool:
        return (
            finding.rule_id == self.rule
            and finding.status.value == self.status
            and finding.address == self.address
            and (self.key is None or str(finding.data.get(self.key)) == self.value)
        )

    def __str__(self) -> str:
        extra = f" {self.key}={self.value}" if self.key else ""
        return f"{self.rule} {self.status} {self.address}{extra}"


def read_expectations(case: Path) -> list[Expected]:
    expected = []
    for number, raw in enumerate((case / "expect.txt").read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        assert len(parts) in (3, 4), f"{case.name}/expect.txt:{number}: {raw!r}"
        key = value = None
        if len(parts) == 4:
            key, _, value = parts[3].partition("=")
        assert parts[1] in ("fail", "unknown", "pass"), f"{case.name}/expect.txt:{number}"
        expected.append(Expected(parts[0], parts[1], parts[2], key, value))
    return expected


def describe(finding: Finding) -> str:
    return f"{finding.rule_id} {finding.status.value} {finding.address} {dict(finding.data)}"


def check(report: Report, expected: list[Expected], skip_rules: set[str]) -> None:
    assert report.input_errors == [], report.input_errors
    assert report.internal_errors == [], [e.message for e in report.internal_errors]
    decidable = [f for f in report.findings
                 if f.status.value != "pass" and f.rule_id in IMPLEMENTED - skip_rules]
    wanted = [e for e in expected if e.rule in IMPLEMENTED - skip_rules]
    unmatched_findings = list(decidable)
    missing = []
    for expectation in wanted:
        pool = report.findings if expectation.status == "pass" else unmatched_findings
        match = next((f for f in pool if expectation.matches(f)), None)
        if match is None:
            missing.append(str(expectation))
        elif expectation.status != "pass":
            unmatched_findings.remove(match)
    assert not missing and not unmatched_findings, (
        "missing: " + "; ".join(missing)
        + " | unexpected: " + "; ".join(describe(f) for f in unmatched_findings))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_plan_gives_the_expected_findings(case: Path) -> None:
    report = scan([str(case / "plan.json")], config=None)
    check(report, read_expectations(case), set())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hcl_gives_the_same_decidable_findings_as_the_plan(case: Path) -> None:
    expected = read_expectations(case)
    skip = {rule for (name, rule) in HCL_DIVERGENCES if name == case.name}
    report = scan([str(case)])
    check(report, expected, skip)


def test_every_implemented_aws_policy_has_a_failing_plan_fixture() -> None:
    """PC6xx/PC7xx read kubernetes and helm resources, which cannot be planned offline."""
    failing = {e.rule for case in CASES for e in read_expectations(case) if e.status == "fail"}
    missing = sorted(r for r in IMPLEMENTED - failing if not r.startswith(("PC6", "PC7")))
    assert not missing, f"policies without a failing plan fixture: {missing}"
