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


EXAMPLE = re.compile(r"^## (Bad|Good)(?:: (.+))?$", re.M)


def hcl_examples(doc: str) -> dict[tuple[str, str], str]:
    """Each `## Bad` / `## Good` section's HCL, keyed by (kind, title).

    A policy with more than one pattern adds titled pairs, `## Bad: <title>` and
    `## Good: <title>`; the untitled pair has the title "".
    """
    found: dict[tuple[str, str], str] = {}
    for match in EXAMPLE.finditer(doc):
        body = doc[match.end():].split("\n## ", 1)[0]
        blocks = re.findall(r"```hcl\n(.*?)```", body, re.S)
        key = (match.group(1), (match.group(2) or "").strip())
        assert blocks, f"no HCL example under {match.group(0)}"
        assert key not in found, f"two sections named {match.group(0)}"
        found[key] = "\n".join(blocks)
    return found


def test_examples_are_read_in_titled_pairs() -> None:
    doc = ("x\n\n## Bad\n```hcl\na\n```\n\n## Good\n```hcl\nb\n```\n\n"
           "## Bad: hub\n```hcl\nc\n```\n\n## Good: hub\n```hcl\nd\n```\n\n## Remediation\n")
    assert hcl_examples(doc) == {("Bad", ""): "a\n", ("Good", ""): "b\n",
                                 ("Bad", "hub"): "c\n", ("Good", "hub"): "d\n"}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_doc_examples_fail_when_bad_and_do_not_fail_when_good(
    policy: object, tmp_path: Path
) -> None:
    """Each Bad example is a failing configuration, its Good one the fix: docs can't drift."""
    examples = hcl_examples(policy.doc)  # type: ignore[attr-defined]
    titles = {title for _, title in examples}
    assert "" in titles, "the untitled ## Bad / ## Good pair is missing"
    for n, title in enumerate(sorted(titles)):
        for kind, must_fail in (("Bad", True), ("Good", False)):
            assert (kind, title) in examples, f"## {kind}: {title} has no pair"
            section = f"{kind}: {title}" if title else kind
            directory = tmp_path / f"{kind}{n}"
            directory.mkdir()
            (directory / "main.tf").write_text(examples[kind, title], encoding="utf-8")
            report = scan([directory], policies=[policy])  # type: ignore[list-item]
            assert report.input_errors == [] and report.internal_errors == [], section
            failed = [f for f in report.findings if f.status is Status.FAIL]
            assert bool(failed) is must_fail, (
                f"{section} example: {[(f.address, f.message) for f in report.findings]}")
