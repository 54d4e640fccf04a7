"""The documentation cannot drift from the code: README table, policy docstrings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tfcheck.cli import policy_table_markdown
from tfcheck.engine import scan
from tfcheck.model import Status
from tfcheck.registry import load_policies

from .conftest import REPO

POLICIES, _ = load_policies()
TABLE = re.compile(r"<!-- policy-table:start[^>]*-->\n(.*?)<!-- policy-table:end -->", re.S)


def test_readme_policy_table_is_generated_from_the_registry() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = TABLE.search(readme)
    assert match, "README.md lost its policy-table markers"
    assert match.group(1) == policy_table_markdown(POLICIES), (
        "README policy table is stale: paste `tfcheck policies --format markdown`")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_every_policy_documents_why_bad_good_and_remediation(policy: object) -> None:
    doc = policy.doc  # type: ignore[attr-defined]
    for section in ("## Why", "## Bad", "## Good", "## Remediation"):
        assert section in doc, f"{policy} lacks {section}"
    why = doc.split("## Why", 1)[1].split("##", 1)[0]
    assert "\n> " in why or '"' in why, "## Why must quote the seed text it comes from"
    assert doc.count("```hcl") >= 2


def test_ids_and_slugs_are_unique_and_well_formed() -> None:
    ids = [p.id for p in POLICIES]
    slugs = [p.slug for p in POLICIES]
    assert len(set(ids)) == len(ids) and len(set(slugs)) == len(slugs)
    for policy in POLICIES:
        assert re.fullmatch(r"PC[1-7]\d\d", policy.id)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.slug)


def hcl_example(doc: str, section: str) -> str:
    body = doc.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```hcl\n(.*?)```", body, re.S)
    assert blocks, f"no HCL example under ## {section}"
    return "\n".join(blocks)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_doc_examples_fail_when_bad_and_do_not_fail_when_good(
    policy: object, tmp_path: Path
) -> None:
    """The Bad example is a failing configuration, the Good one its fix: docs can't drift."""
    doc = policy.doc  # type: ignore[attr-defined]
    for section, must_fail in (("Bad", True), ("Good", False)):
        directory = tmp_path / section
        directory.mkdir()
        (directory / "main.tf").write_text(hcl_example(doc, section), encoding="utf-8")
        report = scan([directory], policies=[policy])  # type: ignore[list-item]
        assert report.input_errors == [] and report.internal_errors == [], section
        failed = [f for f in report.findings if f.status is Status.FAIL]
        assert bool(failed) is must_fail, (
            f"{section} example: {[(f.address, f.message) for f in report.findings]}")
