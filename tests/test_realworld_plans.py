"""Plans other projects wrote (../shared/realworld/plans) all load into a sensible graph."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tfcheck.engine import scan
from tfcheck.loaders.plan import load_plan_file
from tfcheck.model import strip_instance_keys

from .conftest import SHARED

PLANS = SHARED / "realworld" / "plans"
PLAN_FILES = sorted(PLANS.glob("*.json")) if PLANS.is_dir() else []


def _sources() -> dict[str, dict[str, str]]:
    with (PLANS / "SOURCES.tsv").open(encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.mark.skipif(not PLAN_FILES, reason=f"{PLANS} is absent (shared/ not beside checkout)")
def test_the_corpus_is_all_there() -> None:
    assert len(PLAN_FILES) == 143


@pytest.mark.skipif(not PLAN_FILES, reason=f"{PLANS} is absent (shared/ not beside checkout)")
@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.name)
def test_every_real_plan_loads_into_a_graph(path: Path) -> None:
    graph = load_plan_file(path)
    listed = _sources()[path.name]["resource_changes"]
    addresses = {r.address for r in graph.resources()}
    if listed.isdigit() and int(listed) > 0:
        assert addresses, "a plan with resource changes gave an empty graph"
    for source, target, attribute in graph.edges():
        assert source in addresses and target in addresses
        assert attribute and "[" not in attribute  # block indices are dropped from labels
    for resource in graph.resources():
        assert strip_instance_keys(resource.address).endswith(f"{resource.type}.{resource.name}")


@pytest.mark.skipif(not PLAN_FILES, reason=f"{PLANS} is absent (shared/ not beside checkout)")
def test_the_whole_corpus_scans_without_an_internal_error() -> None:
    report = scan([str(p) for p in PLAN_FILES])
    assert report.internal_errors == []
    assert report.input_errors == []
    assert len(report.inputs) == len(PLAN_FILES)
