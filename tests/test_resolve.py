"""The resolver: one answer to "which instance does this reference mean?", with provenance.

The fixture fixtures/loader/count-index-fanout is a real terraform plan of security
group rules fanned out over a counted block of groups
(`aws_security_group.bulk[floor(count.index / 3)]`), which the plan records only as
`aws_security_group.bulk` + `count.index`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfcheck.engine import ScanOptions, scan
from tfcheck.graph import ResourceGraph
from tfcheck.graph_export import export_graph
from tfcheck.loaders.hcl import load_hcl
from tfcheck.loaders.plan import load_plan, load_plan_file
from tfcheck.model import Provenance, Report, Status, Unknown
from tfcheck.resolve import parse_reference, settle_with_configuration

from .conftest import FIXTURES

FANOUT = FIXTURES / "loader" / "count-index-fanout"


def _targets(graph: ResourceGraph, address: str, attribute: str) -> list[str]:
    resource = graph.get(address)
    assert resource is not None, address
    return [r.address for r in graph.references(resource, attribute)]


def _candidates(graph: ResourceGraph, address: str, attribute: str) -> list[str]:
    resource = graph.get(address)
    assert resource is not None, address
    return [r.address for r in graph.candidates(resource, attribute)]


@pytest.fixture
def plan_only() -> ResourceGraph:
    return load_plan_file(FANOUT / "plan.json")


@pytest.fixture
def settled() -> ResourceGraph:
    graph = load_plan_file(FANOUT / "plan.json")
    settle_with_configuration(graph, load_hcl(FANOUT).graph)
    return graph


def test_a_fan_out_the_plan_cannot_map_is_one_block_level_edge(plan_only: ResourceGraph) -> None:
    # twelve rules, four groups: `[count.index]` is impossible (rule 4 has no group 4)
    assert _targets(plan_only, "aws_security_group_rule.https[1]", "security_group_id") == []
    assert _candidates(plan_only, "aws_security_group_rule.https[1]", "security_group_id") == [
        f"aws_security_group.bulk[{i}]" for i in range(4)
    ]
    rule = plan_only.get("aws_security_group_rule.https[1]")
    assert rule is not None
    assert plan_only.block_references(rule, "security_group_id") == [
        ("aws_security_group.bulk", tuple(f"aws_security_group.bulk[{i}]" for i in range(4)))
    ]


def test_a_key_the_plan_allows_is_a_guess_not_a_fact(plan_only: ResourceGraph) -> None:
    assert _targets(plan_only, "aws_security_group_rule.next[0]", "security_group_id") == [
        "aws_security_group.bulk[0]"
    ]
    assert plan_only.provenance("aws_security_group_rule.next[0]", "aws_security_group.bulk[0]",
                                "security_group_id") is Provenance.GUESS


def test_each_value_of_a_for_each_over_a_resource_is_its_same_key_instance(
    plan_only: ResourceGraph,
) -> None:
    address = 'aws_route_table_association.private["b"]'
    assert _targets(plan_only, address, "subnet_id") == ['aws_subnet.private["b"]']
    assert plan_only.provenance(address, 'aws_subnet.private["b"]', "subnet_id") is (
        Provenance.GUESS)


def test_the_hcl_beside_the_plan_settles_every_index(settled: ResourceGraph) -> None:
    for rule in range(12):
        address = f"aws_security_group_rule.https[{rule}]"
        group = f"aws_security_group.bulk[{rule // 3}]"
        assert _targets(settled, address, "security_group_id") == [group]
        assert _candidates(settled, address, "security_group_id") == []
        assert settled.provenance(address, group, "security_group_id") is Provenance.HCL
    # `[count.index + 1]` read the same as `[count.index]` in the plan
    assert _targets(settled, "aws_security_group_rule.next[0]", "security_group_id") == [
        "aws_security_group.bulk[1]"
    ]
    assert _targets(settled, "aws_security_group_rule.own[2]", "security_group_id") == [
        "aws_security_group.bulk[2]"
    ]


def test_edges_stay_linear_in_a_wide_fan_out() -> None:
    """500 groups, 1,500 rules: one edge per rule, not one per (rule, group) pair."""
    graph = load_plan(_fanout_document(groups=500, per_group=3), "fanout.json")
    assert [e for e in graph.edges() if e[2] == "security_group_id"] == []
    edges = list(graph.block_edges())
    assert len(edges) == 1_500
    assert {target for _, target, _ in edges} == {"aws_security_group.bulk"}
    assert graph.is_block("aws_security_group.bulk")


@pytest.mark.parametrize("fmt", ["json", "mermaid", "dot"])
def test_the_graph_export_draws_a_plan_with_block_level_edges(
    plan_only: ResourceGraph, fmt: str
) -> None:
    drawn = export_graph(plan_only, fmt)
    assert "aws_security_group_rule.https[4]" in drawn
    assert "aws_security_group.bulk[1]" in drawn


def test_plan_references_name_exact_instances() -> None:
    graph = load_plan(_fanout_document(groups=3, per_group=1, index="[0]"), "fanout.json")
    assert _targets(graph, "aws_security_group_rule.https[2]", "security_group_id") == [
        "aws_security_group.bulk[0]"
    ]
    assert graph.provenance("aws_security_group_rule.https[2]", "aws_security_group.bulk[0]",
                            "security_group_id") is Provenance.PLAN
    assert graph.open_references == {}


def test_known_ids_are_edges_of_their_own_provenance() -> None:
    document = {
        "format_version": "1.2",
        "prior_state": {"values": {"root_module": {"resources": [
            {"address": "data.aws_vpc.shared", "mode": "data", "type": "aws_vpc",
             "name": "shared", "values": {"id": "vpc-0abc"}}]}}},
        "planned_values": {"root_module": {"resources": [
            {"address": "aws_subnet.a", "mode": "managed", "type": "aws_subnet", "name": "a",
             "values": {"vpc_id": "vpc-0abc"}}]}},
    }
    graph = load_plan(document, "ids.json")
    assert _targets(graph, "aws_subnet.a", "vpc_id") == ["data.aws_vpc.shared"]
    assert graph.provenance("aws_subnet.a", "data.aws_vpc.shared", "vpc_id") is (
        Provenance.KNOWN_ID)


@pytest.mark.parametrize(("text", "kind", "target", "key"), [
    ("aws_subnet.private[0].id", "resource", "aws_subnet.private", 0),
    ('aws_subnet.private["a.b"]', "resource", "aws_subnet.private", "a.b"),
    ("data.aws_vpc.main.id", "resource", "data.aws_vpc.main", None),
    ("module.vpc.private_subnets", "module_output", "vpc", None),
    ("local.vpc_id", "local", "vpc_id", None),
    ("var.vpc_id", "var", "vpc_id", None),
    ("count.index", "other", "count.index", None),
])
def test_references_parse(text: str, kind: str, target: str, key: object) -> None:
    ref = parse_reference(text)
    assert (ref.kind, ref.target, ref.key) == (kind, target, key)


def _fanout_document(groups: int, per_group: int, index: str = "") -> dict[str, object]:
    """A plan shaped like terraform writes it for `bulk[floor(count.index / N)]`."""
    resources: list[dict[str, object]] = []
    changes: list[dict[str, object]] = []
    for i in range(groups):
        address = f"aws_security_group.bulk[{i}]"
        resources.append({"address": address, "mode": "managed", "type": "aws_security_group",
                          "name": "bulk", "index": i, "values": {"name": f"bulk-{i}"}})
        changes.append({"address": address, "type": "aws_security_group", "name": "bulk",
                        "index": i, "change": {"actions": ["create"], "after": {},
                                               "after_unknown": {"id": True}}})
    for i in range(groups * per_group):
        address = f"aws_security_group_rule.https[{i}]"
        resources.append({"address": address, "mode": "managed",
                          "type": "aws_security_group_rule", "name": "https", "index": i,
                          "values": {"type": "ingress"}})
        changes.append({"address": address, "type": "aws_security_group_rule", "name": "https",
                        "index": i, "change": {"actions": ["create"], "after": {},
                                               "after_unknown": {"security_group_id": True}}})
    refs = ([f"aws_security_group.bulk{index}.id", f"aws_security_group.bulk{index}"]
            if index else [])
    refs += ["aws_security_group.bulk"] + ([] if index else ["count.index"])
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": [
            {"address": "aws_security_group.bulk", "mode": "managed",
             "type": "aws_security_group", "name": "bulk", "expressions": {}},
            {"address": "aws_security_group_rule.https", "mode": "managed",
             "type": "aws_security_group_rule", "name": "https",
             "expressions": {"security_group_id": {"references": refs}}},
        ]}},
    }



def test_locals_a_plan_drops_are_wired_through_the_configuration_beside_it(
    tmp_path: Path,
) -> None:
    """terraform-aws-modules/vpc's subnets reach the VPC through `local.vpc_id`."""
    case = FIXTURES / "plans" / "vpc-module-local-vpc-id"
    bare = tmp_path / "plan.json"
    shutil.copyfile(case / "plan.json", bare)

    def unknowns(report: Report) -> set[tuple[str, str]]:
        return {(f.rule_id, f.address) for f in report.findings if f.status is Status.UNKNOWN}

    alone = unknowns(scan([str(bare)]))
    assert {("PC203", "aws_eks_cluster.main"), ("PC301", "aws_eks_cluster.main")} <= alone
    beside = unknowns(scan([str(bare)], options=ScanOptions(source_dir=case)))
    assert beside == {("PC501", "aws_launch_template.self_managed")}

    graph = load_plan_file(case / "plan.json")
    settle_with_configuration(graph, load_hcl(case).graph)
    subnet = "module.vpc.aws_subnet.private[1]"
    assert _targets(graph, subnet, "vpc_id") == ["module.vpc.aws_vpc.this[0]"]
    assert graph.provenance(subnet, "module.vpc.aws_vpc.this[0]", "vpc_id") is Provenance.HCL


def test_the_configuration_never_names_instances_the_plan_does_not_have(
    plan_only: ResourceGraph,
) -> None:
    """HCL evaluated without the plan's variables may expand differently: ignored then."""
    configuration = load_hcl(FANOUT).graph
    rule = configuration.get("aws_security_group_rule.https[4]")
    assert rule is not None
    rule.values["security_group_id"] = Unknown(
        "aws_security_group.bulk[9].id is known only after apply", ("aws_security_group.bulk[9]",))
    settle_with_configuration(plan_only, configuration)
    address = "aws_security_group_rule.https[4]"
    assert _targets(plan_only, address, "security_group_id") == []
    assert len(_candidates(plan_only, address, "security_group_id")) == 4
    assert (address, "security_group_id") in plan_only.open_references
    # the other rules were settled
    assert _targets(plan_only, "aws_security_group_rule.https[5]", "security_group_id") == [
        "aws_security_group.bulk[1]"
    ]


def test_a_count_index_into_a_module_output_is_a_guess_until_settled() -> None:
    graph = load_plan_file(FIXTURES / "loader" / "modules-aliases" / "plan.json")
    assert graph.provenance("aws_route_table_association.a[1]", "module.net.aws_subnet.s[1]",
                            "subnet_id") is Provenance.GUESS
    assert graph.provenance("aws_eks_cluster.c", "module.net.aws_subnet.s[0]",
                            "vpc_config.subnet_ids") is Provenance.PLAN


def test_each_value_of_a_for_each_over_locals_is_open_until_the_configuration_settles_it(
    tmp_path: Path,
) -> None:
    """`for_each = local.node_egress` + `referenced_security_group_id = each.value.sg`.

    The plan records only `each.value.sg` (no resource at all): the reference is open,
    and the `.tf` files beside the plan name the group, as an HCL evaluation.
    """
    case = FIXTURES / "hcl-policies" / "pc4-rule-resources-count"
    rule = 'aws_vpc_security_group_egress_rule.nodes["endpoints"]'
    s3 = 'aws_vpc_security_group_egress_rule.nodes["s3"]'
    graph = load_plan_file(case / "plan.json")
    assert _targets(graph, rule, "referenced_security_group_id") == []
    assert (rule, "referenced_security_group_id") in graph.open_references
    assert (s3, "prefix_list_id") in graph.open_references

    settle_with_configuration(graph, load_hcl(case).graph)
    assert _targets(graph, rule, "referenced_security_group_id") == [
        "aws_security_group.endpoints"]
    assert graph.provenance(rule, "aws_security_group.endpoints",
                            "referenced_security_group_id") is Provenance.HCL
    assert _targets(graph, s3, "prefix_list_id") == ["aws_vpc_endpoint.s3"]
    assert graph.provenance(s3, "aws_vpc_endpoint.s3", "prefix_list_id") is Provenance.HCL
    # `sg = null` for s3 names nothing: it stays open, with no edge
    assert _targets(graph, s3, "referenced_security_group_id") == []
    assert (s3, "referenced_security_group_id") in graph.open_references

    # the findings: PC402 needs the configuration to tell where the nodes' egress goes
    bare = tmp_path / "plan.json"
    shutil.copyfile(case / "plan.json", bare)
    pc402 = [f.status for f in scan([str(bare)]).findings if f.rule_id == "PC402"]
    assert pc402 == [Status.UNKNOWN]
    beside = scan([str(bare)], options=ScanOptions(source_dir=case))
    assert [f.status for f in beside.findings if f.rule_id == "PC402"] == [Status.PASS]


# -- work shared between instances (issue 10) --------------------------------------------


def _counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[object]:
    calls: list[object] = []
    original = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_an_expression_without_an_instance_key_is_resolved_once_per_module_instance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """1,500 rules naming `aws_security_group.bulk[0]` (no count.index): one resolution
    for all of them; `count.index` alone (`from_port`) names nothing and is not resolved."""
    from tfcheck import resolve

    document = _fanout_document(groups=500, per_group=3, index="[0]")
    rules = document["configuration"]["root_module"]["resources"][1]  # type: ignore[index]
    rules["expressions"]["from_port"] = {"references": ["count.index"]}
    calls = _counting(monkeypatch, resolve.PlanResolver, "_resolve")
    graph = load_plan(document, "fanout.json")
    assert len(calls) == 1
    assert _targets(graph, "aws_security_group_rule.https[1499]", "security_group_id") == [
        "aws_security_group.bulk[0]"]


def test_only_resources_naming_a_known_id_have_their_paths_spelled_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tfcheck import resolve

    subnets = [{"address": f"aws_subnet.s{i}", "mode": "managed", "type": "aws_subnet",
                "name": f"s{i}", "values": {"vpc_id": "vpc-0abc" if i == 7 else "vpc-other",
                                            "tags": {"Name": "vpc-0abc"}}}
               for i in range(20)]
    document = {
        "format_version": "1.2",
        "prior_state": {"values": {"root_module": {"resources": [
            {"address": "data.aws_vpc.shared", "mode": "data", "type": "aws_vpc",
             "name": "shared", "values": {"id": "vpc-0abc"}}]}}},
        "planned_values": {"root_module": {"resources": subnets}},
    }
    calls = _counting(monkeypatch, resolve, "_known_id_leaves")
    graph = load_plan(document, "ids.json")
    assert len(calls) == 1
    assert [e for e in graph.edges()] == [("aws_subnet.s7", "data.aws_vpc.shared", "vpc_id")]
