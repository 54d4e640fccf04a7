"""A reference to a whole block is one edge per referring instance, not one per pair.

`cidr_blocks = aws_subnet.x[*].cidr_block` in a block with `count = 1000` names every
one of 500 subnets from each of 1,000 rules: 500,000 (rule, subnet) pairs. The graph
keeps one edge per rule to the node `aws_subnet.x[*]` and its queries answer as if
each pair had its own edge. fixtures/loader/whole-block-fanout is the same shape
planned by terraform (6 rules, 4 subnets).
"""

from __future__ import annotations

from typing import Any

import networkx
import pytest

from tfcheck.graph import ResourceGraph
from tfcheck.loaders.plan import load_plan, load_plan_file
from tfcheck.model import Provenance

from .conftest import FIXTURES

FIXTURE = FIXTURES / "loader" / "whole-block-fanout" / "plan.json"


def _addresses(resources: list[Any]) -> list[str]:
    return [r.address for r in resources]


def _document(rules: int, subnets: int) -> dict[str, Any]:
    """`aws_security_group_rule.all[*]` each naming every `aws_subnet.x[*]`, as terraform
    writes it: the reference is the block alone, `aws_subnet.x`."""
    resources: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []

    def add(block: str, index: int, values: dict[str, Any], unknown: dict[str, Any]) -> None:
        kind, name = block.split(".")
        address = f"{block}[{index}]"
        resources.append({"address": address, "mode": "managed", "type": kind, "name": name,
                          "index": index, "values": values})
        changes.append({"address": address, "mode": "managed", "type": kind, "name": name,
                        "index": index, "change": {"actions": ["create"], "after": values,
                                                   "after_unknown": unknown}})

    for i in range(subnets):
        add("aws_subnet.x", i, {"cidr_block": f"10.{i // 256}.{i % 256}.0/24"}, {"id": True})
    for i in range(rules):
        add("aws_security_group_rule.all", i, {"from_port": i, "cidr_blocks": [
            f"10.{s // 256}.{s % 256}.0/24" for s in range(subnets)]}, {"id": True})
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": [
            {"address": "aws_subnet.x", "mode": "managed", "type": "aws_subnet", "name": "x",
             "expressions": {"cidr_block": {"references": ["count.index"]}}},
            {"address": "aws_security_group_rule.all", "mode": "managed",
             "type": "aws_security_group_rule", "name": "all",
             "expressions": {"cidr_blocks": {"references": ["aws_subnet.x"]},
                             "from_port": {"references": ["count.index"]}}},
        ]}},
    }


@pytest.fixture
def counted_edges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every edge the loader stores in networkx (the graph of record)."""
    stored: list[tuple[Any, ...]] = []
    add_edge = networkx.MultiDiGraph.add_edge

    def counting(self: Any, u: Any, v: Any, key: Any = None, **attr: Any) -> Any:
        stored.append((u, v, key))
        return add_edge(self, u, v, key, **attr)

    monkeypatch.setattr(networkx.MultiDiGraph, "add_edge", counting)
    return stored


def test_a_wide_whole_block_fan_out_stores_one_edge_per_rule(
        counted_edges: list[tuple[Any, ...]]) -> None:
    graph = load_plan(_document(rules=1000, subnets=500), "fanout.json")
    assert len(counted_edges) == 1000
    assert {v for _, v, _ in counted_edges} == {"aws_subnet.x[*]"}
    rule = graph.get("aws_security_group_rule.all[999]")
    subnet = graph.get("aws_subnet.x[499]")
    assert rule is not None and subnet is not None
    assert len(graph.references(rule, "cidr_blocks")) == 500
    assert len(graph.referrers(subnet)) == 1000
    assert graph.provenance(rule.address, subnet.address, "cidr_blocks") is Provenance.PLAN


def test_queries_answer_as_if_every_pair_had_its_edge() -> None:
    graph = load_plan(_document(rules=3, subnets=4), "fanout.json")
    subnets = [f"aws_subnet.x[{i}]" for i in range(4)]
    rules = [f"aws_security_group_rule.all[{i}]" for i in range(3)]
    rule, subnet = graph.get(rules[1]), graph.get(subnets[2])
    assert rule is not None and subnet is not None
    assert _addresses(graph.references(rule)) == subnets
    assert _addresses(graph.references(rule, "cidr_blocks", "aws_subnet")) == subnets
    assert graph.references(rule, "from_port") == []
    assert graph.references(rule, "cidr_blocks", "aws_vpc") == []
    assert _addresses(graph.referrers(subnet, "cidr_blocks")) == rules
    assert graph.referrers(subnet, "vpc_id") == []
    assert graph.provenance(rules[0], subnets[3], "cidr_blocks") is Provenance.PLAN
    assert graph.provenance(rules[0], subnets[3], "from_port") is None
    assert graph.provenance(subnets[3], rules[0], "cidr_blocks") is None
    assert list(graph.edges()) == sorted((r, s, "cidr_blocks") for r in rules for s in subnets)
    assert list(graph.block_edges()) == []  # "every one of", never "one of"
    assert graph.candidates(rule, "cidr_blocks") == []
    assert open_blocks(graph, rules[1], "cidr_blocks") == frozenset({"aws_subnet.x"})
    graph.drop_references(rules[1], "cidr_blocks")
    assert graph.references(rule) == []
    assert _addresses(graph.referrers(subnet)) == [rules[0], rules[2]]


def open_blocks(graph: ResourceGraph, source: str, attribute: str) -> frozenset[str] | None:
    return graph.open_references.get((source, attribute))


def test_a_fact_on_another_path_wins_over_a_guess() -> None:
    graph = load_plan(_document(rules=2, subnets=2), "fanout.json")
    graph.add_reference("aws_security_group_rule.all[0]", "cidr_blocks", "aws_subnet.x[0]",
                        Provenance.GUESS)
    assert graph.provenance("aws_security_group_rule.all[0]", "aws_subnet.x[0]",
                            "cidr_blocks") is Provenance.PLAN
    rule = graph.get("aws_security_group_rule.all[0]")
    assert rule is not None
    assert _addresses(graph.references(rule)) == ["aws_subnet.x[0]", "aws_subnet.x[1]"]


def test_terraforms_plan_of_the_same_shape(counted_edges: list[tuple[Any, ...]]) -> None:
    graph = load_plan_file(FIXTURE)
    subnets = [f"aws_subnet.x[{i}]" for i in range(4)]
    rules = [f"aws_security_group_rule.all[{i}]" for i in range(6)]
    assert sum(1 for _, v, k in counted_edges if k == "cidr_blocks") == 6
    for address in rules:
        rule = graph.get(address)
        assert rule is not None
        assert _addresses(graph.references(rule, "cidr_blocks")) == subnets
        assert _addresses(graph.references(rule, "security_group_id")) == [
            "aws_security_group.sg"]
    subnet = graph.get("aws_subnet.x[1]")
    assert subnet is not None
    assert _addresses(graph.referrers(subnet, "cidr_blocks")) == rules
    # one subnet per rule, by an index the plan cannot follow past the fourth subnet
    assert _addresses(graph.candidates(graph.get(  # type: ignore[arg-type]
        "aws_vpc_security_group_ingress_rule.mod[5]"), "cidr_ipv4")) == subnets
    # the same index: a guess per rule
    assert graph.provenance("aws_vpc_security_group_ingress_rule.same[2]", "aws_subnet.x[2]",
                            "cidr_ipv4") is Provenance.GUESS
