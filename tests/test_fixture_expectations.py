"""Every fixture case gives exactly the findings its expect.txt lists, from plan and HCL.

fixtures/plans/<case>/ holds HCL, the plan terraform made from it (plan.json) and
expect.txt (format: tests/expectations.py). Scanning the HCL without a plan must give
the same decidable findings as scanning the plan; where the HCL legitimately decides
more (a value the plan knows only after apply), the case's expect.txt says so with
`plan:`/`hcl:` lines and a comment giving the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tfcheck.engine import scan
from tfcheck.registry import load_policies

from .conftest import FIXTURES
from .expectations import check, read_expectations

CASES = sorted(p.parent for p in (FIXTURES / "plans").glob("*/expect.txt"))
IMPLEMENTED = {p.id for p in load_policies()[0]}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_plan_gives_the_expected_findings(case: Path) -> None:
    check(scan([str(case / "plan.json")]), read_expectations(case, "plan"), IMPLEMENTED)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hcl_gives_the_same_decidable_findings_as_the_plan(case: Path) -> None:
    check(scan([str(case)]), read_expectations(case, "hcl"), IMPLEMENTED)


def test_every_implemented_aws_policy_has_a_failing_plan_fixture() -> None:
    """PC6xx/PC7xx read kubernetes and helm resources, which cannot be planned offline."""
    failing = {e.rule for case in CASES for e in read_expectations(case) if e.status == "fail"}
    missing = sorted(r for r in IMPLEMENTED - failing if not r.startswith(("PC6", "PC7")))
    assert not missing, f"policies without a failing plan fixture: {missing}"
