"""PC2xx-PC4xx on real configurations: fixtures/hcl-policies/<case>/ as HCL and as plans.

Each case holds HCL (with local modules where the case is about modules), the plan a
real terraform made from it (plan.json, by `scripts/generate_fixtures.py --plans-dir
fixtures/hcl-policies`) and expect.txt in the format of fixtures/plans: one
`RULE status address [key=value]` line per expected finding. Every `fail` and `unknown`
finding of PC201-PC402 must be listed, nothing else may appear; `pass` lines must be
present. HCL and plan must agree. A case that cannot be planned offline (data sources
that call the AWS API) says why in NO_PLAN and is checked as HCL only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfcheck.graph import ResourceGraph
from tfcheck.loaders.hcl import load_hcl
from tfcheck.loaders.plan import load_plan
from tfcheck.policy import Result, ScanContext
from tfcheck_policies import ALL_POLICIES

from ..conftest import FIXTURES

CASES = sorted(p.parent for p in (FIXTURES / "hcl-policies").glob("pc[234]*/expect.txt"))
MINE = [p for p in ALL_POLICIES if p.id[:3] in ("PC2", "PC3", "PC4")]
MY_IDS = {p.id for p in MINE}


def expectations(case: Path) -> list[tuple[str, str, str, str | None, str | None]]:
    found = []
    for raw in (case / "expect.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        rule, status, address, *extra = line.split()
        key, _, value = extra[0].partition("=") if extra else (None, "", None)
        found.append((rule, status, address, key, value))
    return found


def results(graph: ResourceGraph) -> list[tuple[str, Result]]:
    ctx = ScanContext(graph)
    return [(policy.id, result) for policy in MINE for result in policy.check(ctx)]


def check(found: list[tuple[str, Result]], case: Path) -> None:
    unmatched = [(rule, r) for rule, r in found if r.status.value != "pass"]
    missing = []
    for rule, status, address, key, value in expectations(case):
        if rule not in MY_IDS:
            continue
        pool = found if status == "pass" else unmatched
        match = next(((i, r) for i, (rid, r) in enumerate(pool)
                      if rid == rule and r.status.value == status
                      and r.subject.address == address
                      and (key is None or str(r.data.get(key)) == value)), None)
        if match is None:
            missing.append(f"{rule} {status} {address}")
        elif status != "pass":
            unmatched.pop(match[0])
    extra = [f"{rule} {r.status.value} {r.subject.address}: {r.message}" for rule, r in unmatched]
    assert not missing and not extra, f"missing: {missing}; unexpected: {extra}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_plan(case: Path) -> None:
    if (case / "NO_PLAN").is_file():
        pytest.skip((case / "NO_PLAN").read_text().strip())
    path = case / "plan.json"
    check(results(load_plan(json.loads(path.read_text()), str(path))), case)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hcl(case: Path) -> None:
    check(results(load_hcl(case).graph), case)


def test_every_case_has_a_plan_or_says_why_not() -> None:
    assert CASES
    for case in CASES:
        assert (case / "plan.json").is_file() or (case / "NO_PLAN").is_file(), case.name


# -- the documentation's examples are tests --------------------------------------------


@pytest.mark.parametrize("policy", MINE, ids=lambda p: p.id)
def test_doc_examples_bad_fails_and_good_passes(policy: object, tmp_path: Path) -> None:
    """Each policy's `## Bad` HCL fails it and its `## Good` HCL passes it, as written."""
    import re

    from tfcheck.engine import scan

    doc = policy.doc  # type: ignore[attr-defined]
    examples = dict(re.findall(r"## (Bad|Good)\n```hcl\n(.*?)```", doc, re.S))
    assert set(examples) == {"Bad", "Good"}
    for kind, code in examples.items():
        directory = tmp_path / kind
        directory.mkdir()
        (directory / "main.tf").write_text(code, encoding="utf-8")
        report = scan([str(directory)], policies=[policy])  # type: ignore[list-item]
        assert report.input_errors == [] and report.internal_errors == []
        statuses = {f.status.value for f in report.findings}
        if kind == "Bad":
            assert "fail" in statuses, [f.message for f in report.findings]
        else:
            assert statuses == {"pass"}, [f.message for f in report.findings]
