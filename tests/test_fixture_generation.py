"""The plan fixture corpus (fixtures/plans/<case>/): well-formed, and reproducible.

Each case holds HCL, the `plan.json` that a real terraform made of it
(scripts/generate_fixtures.py) and an `expect.txt` listing the findings a correct
tfcheck produces on it. The always-running tests check the corpus's shape; the
regeneration test re-plans every case with terraform and the offline aws provider and
compares with the committed plan.json (skipped where terraform or the mirror is missing).

expect.txt: one finding per line, `[plan:|hcl:] <RULE_ID> <status> <address> [key=value]`,
`#` starts a comment (fixtures/plans/README.md; tests/expectations.py checks findings
against it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .expectations import MODES, read_expectations
from .fixture_generator import generator

REPO_ROOT = Path(__file__).resolve().parent.parent
PLANS_DIR = REPO_ROOT / "fixtures" / "plans"
SCRIPT = REPO_ROOT / "scripts" / "generate_fixtures.py"

CATALOG_IDS = {
    "PC101", "PC102", "PC201", "PC202", "PC203", "PC301", "PC302", "PC303", "PC304",
    "PC305", "PC401", "PC402", "PC501", "PC601", "PC602", "PC603", "PC604", "PC605",
    "PC606", "PC701",
}
CASES = generator.list_cases(PLANS_DIR)


def _addresses(module: dict) -> set[str]:
    out = {r["address"] for r in module.get("resources", [])}
    for child in module.get("child_modules", []):
        out |= _addresses(child)
    return out


def plan_addresses(plan: dict) -> set[str]:
    out = _addresses(plan.get("planned_values", {}).get("root_module", {}))
    out |= {rc["address"] for rc in plan.get("resource_changes", [])}
    prior = plan.get("prior_state", {}).get("values", {}).get("root_module", {})
    return out | _addresses(prior)


def test_corpus_is_not_empty():
    assert CASES, f"no case directories under {PLANS_DIR}"
    assert "good-private-cluster" in CASES


@pytest.mark.parametrize("case", CASES)
def test_case_has_plan_and_expectations(case: str):
    directory = PLANS_DIR / case
    plan_path = directory / "plan.json"
    expect_path = directory / "expect.txt"
    assert (directory / "main.tf").is_file(), f"{case}: no main.tf"
    assert plan_path.is_file(), f"{case}: no plan.json (run scripts/generate_fixtures.py)"
    assert expect_path.is_file(), f"{case}: no expect.txt"

    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    assert plan["format_version"] == "1.2"
    assert plan.get("errored") is False, f"{case}: the plan errored"
    assert "timestamp" not in plan, f"{case}: plan.json not normalised"

    expected = read_expectations(directory)
    addresses = plan_addresses(plan)
    for item in expected:
        assert item.rule in CATALOG_IDS, f"{case}:{item.line}: {item.rule} not in catalog"
        assert item.address in addresses, (
            f"{case}:{item.line}: {item.address} is not a resource of the plan"
        )

    for mode in MODES:
        in_mode = [e for e in expected if e.mode in (None, mode)]
        # One line per finding: several findings on one address need the key=value field.
        keys = Counter((e.rule, e.status, e.address, e.key, e.value) for e in in_mode)
        duplicates = [k for k, n in keys.items() if n > 1]
        assert not duplicates, f"{case} ({mode}): duplicate expectations {duplicates}"
        # A finding cannot be both pass and fail/unknown.
        verdicts: dict[tuple[str, str, str | None, str | None], set[str]] = {}
        for e in in_mode:
            verdicts.setdefault((e.rule, e.address, e.key, e.value), set()).add(e.status)
        contradictory = [k for k, statuses in verdicts.items() if len(statuses) > 1]
        assert not contradictory, f"{case} ({mode}): contradictory expectations {contradictory}"


def test_good_cluster_expects_no_failures():
    """No fail at all; no unknown from its HCL. A plan alone cannot render user data
    around the cluster endpoint (known after apply): PC501 may be unknown there."""
    expected = read_expectations(PLANS_DIR / "good-private-cluster")
    assert not [e for e in expected if e.status == "fail"]
    assert not [e for e in expected if e.status == "unknown" and e.mode != "plan"]
    assert {e.rule for e in expected if e.status == "unknown"} <= {"PC501"}


@pytest.mark.parametrize("case", CASES)
def test_case_says_what_is_wrong_with_it(case: str):
    """A full copy's `main.tf`, or the first file of a case built on the good cluster
    (fixtures/plans/README.md, "How a case is built"), opens with the header comment."""
    directory = PLANS_DIR / case
    main = directory / "main.tf"
    header = main
    if main.is_symlink():
        # relative, so that the checkout can live anywhere
        assert os.readlink(main) == "../good-private-cluster/main.tf", case
        templates = directory / "templates"
        if templates.is_symlink():
            assert os.readlink(templates) == "../good-private-cluster/templates", case
        own = [directory / "case_override.tf", directory / "case.tf"]
        header = next((p for p in own if p.is_file()), main)
        assert header != main, f"{case}: main.tf links to the base but the case changes nothing"
    assert header.read_text(encoding="utf-8").startswith("# "), f"{case}: no header comment"


def test_no_terraform_working_files_in_the_corpus():
    leftovers = [
        str(p.relative_to(REPO_ROOT))
        for pattern in (".terraform", ".terraform.lock.hcl", "tfplan", "terraform.tfstate*")
        for p in PLANS_DIR.rglob(pattern)
    ]
    assert not leftovers, f"terraform working files committed: {leftovers}"


def test_case_hcl_is_formatted(tmp_path: Path):
    terraform = generator.find_terraform()
    if terraform is None:
        pytest.skip("terraform is not on PATH: cannot check formatting of the fixture HCL")
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-list=true", str(PLANS_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
        env=generator._terraform_env(tmp_path),
        check=False,
    )
    assert proc.returncode == 0, f"run `terraform fmt -recursive fixtures/plans`:\n{proc.stdout}"


def test_hcl_cases_either_have_a_plan_or_say_why_not():
    """An HCL case is re-planned like the plan corpus unless a NO_PLAN file says why not."""
    for case in (p for p in generator.HCL_CASES_DIR.iterdir() if p.is_dir()):
        has_plan = (case / "plan.json").is_file()
        assert has_plan != (case / generator.NO_PLAN).is_file(), case.name
        assert (case.name in generator.list_cases(generator.HCL_CASES_DIR)) == has_plan


@pytest.mark.slow
@pytest.mark.parametrize("corpus", [PLANS_DIR, generator.HCL_CASES_DIR], ids=lambda p: p.name)
def test_regenerated_plans_match_committed(corpus: Path):
    """Re-plan every case with the real terraform and compare with plan.json."""
    reason = generator.missing_toolchain_reason()
    if reason is not None:
        pytest.skip(f"cannot regenerate plan fixtures: {reason}")
    jobs = os.environ.get("TFCHECK_FIXTURE_JOBS", "2")
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--check", "-j", jobs, "--plans-dir", str(corpus)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        _, stderr = proc.communicate(timeout=3600)
    except BaseException:
        # Interrupted or timed out: let the script stop terraform and remove its
        # temporary directories (SIGTERM) before giving up on it.
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    assert proc.returncode == 0, stderr[-6000:]
    # Regeneration happens in temporary directories only.
    assert not list(corpus.rglob(".terraform"))


def test_the_check_reads_a_blocks_references_in_any_order(tmp_path: Path) -> None:
    """terraform lists a nested block's references in map-iteration order: one plan, two
    texts. The check compares them as the same plan, and still sees one go missing."""
    block = {"ingress": {"references": ["aws_vpc.main.cidr_block", "aws_vpc.main",
                                        "aws_vpc.main.ipv6_cidr_block", "aws_vpc.main"]}}
    swapped = {"ingress": {"references": ["aws_vpc.main.ipv6_cidr_block", "aws_vpc.main",
                                          "aws_vpc.main.cidr_block", "aws_vpc.main"]}}
    fewer = {"ingress": {"references": ["aws_vpc.main.cidr_block", "aws_vpc.main"]}}
    plan = {"configuration": {"root_module": {"resources": [{"expressions": block}]}}}
    committed = tmp_path / "plan.json"
    committed.write_text(json.dumps(plan), encoding="utf-8")
    for other, differs in ((swapped, False), (fewer, True)):
        fresh = {"configuration": {"root_module": {"resources": [{"expressions": other}]}}}
        assert generator.differs(committed, json.dumps(fresh)) is differs
