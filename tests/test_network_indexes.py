"""The network facts answer per cluster through indexes, never per pair (issue 10).

Clusters x endpoints, clusters x endpoint needs and subnets x clusters were passes over
everything for each one: quadratic on a 50,000-resource plan. These tests count the
passes (never time), and check the indexed answers against the plain definitions.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfcheck.facts import requirements
from tfcheck.facts.builder import build
from tfcheck.facts.linking import Linker
from tfcheck.facts.records import NodeSource
from tfcheck.network import network, required_services
from tfcheck_policies.missing_vpc_endpoint import missing_vpc_endpoint

from .network_builders import SUBNETS, Plan, context, private_cluster, unknown


def _passes_over_resources(monkeypatch: Any) -> list[tuple[str, ...]]:
    """The types each `ResourceGraph.resources` call asks for, from now on (() = all)."""
    from tfcheck.graph import ResourceGraph

    passes: list[tuple[str, ...]] = []
    original = ResourceGraph.resources

    def counted(graph: ResourceGraph, *types: str) -> Any:
        passes.append(types)
        return original(graph, *types)

    monkeypatch.setattr(ResourceGraph, "resources", counted)
    return passes


class CountingList(list[Any]):
    """A list that counts the passes over it."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self.passes = 0

    def __iter__(self) -> Any:
        self.passes += 1
        return super().__iter__()


def clusters_in_pre_existing_vpcs(count: int) -> Plan:
    """`count` clusters on literal subnet IDs, each VPC told only by its endpoint."""
    p = Plan()
    for n in range(count):
        ids = [f"subnet-{n}a", f"subnet-{n}b"]
        p.add(f"aws_eks_cluster.c{n}", {"name": f"c{n}", "vpc_config": [{"subnet_ids": ids}]})
        p.add(f"aws_vpc_endpoint.ecr_{n}", {
            "vpc_id": f"vpc-{n}", "service_name": "com.amazonaws.eu-west-1.ecr.api",
            "vpc_endpoint_type": "Interface", "subnet_ids": ids})
    return p


class TestClusterVpc:
    def test_the_vpc_of_each_cluster_without_a_pass_over_every_endpoint(self) -> None:
        b = Linker(clusters_in_pre_existing_vpcs(4).build())
        b.net.endpoints = CountingList()
        net = build(b)
        assert [(c.vpc, c.vpc_evidence[1]) for c in net.clusters] == [
            (f"vpc-{n}", f"aws_vpc_endpoint.ecr_{n}") for n in range(4)]
        assert b.net.endpoints.passes == 0  # was one pass per cluster

    def test_endpoints_in_subnets_in_input_order(self) -> None:
        p = clusters_in_pre_existing_vpcs(3)
        p.add("aws_vpc_endpoint.shared", {
            "vpc_id": "vpc-0", "service_name": "com.amazonaws.eu-west-1.sts",
            "vpc_endpoint_type": "Interface", "subnet_ids": ["subnet-0b", "subnet-2a"]})
        net = network(context(p.build()))
        found = net.endpoints_in_subnets(["subnet-2a", "subnet-0a", "subnet-0b", "subnet-9"])
        assert [e.address for e in found] == [
            e.address for e in net.endpoints
            if {"subnet-2a", "subnet-0a", "subnet-0b"} & set(e.subnets.keys)]

    def test_a_cluster_vpc_told_by_its_literal_vpc_id(self) -> None:
        # a cluster of prior state on subnets outside the input: vpc_config.vpc_id is
        # known (this raised UnboundLocalError: the evidence read a loop variable)
        p = Plan()
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": ["subnet-0aaa"], "vpc_id": "vpc-0123"}]})
        (info,) = network(context(p.build())).clusters
        assert (info.vpc, info.vpc_evidence) == ("vpc-0123", ("aws_eks_cluster.main",
                                                              "vpc-0123"))


class TestNodePlacement:
    def test_computed_when_built_and_the_same_for_every_later_caller(self) -> None:
        (info,) = network(context(private_cluster().build())).clusters
        placement = info.node_subnets()
        assert info.node_subnets() is placement
        assert list(placement) == SUBNETS
        assert all(sources == info.nodes for sources in placement.values())
        with pytest.raises(TypeError):
            placement["subnet-0new"] = ()  # type: ignore[index]

    def test_the_node_sources_are_frozen(self) -> None:
        (info,) = network(context(private_cluster().build())).clusters
        (source,) = info.nodes
        assert isinstance(info.nodes, tuple)
        with pytest.raises(AttributeError):
            source.subnets = source.subnets  # type: ignore[misc]

    def test_new_node_sources_are_placed_anew(self) -> None:
        (info,) = network(context(private_cluster().build())).clusters
        (source,) = info.nodes
        moved = msgspec.structs.replace(source, subnets=msgspec.structs.replace(
            source.subnets, keys=("subnet-0other",)))
        info.nodes = (moved,)
        assert dict(info.node_subnets()) == {"subnet-0other": (moved,)}
        assert isinstance(moved, NodeSource)


class TestRequiredServices:
    @staticmethod
    def three_clusters() -> Plan:
        p = Plan()
        for name in ("a", "b", "c"):
            p.add(f"aws_eks_cluster.{name}", {"name": name, "vpc_config": [
                {"subnet_ids": [f"subnet-{name}"]}]})
            p.add(f"aws_iam_openid_connect_provider.{name}", {"url": unknown()},
                  refs={"url": f"aws_eks_cluster.{name}"})
        # a pod identity association whose cluster cannot be told: every cluster's need
        p.add("aws_eks_pod_identity_association.app", {"cluster_name": unknown()})
        return p

    def test_needs_are_read_once_not_once_per_cluster(self, monkeypatch: Any) -> None:
        ctx = context(self.three_clusters().build())
        needs = CountingList(requirements.endpoint_needs(ctx))
        assert {n.clusters for n in needs} >= {None, ("aws_eks_cluster.a",)}
        clusters = network(ctx).clusters
        plain = {info.address: [n for n in needs
                                if n.clusters is None or info.address in n.clusters]
                 for info in clusters}  # the definition: a pass per cluster
        needs.passes = 0
        monkeypatch.setattr(requirements, "endpoint_needs", lambda _: needs)
        for info in clusters:
            found = required_services(ctx, info)
            assert required_services(ctx, info) == found  # answered from the cache
            mine = [n for r in found for n in r.needs if n.resource.address != info.address]
            assert mine == sorted(plain[info.address], key=lambda n: n.service)
        assert needs.passes == 1  # the index

    def test_the_always_required_services_are_made_once_per_cluster(
            self, monkeypatch: Any) -> None:
        made: list[str] = []
        original = requirements.EndpointNeed

        def counted(*args: Any, **kwargs: Any) -> Any:
            made.append(args[0])
            return original(*args, **kwargs)

        ctx = context(private_cluster().build())
        (info,) = network(ctx).clusters
        requirements.endpoint_needs(ctx)
        monkeypatch.setattr(requirements, "EndpointNeed", counted)
        first = required_services(ctx, info)
        assert required_services(ctx, info) == first
        assert len(made) == len(requirements.ALWAYS_REQUIRED)  # one node group, once


def test_pc301_names_endpoints_elsewhere_without_a_pass_per_cluster() -> None:
    p = clusters_in_pre_existing_vpcs(4)
    for n in (1, 2, 3):
        p.add(f"aws_vpc_endpoint.ec2_{n}", {
            "vpc_id": f"vpc-{n}", "service_name": "com.amazonaws.eu-west-1.ec2",
            "vpc_endpoint_type": "Interface", "subnet_ids": [f"subnet-{n}a"]})
    ctx = context(p.build())
    net = network(ctx)
    net.endpoints = CountingList(net.endpoints)
    results = list(missing_vpc_endpoint.check(ctx))
    assert net.endpoints.passes == 0  # was one per failing requirement
    (fail,) = [r for r in results if r.subject.address == "aws_eks_cluster.c0"
               and r.message.startswith("no ec2 VPC endpoint")]
    assert ("(aws_vpc_endpoint.ec2_1 is in VPC vpc-1; aws_vpc_endpoint.ec2_2 is in VPC "
            "vpc-2; 1 more in other VPCs)") in fail.message


class TestWorkloadClusters:
    """A fleet's providers name their clusters through module outputs and addresses."""

    @staticmethod
    def fleet() -> Any:
        from tfcheck.graph import ProviderConfig

        from .workload_builders import cluster, ctx_of, helm

        resources, providers = [], []
        for name in ("a", "b", "c"):
            module = f"module.eks_{name}"
            resources.append(cluster(name, f"{module}.aws_eks_cluster.this"))
            resources.append(helm(f"{module}.helm_release.lb", "aws-load-balancer-controller"))
            reference = (f"{module}.cluster_endpoint" if name != "c"
                         else f"{module}.aws_eks_cluster.this.endpoint")
            providers.append(ProviderConfig(key=f"{module}:helm", name="helm", module=module,
                                            references=(reference,)))
        return ctx_of(*resources, providers=providers)

    def test_each_release_belongs_to_its_module_cluster(self) -> None:
        from tfcheck.facts.membership import clusters_of_workload

        ctx = self.fleet()
        for name in ("a", "b", "c"):
            release = ctx.graph.get(f"module.eks_{name}.helm_release.lb")
            assert clusters_of_workload(ctx, release) == (
                f"module.eks_{name}.aws_eks_cluster.this",)

    def test_through_indexes_not_a_pass_over_every_resource_per_reference(
            self, monkeypatch: Any) -> None:
        from tfcheck.facts.membership import clusters_of_workload, node_membership

        ctx = self.fleet()
        node_membership(ctx)
        passes = _passes_over_resources(monkeypatch)
        for name in ("a", "b", "c"):
            clusters_of_workload(ctx, ctx.graph.get(f"module.eks_{name}.helm_release.lb"))
        # each index built once: was a pass over every resource per reference and part
        # of it, and over every cluster per module output
        assert passes.count(()) == 1
        assert passes.count(("aws_eks_cluster",)) == 1


def test_unknown_references_are_resolved_once_per_text(monkeypatch: Any) -> None:
    from tfcheck.facts.linking import Linker as Counted

    asked: list[tuple[str, ...]] = []
    original = Counted._find_named

    def counted(self: Counted, references: tuple[str, ...], types: tuple[str, ...]) -> Any:
        asked.append(references)
        return original(self, references, types)

    monkeypatch.setattr(Counted, "_find_named", counted)
    network(context(private_cluster().build()))
    assert asked and len(asked) == len(set(asked))  # each endpoint's `aws_subnet.private`


def test_workloads_are_found_by_type_not_among_every_resource(monkeypatch: Any) -> None:
    from tfcheck.workloads.inventory import WORKLOAD_TYPES, read_workloads

    graph = private_cluster().build()
    passes = _passes_over_resources(monkeypatch)
    read_workloads(graph)
    assert () not in passes and WORKLOAD_TYPES in passes


def test_pc401_reads_a_shared_group_once_per_subnet(monkeypatch: Any) -> None:
    from tfcheck_policies import endpoint_sg_ingress as pc401

    asked: list[str] = []
    original = pc401._admits

    def counted(net: Any, groups: Any, subnet: Any, *rest: Any) -> Any:
        asked.append(subnet.key)
        return original(net, groups, subnet, *rest)

    monkeypatch.setattr(pc401, "_admits", counted)
    results = list(pc401.endpoint_sg_ingress.check(context(private_cluster().build())))
    assert len(results) == 4  # four interface endpoints behind one group
    assert sorted(asked) == SUBNETS  # was once per endpoint and subnet


def test_eniconfigs_are_grouped_by_cluster_once(monkeypatch: Any) -> None:
    import json

    from tfcheck.facts import custom_networking

    p = private_cluster()
    p.add("aws_eks_cluster.other", {"name": "other", "vpc_config": [
        {"subnet_ids": ["subnet-0other"]}]})
    for name in ("main", "other"):
        p.add(f"aws_eks_addon.cni_{name}", {
            "cluster_name": name, "addon_name": "vpc-cni", "configuration_values":
                json.dumps({"env": {custom_networking.CUSTOM_NETWORK: "true"}})})
    for zone in ("a", "b", "c"):
        p.add(f"kubernetes_manifest.eni_{zone}", {"manifest": {
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1", "kind": "ENIConfig",
            "metadata": {"name": f"eu-west-1{zone}"},
            "spec": {"subnet": f"subnet-0pods{zone}", "securityGroups": ["sg-0pods"]}}})
    ctx = context(p.build())
    asked: list[str] = []
    original = custom_networking.clusters_of_workload

    def counted(ctx: Any, resource: Any) -> Any:
        asked.append(resource.address)
        return original(ctx, resource)

    monkeypatch.setattr(custom_networking, "clusters_of_workload", counted)
    pods = custom_networking.pod_networking(ctx)
    # the ENIConfigs name no cluster: each is every cluster's, in input order
    for cluster in ("aws_eks_cluster.main", "aws_eks_cluster.other"):
        assert [s.address for s in pods.sources[cluster]] == [
            f"kubernetes_manifest.eni_{zone}" for zone in "abc"]
    assert sorted(a for a in asked if a.startswith("kubernetes_manifest")) == [
        f"kubernetes_manifest.eni_{zone}" for zone in "abc"]  # was once per cluster too


NAMES = ["main", "main-2", "prod", "a", "", "x.y"]


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from([
    "main", "prod", "--cluster-name main", "eks get-token --cluster-name=main-2 --region x",
    "--cluster-name prodx", "--cluster-name", "--cluster-name --cluster-name a",
    "https://MAIN.eks.amazonaws.com", "x.y", "--cluster-name=", "", "a b"]), max_size=5))
def test_named_in_provider_is_the_substring_test_through_an_index(literals: set[str]) -> None:
    from tfcheck.facts.membership import node_membership

    from .workload_builders import cluster, ctx_of

    clusters = [cluster(n, f"aws_eks_cluster.c{i}") for i, n in enumerate(NAMES)]
    clusters[0].values["endpoint"] = "https://MAIN.eks.amazonaws.com"
    members = node_membership(ctx_of(*clusters))
    plain = {c.address for c in clusters
             if (name := c.values["name"]) in literals or any(
                 f"--cluster-name {name}" in t or f"--cluster-name={name}" in t
                 for t in literals) or c.values.get("endpoint") in literals}
    assert members.named_in_provider(literals) == tuple(sorted(plain))


def test_a_cluster_is_looked_up_without_a_pass_over_every_cluster() -> None:
    net = network(context(clusters_in_pre_existing_vpcs(3).build()))
    every = list(net.clusters)
    net.clusters = CountingList(every)
    assert [net.cluster(f"aws_eks_cluster.c{n}") for n in range(3)] == every
    assert net.cluster("aws_eks_cluster.nope") is None
    assert net.clusters.passes == 0


def test_roles_given_by_arn_are_found_by_name_through_one_index(monkeypatch: Any) -> None:
    p = private_cluster()
    for n in range(3):
        p.add(f"aws_iam_role.nodes_{n}", {"name": f"nodes-{n}"})
        p.add(f"aws_eks_node_group.g{n}", {
            "cluster_name": "main", "subnet_ids": ["subnet-0a"],
            "node_role_arn": f"arn:aws:iam::111122223333:role/nodes-{n}"})
    graph = p.build()
    passes = _passes_over_resources(monkeypatch)
    (info,) = network(context(graph)).clusters
    roles = {s.address: s.roles for s in info.nodes}
    assert [roles[f"aws_eks_node_group.g{n}"] for n in range(3)] == [
        (f"aws_iam_role.nodes_{n}",) for n in range(3)]
    assert passes.count(("aws_iam_role",)) == 1  # was one per node group
