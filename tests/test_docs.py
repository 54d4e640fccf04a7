"""The documentation cannot drift from the code: README table, policy docstrings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tfcheck.cli import policy_table_markdown
from tfcheck.engine import scan
from tfcheck.model import Status
from tfcheck.registry import load_policies
from tfcheck.report.text import FIX_FILES, doc_for_readers, fix_file

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


def hcl_examples(doc: str) -> dict[tuple[str, str], dict[str, str]]:
    """Each `## Bad` / `## Good` section's HCL as files, keyed by (kind, title).

    A policy with more than one pattern adds titled pairs, `## Bad: <title>` and
    `## Good: <title>`; the untitled pair has the title "". A section is `main.tf`, or,
    for a Good one that is a change to its Bad example, the files its blocks name on
    their first line (`# fix_override.tf`, `# fix.tf`).
    """
    found: dict[tuple[str, str], dict[str, str]] = {}
    for match in EXAMPLE.finditer(doc):
        body = doc[match.end():].split("\n## ", 1)[0]
        blocks = re.findall(r"```hcl\n(.*?)```", body, re.S)
        key = (match.group(1), (match.group(2) or "").strip())
        assert blocks, f"no HCL example under {match.group(0)}"
        assert key not in found, f"two sections named {match.group(0)}"
        found[key] = example_files(match.group(0), blocks)
    return found


def example_files(heading: str, blocks: list[str]) -> dict[str, str]:
    """A section's blocks as files: all of them one `main.tf`, or each the file it names."""
    names = [fix_file(block) for block in blocks]
    if not any(names):
        return {"main.tf": "\n".join(blocks)}
    assert heading.startswith("## Good"), f"{heading}: only a Good example is a change"
    assert all(names), f"{heading}: either every block names its file or none does"
    for name in names:
        assert name in FIX_FILES, f"{heading}: unknown file {name}, not one of {[*FIX_FILES]}"
    assert len(set(names)) == len(names), f"{heading}: a file named twice"
    return {str(name): block for name, block in zip(names, blocks, strict=True)}


def test_examples_are_read_in_titled_pairs() -> None:
    doc = ("x\n\n## Bad\n```hcl\na\n```\n\n## Good\n```hcl\nb\n```\n\n"
           "## Bad: hub\n```hcl\nc\n```\n\n## Good: hub\n```hcl\nd\n```\n\n## Remediation\n")
    assert hcl_examples(doc) == {("Bad", ""): {"main.tf": "a\n"}, ("Good", ""): {"main.tf": "b\n"},
                                 ("Bad", "hub"): {"main.tf": "c\n"},
                                 ("Good", "hub"): {"main.tf": "d\n"}}


def test_a_good_example_may_be_the_bad_one_changed_by_named_files() -> None:
    doc = ("x\n\n## Bad\n```hcl\na\n```\n\n## Good\n```hcl\n# fix_override.tf\nb\n```\n\n"
           "```hcl\n# fix.tf\nc\n```\n\n## Remediation\n")
    assert hcl_examples(doc)["Good", ""] == {"fix_override.tf": "# fix_override.tf\nb\n",
                                             "fix.tf": "# fix.tf\nc\n"}
    explained = doc_for_readers(doc)
    assert "## Good\nThe Bad example above with this change. `fix_override.tf` is a " \
        "Terraform override file" in explained
    assert " `fix.tf` adds new blocks.\n\n```hcl" in explained
    assert explained.count("The Bad example") == 1  # a complete Good example is not announced


@pytest.mark.parametrize(("doc", "error"), [
    ("## Good\n```hcl\n# fix_overide.tf\nb\n```\n", "unknown file fix_overide.tf"),
    ("## Bad\n```hcl\n# fix.tf\nb\n```\n", "only a Good example is a change"),
    ("## Good\n```hcl\n# fix.tf\nb\n```\n```hcl\nc\n```\n", "every block names its file"),
    ("## Good\n```hcl\n# fix.tf\nb\n```\n```hcl\n# fix.tf\nc\n```\n", "a file named twice"),
])
def test_file_markers_are_checked(doc: str, error: str) -> None:
    with pytest.raises(AssertionError, match=error):
        hcl_examples(doc)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_doc_examples_fail_when_bad_and_do_not_fail_when_good(
    policy: object, tmp_path: Path
) -> None:
    """Each Bad example fails, its Good one (the fix) passes: docs cannot drift.

    A Good example written as a change is scanned as terraform would see it: the Bad
    `main.tf` with `fix_override.tf` merged into it and `fix.tf` beside it.
    """
    examples = hcl_examples(policy.doc)  # type: ignore[attr-defined]
    titles = {title for _, title in examples}
    assert "" in titles, "the untitled ## Bad / ## Good pair is missing"
    for n, title in enumerate(sorted(titles)):
        for kind, must_fail in (("Bad", True), ("Good", False)):
            assert (kind, title) in examples, f"## {kind}: {title} has no pair"
            section = f"{kind}: {title}" if title else kind
            directory = tmp_path / f"{kind}{n}"
            directory.mkdir()
            files = examples[kind, title]
            if "main.tf" not in files:
                files = {**examples["Bad", title], **files}
            for name, text in files.items():
                (directory / name).write_text(text, encoding="utf-8")
            report = scan([directory], policies=[policy])  # type: ignore[list-item]
            assert report.input_errors == [] and report.internal_errors == [], section
            statuses = {f.status for f in report.findings}
            seen = f"{section} example: {[(f.address, f.message) for f in report.findings]}"
            if must_fail:
                assert Status.FAIL in statuses, seen
            else:  # passes, not just "no fail": an unknown or unchecked fix shows nothing
                assert statuses == {Status.PASS}, seen
