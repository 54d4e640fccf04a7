"""Shared network facts (`tfcheck.network`): how clusters, subnets, routes, endpoints and SGs tie.

Graphs are built with tests/network_builders.py (`Plan`, `private_cluster()`), the way
the plan loader builds them.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from tfcheck.facts.hcl_snippets import Literal, Reference, expression
from tfcheck.graph import ResourceGraph
from tfcheck.loaders.hcl import load_hcl
from tfcheck.model import Provenance, Sensitive, Status, Unknown
from tfcheck.network import (
    CLUSTER_SUBNETS,
    FARGATE_PROFILE,
    INTERNET_GATEWAY,
    MANAGED_NODE_GROUP,
    NAT_GATEWAY,
    NETWORK_INTERFACE,
    SELF_MANAGED,
    TRANSIT_GATEWAY,
    endpoint_counts_for,
    hcl_id_list,
    hcl_reference,
    internet_verdict,
    network,
    required_services,
)
from tfcheck.resolve import settle_with_configuration

from .conftest import FIXTURES
from .network_builders import (
    CIDRS,
    SSM_POLICY,
    SUBNETS,
    TABLES,
    ZONES,
    Plan,
    context,
    facts,
    private_cluster,
    unknown,
)
from .work_counting import lines_of

# -- clusters, VPCs and node subnets ---------------------------------------------------


class TestClusterVpc:
    def test_vpc_through_the_cluster_subnets(self) -> None:
        (info,) = facts(private_cluster()).clusters
        assert info.vpc == "aws_vpc.main"
        assert info.vpc_evidence == ("aws_eks_cluster.main", "aws_subnet.private[0]",
                                     "aws_vpc.main")
        assert info.region == "eu-west-1"
        assert info.name == "main"

    def test_pre_existing_vpc_inferred_from_endpoints_sharing_literal_subnet_ids(self) -> None:
        p = Plan()
        ids = ["subnet-0aaa", "subnet-0bbb"]
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [{"subnet_ids": ids}]})
        p.add("aws_vpc_endpoint.ecr_api", {
            "vpc_id": "vpc-0123", "service_name": "com.amazonaws.eu-west-1.ecr.api",
            "vpc_endpoint_type": "Interface", "subnet_ids": ids})
        net = facts(p)
        (info,) = net.clusters
        assert info.vpc == "vpc-0123"
        assert info.vpc_evidence == ("aws_eks_cluster.main", "aws_vpc_endpoint.ecr_api",
                                     "vpc-0123")
        assert net.vpc("vpc-0123") is not None and not net.vpc("vpc-0123").managed
        assert net.subnet("subnet-0aaa").vpc.keys == ("vpc-0123",)

    def test_literal_ids_of_resources_in_prior_state_are_followed(self) -> None:
        p = Plan()
        p.add("aws_vpc.main", {"id": "vpc-0abc", "cidr_block": "10.1.0.0/16"})
        p.add("aws_subnet.a", {"id": "subnet-0a", "vpc_id": "vpc-0abc",
                               "cidr_block": "10.1.0.0/24", "availability_zone": "eu-west-1a"})
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": ["subnet-0a"]}]})
        (info,) = facts(p, link_ids=True).clusters
        assert info.subnets.keys == ("aws_subnet.a",)
        assert info.vpc == "aws_vpc.main"

    def test_unknown_subnets_without_references_leave_the_vpc_unknown(self) -> None:
        p = Plan()
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": Unknown("depends on data.terraform_remote_state.net")}]})
        (info,) = facts(p).clusters
        assert info.vpc is None
        assert info.vpc_unknown is not None
        assert "data.terraform_remote_state.net" in info.vpc_unknown

    def test_subnets_in_the_input_whose_vpc_id_is_not_known(self) -> None:
        # terraform-aws-modules/vpc: `vpc_id = local.vpc_id`, which a plan does not record
        p = Plan()
        p.add("module.vpc.aws_subnet.private[0]", {
            "vpc_id": Unknown("module.vpc.aws_subnet.private[0].vpc_id is known only after "
                              "apply", ("local.vpc_id",)), "cidr_block": "10.0.0.0/20"})
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": unknown()}]},
            refs={"vpc_config.subnet_ids": "module.vpc.aws_subnet.private[0]"})
        (info,) = facts(p).clusters
        assert info.vpc is None
        assert info.vpc_unknown == (
            "the vpc_id of its subnet module.vpc.aws_subnet.private[0] is not known "
            "(module.vpc.aws_subnet.private[0].vpc_id is known only after apply: no scan "
            "before apply can decide it)")

    def test_region_falls_back_to_the_endpoints_service_names(self) -> None:
        p = private_cluster(Plan(region=None))
        (info,) = facts(p).clusters
        assert info.region == "eu-west-1"


class TestNodeSources:
    def test_managed_node_group_with_launch_template_carries_its_groups(self) -> None:
        (info,) = facts(private_cluster()).clusters
        (source,) = info.nodes
        assert source.kind == MANAGED_NODE_GROUP
        assert source.subnets.keys == tuple(SUBNETS)
        assert source.launch_template is not None
        assert source.launch_template.address == "aws_launch_template.nodes"
        assert source.security_groups.keys == ("aws_security_group.node",)

    def test_node_group_without_launch_template_carries_the_cluster_sg(self) -> None:
        p = private_cluster()
        p.resources["aws_eks_node_group.default"].values.pop("launch_template")
        p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
        (info,) = facts(p).clusters
        assert info.nodes[0].security_groups.keys == (
            "aws_eks_cluster.main (cluster security group)",)

    def test_remote_access_without_launch_template_adds_the_remote_access_sg(self) -> None:
        p = private_cluster()
        group = p.resources["aws_eks_node_group.default"]
        group.values.pop("launch_template")
        group.values["remote_access"] = [{"ec2_ssh_key": "ops"}]
        p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
        (info,) = facts(p).clusters
        assert info.nodes[0].security_groups.keys == (
            "aws_eks_cluster.main (cluster security group)",
            "aws_eks_node_group.default (remote access security group)")

    def test_launch_template_without_groups_gives_the_cluster_sg(self) -> None:
        p = private_cluster()
        p.add("aws_launch_template.nodes", {"vpc_security_group_ids": unknown(),
                                            "network_interfaces": []},
              computed=["vpc_security_group_ids"])
        (info,) = facts(p).clusters
        assert info.nodes[0].security_groups.keys == (
            "aws_eks_cluster.main (cluster security group)",)

    def test_network_interface_security_groups_count(self) -> None:
        p = private_cluster()
        p.add("aws_launch_template.nodes", {"network_interfaces": [
            {"security_groups": [unknown("aws_security_group.node")],
             "associate_public_ip_address": "false"}]},
            refs={"network_interfaces.security_groups": "aws_security_group.node"})
        (info,) = facts(p).clusters
        assert info.nodes[0].security_groups.keys == ("aws_security_group.node",)

    def test_fargate_profile_uses_its_subnets_and_the_cluster_sg(self) -> None:
        p = private_cluster()
        p.remove("aws_eks_node_group.default")
        p.add("aws_eks_fargate_profile.apps", {
            "cluster_name": "main", "subnet_ids": unknown("aws_subnet.private")},
            refs={"subnet_ids": SUBNETS[:2]})
        (info,) = facts(p).clusters
        (source,) = info.nodes
        assert source.kind == FARGATE_PROFILE
        assert source.subnets.keys == tuple(SUBNETS[:2])
        assert source.security_groups.keys == ("aws_eks_cluster.main (cluster security group)",)

    def test_cluster_subnets_when_no_nodes_are_in_the_input(self) -> None:
        p = private_cluster()
        p.remove("aws_eks_node_group.default")
        (info,) = facts(p).clusters
        (source,) = info.nodes
        assert source.kind == CLUSTER_SUBNETS
        assert source.resource.address == "aws_eks_cluster.main"
        assert list(info.node_subnets()) == SUBNETS

    @pytest.mark.parametrize("how", ["tag", "user_data_text", "user_data_reference",
                                     "access_entry"])
    def test_self_managed_asg_joins_the_cluster(self, how: str) -> None:
        p = private_cluster()
        template: dict[str, Any] = {"vpc_security_group_ids": ["sg-0nodes"]}
        refs: dict[str, str | list[str]] = {}
        if how == "user_data_text":
            import base64

            template["user_data"] = base64.b64encode(
                b"#!/bin/bash\n/etc/eks/bootstrap.sh main --b64-cluster-ca x\n").decode()
        if how == "user_data_reference":
            template["user_data"] = unknown("aws_eks_cluster.main")
            refs["user_data"] = "aws_eks_cluster.main"
        if how == "access_entry":
            template["iam_instance_profile"] = [{"name": unknown("aws_iam_instance_profile.n")}]
            refs["iam_instance_profile.name"] = "aws_iam_instance_profile.n"
            p.add("aws_iam_role.self", {"name": "self"})
            p.add("aws_iam_instance_profile.n", {"role": "self"})
            p.add("aws_eks_access_entry.self", {
                "cluster_name": unknown("aws_eks_cluster.main"), "type": "EC2_LINUX",
                "principal_arn": unknown("aws_iam_role.self")},
                refs={"cluster_name": "aws_eks_cluster.main",
                      "principal_arn": "aws_iam_role.self"})
        p.add("aws_launch_template.self", template, refs=refs)
        tags = ([{"key": "kubernetes.io/cluster/main", "value": "owned",
                  "propagate_at_launch": True}] if how == "tag" else [])
        p.add("aws_autoscaling_group.self", {
            "vpc_zone_identifier": unknown("aws_subnet.private"),
            "launch_template": [{"id": unknown("aws_launch_template.self")}], "tag": tags},
            refs={"vpc_zone_identifier": SUBNETS[2], "launch_template.id":
                  "aws_launch_template.self"})
        (info,) = facts(p).clusters
        source = info.nodes[-1]
        assert source.kind == SELF_MANAGED
        assert source.address == "aws_autoscaling_group.self"
        assert source.subnets.keys == (SUBNETS[2],)
        assert source.security_groups.keys == ("sg-0nodes",)
        expected = {
            "tag": "it carries the tag kubernetes.io/cluster/main",
            "user_data_text": "the user data of aws_launch_template.self names the cluster",
            "user_data_reference": "the user data of aws_launch_template.self names the "
                                   "cluster",
            "access_entry": "its instance role has an EC2 access entry on the cluster",
        }[how]
        assert source.membership == expected

    def test_an_asg_whose_launch_template_the_input_cannot_tell(self) -> None:
        # `launch_template { id = local.launch_template_id }` in a plan: no reference;
        # the nodes' groups are not known, rather than the VPC default group
        p = private_cluster()
        p.add("aws_autoscaling_group.self", {
            "vpc_zone_identifier": unknown("aws_subnet.private"),
            "launch_template": [{"id": unknown("local.launch_template_id")}],
            "tag": [{"key": "kubernetes.io/cluster/main", "value": "owned",
                     "propagate_at_launch": True}]},
            refs={"vpc_zone_identifier": SUBNETS[2]})
        (info,) = facts(p).clusters
        source = info.nodes[-1]
        assert source.address == "aws_autoscaling_group.self"
        assert source.security_groups.keys == ()
        assert source.security_groups.unknown is not None
        assert source.security_groups.unknown.reason == (
            "the launch template of aws_autoscaling_group.self is not known, so neither are "
            "the security groups it gives")

    def test_an_asg_of_nothing_is_not_a_node(self) -> None:
        p = private_cluster()
        p.add("aws_autoscaling_group.bastion", {"vpc_zone_identifier": ["subnet-0pub"]})
        (info,) = facts(p).clusters
        assert [s.address for s in info.nodes] == ["aws_eks_node_group.default"]

    def test_node_group_of_another_cluster_by_literal_name(self) -> None:
        p = private_cluster()
        p.add("aws_eks_node_group.other", {"cluster_name": "legacy",
                                           "subnet_ids": ["subnet-0x"]})
        (info,) = facts(p).clusters
        assert [s.address for s in info.nodes] == ["aws_eks_node_group.default"]


# -- route tables ----------------------------------------------------------------------


class TestRouteTables:
    def test_explicit_association(self) -> None:
        net = facts(private_cluster())
        effective = net.effective_route_table(SUBNETS[1])
        assert effective.tables == (TABLES[1],)
        assert effective.via == ("aws_route_table_association.private[1]",)
        assert not effective.main and effective.unknown is None
        assert net.route_table(TABLES[1]).routes == []

    def test_implicit_main_route_table_of_a_managed_vpc(self) -> None:
        p = private_cluster()
        p.remove("aws_route_table_association.private[2]")
        net = facts(p)
        effective = net.effective_route_table(SUBNETS[2])
        assert effective.tables == ("aws_vpc.main (main route table)",)
        assert effective.main
        table = net.route_table("aws_vpc.main (main route table)")
        assert table.complete and table.routes == []

    def test_main_route_table_association_wins(self) -> None:
        p = private_cluster()
        p.remove("aws_route_table_association.private[2]")
        p.add("aws_route_table.main", {"vpc_id": unknown(), "route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": unknown(), "nat_gateway_id": ""}]},
            refs={"vpc_id": "aws_vpc.main", "route": "aws_internet_gateway.gw"})
        p.add("aws_internet_gateway.gw", {"vpc_id": unknown()})
        p.add("aws_main_route_table_association.m", {"vpc_id": unknown(),
                                                     "route_table_id": unknown()},
              refs={"vpc_id": "aws_vpc.main", "route_table_id": "aws_route_table.main"})
        net = facts(p)
        effective = net.effective_route_table(SUBNETS[2])
        assert effective.tables == ("aws_route_table.main",)
        assert effective.via == ("aws_main_route_table_association.m",)
        (route,) = net.route_table("aws_route_table.main").routes
        assert route.kind == INTERNET_GATEWAY and route.target == "aws_internet_gateway.gw"
        assert route.hop == "aws_route_table.main route (0.0.0.0/0)"

    def test_default_route_table_resource_is_the_main_table(self) -> None:
        p = private_cluster()
        p.remove("aws_route_table_association.private[0]")
        p.add("aws_default_route_table.d", {"default_route_table_id": unknown(),
                                            "route": []},
              refs={"default_route_table_id": "aws_vpc.main"})
        effective = facts(p).effective_route_table(SUBNETS[0])
        assert effective.tables == ("aws_default_route_table.d",)
        assert effective.main

    def test_aws_route_resources_with_target_kinds(self) -> None:
        p = private_cluster()
        p.add("aws_nat_gateway.private", {"connectivity_type": "private"})
        p.add("aws_nat_gateway.public", {"connectivity_type": unknown()},
              computed=["connectivity_type"])
        routes = {
            "aws_route.nat": ({"nat_gateway_id": unknown()}, "aws_nat_gateway.public"),
            "aws_route.private_nat": ({"nat_gateway_id": unknown()},
                                      "aws_nat_gateway.private"),
        }
        for address, (target, ref) in routes.items():
            target_attribute = next(iter(target))
            p.add(address, {"route_table_id": unknown(), "destination_cidr_block": "0.0.0.0/0",
                            **target, "network_interface_id": unknown(),
                            "instance_id": unknown()},
                  refs={"route_table_id": TABLES[0], target_attribute: ref},
                  computed=["network_interface_id", "instance_id"])
        p.add("aws_route.tgw", {"route_table_id": "rtb-0ext",
                                "destination_cidr_block": "10.99.0.0/16",
                                "transit_gateway_id": "tgw-0123"})
        p.add("aws_route.eni", {"route_table_id": unknown(),
                                "destination_ipv6_cidr_block": "::/0",
                                "network_interface_id": "eni-0abc"},
              refs={"route_table_id": TABLES[1]})
        net = facts(p)
        by_source = {r.declared_by.address: r for t in net.route_tables.values()
                     for r in t.routes}
        nat = by_source["aws_route.nat"]
        assert (nat.kind, nat.target, nat.connectivity) == (
            NAT_GATEWAY, "aws_nat_gateway.public", "public")  # provider default
        assert internet_verdict(nat) is True
        private = by_source["aws_route.private_nat"]
        assert private.connectivity == "private" and internet_verdict(private) is False
        tgw = by_source["aws_route.tgw"]
        assert (tgw.table, tgw.kind, tgw.target, tgw.is_default) == (
            "rtb-0ext", TRANSIT_GATEWAY, "tgw-0123", False)
        eni = by_source["aws_route.eni"]
        assert (eni.kind, eni.is_default, internet_verdict(eni)) == (NETWORK_INTERFACE, True,
                                                                     True)
        assert not net.route_table("rtb-0ext").complete

    def test_unresolved_association_makes_the_main_table_uncertain(self) -> None:
        p = private_cluster()
        p.remove("aws_route_table_association.private[2]")
        p.add("aws_route_table_association.mystery", {
            "subnet_id": Unknown("depends on var.subnet"), "route_table_id": unknown()},
            refs={"route_table_id": TABLES[0]})
        effective = facts(p).effective_route_table(SUBNETS[2])
        assert effective.tables == ()
        assert effective.unknown is not None
        assert "aws_route_table_association.mystery" in effective.unknown

    def test_subnet_known_only_by_id_has_no_known_table(self) -> None:
        p = private_cluster()
        effective = facts(p).effective_route_table("subnet-0outside")
        assert effective.unknown == (
            "no route table association in the input names subnet subnet-0outside; subnet "
            "subnet-0outside is managed outside this configuration, so none can decide it "
            "from here")

    def test_association_by_literal_subnet_id(self) -> None:
        p = Plan()
        p.add("aws_route_table.x", {"vpc_id": "vpc-1", "route": []})
        p.add("aws_route_table_association.x", {"subnet_id": "subnet-0lit",
                                                "route_table_id": unknown()},
              refs={"route_table_id": "aws_route_table.x"})
        effective = facts(p).effective_route_table("subnet-0lit")
        assert effective.tables == ("aws_route_table.x",)


# -- endpoints -------------------------------------------------------------------------


class TestEndpoints:
    def test_endpoints_by_vpc_with_subnets_groups_and_tables(self) -> None:
        net = facts(private_cluster())
        endpoints = {e.address: e for e in net.endpoints_in("aws_vpc.main")}
        ecr = endpoints['aws_vpc_endpoint.interface["ecr.api"]']
        assert (ecr.service, ecr.region, ecr.type, ecr.private_dns) == (
            "ecr.api", "eu-west-1", "Interface", True)
        assert ecr.subnets.keys == tuple(SUBNETS)
        assert ecr.security_groups.keys == ("aws_security_group.vpc_endpoints",)
        s3 = endpoints["aws_vpc_endpoint.s3"]
        assert s3.is_gateway and s3.route_tables.keys == tuple(TABLES)
        assert s3.security_groups.keys == ()

    def test_type_defaults_to_gateway_and_does_not_count(self) -> None:
        p = private_cluster()
        p.add("aws_vpc_endpoint.logs", {"vpc_id": unknown(), "service_name":
                                        "com.amazonaws.eu-west-1.logs",
                                        "vpc_endpoint_type": unknown()},
              refs={"vpc_id": "aws_vpc.main"}, computed=["vpc_endpoint_type"])
        net = facts(p)
        (logs,) = [e for e in net.endpoints if e.address == "aws_vpc_endpoint.logs"]
        assert logs.type == "Gateway" and logs.type_is_default
        assert endpoint_counts_for(logs, "logs", "eu-west-1") == (
            "aws_vpc_endpoint.logs is not an Interface endpoint (vpc_endpoint_type is not set, "
            "so it is the provider default Gateway)")

    def test_no_security_groups_means_the_vpc_default_sg(self) -> None:
        p = private_cluster()
        endpoint = p.resources['aws_vpc_endpoint.interface["sts"]']
        endpoint.values["security_group_ids"] = unknown()
        endpoint.configured = endpoint.configured - {"security_group_ids"}  # type: ignore[operator]
        p.edges = [e for e in p.edges if not (e[0] == endpoint.address
                                              and e[1] == "security_group_ids")]
        net = facts(p)
        (sts,) = [e for e in net.endpoints if e.service == "sts"]
        assert sts.uses_default_security_group
        assert sts.security_groups.keys == ("aws_vpc.main (default security group)",)
        default = net.security_group("aws_vpc.main (default security group)")
        assert [r.peers for r in default.ingress] == [("aws_vpc.main (default security group)",)]

    def test_association_resources(self) -> None:
        p = private_cluster(services=())
        p.add("aws_vpc_endpoint.ecr_api", {
            "vpc_id": unknown(), "service_name": "com.amazonaws.eu-west-1.ecr.api",
            "vpc_endpoint_type": "Interface", "subnet_ids": unknown(),
            "security_group_ids": unknown()},
            refs={"vpc_id": "aws_vpc.main"}, computed=["subnet_ids", "security_group_ids"])
        for i, subnet in enumerate(SUBNETS[:2]):
            p.add(f"aws_vpc_endpoint_subnet_association.ecr[{i}]", {
                "vpc_endpoint_id": unknown(), "subnet_id": unknown()},
                refs={"vpc_endpoint_id": "aws_vpc_endpoint.ecr_api", "subnet_id": subnet})
        p.add("aws_vpc_endpoint_security_group_association.ecr", {
            "vpc_endpoint_id": unknown(), "security_group_id": unknown(),
            "replace_default_association": True},
            refs={"vpc_endpoint_id": "aws_vpc_endpoint.ecr_api",
                  "security_group_id": "aws_security_group.vpc_endpoints"})
        p.add("aws_vpc_endpoint_route_table_association.s3", {
            "vpc_endpoint_id": "vpce-0s3", "route_table_id": "rtb-0other"})
        net = facts(p)
        (ecr,) = [e for e in net.endpoints if e.address == "aws_vpc_endpoint.ecr_api"]
        assert ecr.subnets.keys == tuple(SUBNETS[:2])
        assert ecr.subnets.via == ("aws_vpc_endpoint_subnet_association.ecr[0]",
                                   "aws_vpc_endpoint_subnet_association.ecr[1]")
        assert ecr.security_groups.keys == ("aws_security_group.vpc_endpoints",)
        assert not ecr.uses_default_security_group

    def test_service_name_built_from_an_unknown_region_matches_the_suffix(self) -> None:
        p = private_cluster(services=())
        p.add("aws_vpc_endpoint.ec2", {"vpc_id": unknown(), "service_name":
                                       "com.amazonaws.${var.region}.ec2",
                                       "vpc_endpoint_type": "Interface"},
              refs={"vpc_id": "aws_vpc.main"})
        (ec2,) = [e for e in facts(p).endpoints if e.address == "aws_vpc_endpoint.ec2"]
        assert ec2.service == "ec2"
        assert isinstance(ec2.region, Unknown)
        assert endpoint_counts_for(ec2, "ec2", "eu-west-1") is None

    def test_endpoint_in_another_region_does_not_count(self) -> None:
        p = private_cluster(services=())
        p.add("aws_vpc_endpoint.sts", {"vpc_id": unknown(), "service_name":
                                       "com.amazonaws.us-east-1.sts",
                                       "vpc_endpoint_type": "Interface"},
              refs={"vpc_id": "aws_vpc.main"})
        (sts,) = [e for e in facts(p).endpoints if e.address == "aws_vpc_endpoint.sts"]
        assert endpoint_counts_for(sts, "sts", "eu-west-1") == (
            "aws_vpc_endpoint.sts is for region us-east-1, the cluster is in eu-west-1")


class TestHclBesideThePlan:
    """A plan records references per block; the HCL beside it names the instances."""

    HCL = """
resource "aws_subnet" "private" {
  count      = 3
  vpc_id     = "vpc-0abc"
  cidr_block = "10.0.${count.index}.0/24"
}

resource "aws_vpc_endpoint" "ecr" {
  vpc_id            = "vpc-0abc"
  service_name      = "com.amazonaws.eu-west-1.ecr.dkr"
  vpc_endpoint_type = "Interface"
  subnet_ids        = slice(aws_subnet.private[*].id, 0, 1)
}

resource "aws_vpc_endpoint_subnet_association" "ecr" {
  count           = 1
  vpc_endpoint_id = aws_vpc_endpoint.ecr.id
  subnet_id       = aws_subnet.private[count.index + 2].id
}
"""

    def plan(self) -> Plan:
        p = Plan()
        for i, subnet in enumerate(SUBNETS):
            p.add(subnet, {"vpc_id": "vpc-0abc", "cidr_block": f"10.0.{i}.0/24"})
        p.add("aws_vpc_endpoint.ecr", {
            "vpc_id": "vpc-0abc", "service_name": "com.amazonaws.eu-west-1.ecr.dkr",
            "vpc_endpoint_type": "Interface",
            "subnet_ids": unknown("aws_subnet.private")}, refs={"subnet_ids": SUBNETS})
        # the loader maps `[count.index + 2]` like `[count.index]`: private[0]
        p.add("aws_vpc_endpoint_subnet_association.ecr[0]", {
            "vpc_endpoint_id": unknown("aws_vpc_endpoint.ecr"),
            "subnet_id": unknown("aws_subnet.private")},
            refs={"vpc_endpoint_id": "aws_vpc_endpoint.ecr", "subnet_id": SUBNETS[0]})
        return p

    def test_the_plan_alone_fans_out_and_guesses(self) -> None:
        (endpoint,) = facts(self.plan()).endpoints
        assert endpoint.subnets.keys == tuple(SUBNETS)

    def test_the_hcl_beside_names_the_instances(self, tmp_path: Path) -> None:
        (tmp_path / "main.tf").write_text(self.HCL)
        graph = self.plan().build(source=str(tmp_path / "plan.json"))
        # what the resolver records: a fan-out, and a guess from `count.index`
        association = "aws_vpc_endpoint_subnet_association.ecr[0]"
        graph.drop_references(association, "subnet_id")
        graph.add_reference(association, "subnet_id", SUBNETS[0], Provenance.GUESS)
        for source, attribute in (("aws_vpc_endpoint.ecr", "subnet_ids"),
                                  (association, "subnet_id")):
            graph.open_references[(source, attribute)] = frozenset({"aws_subnet.private"})
        graph.configuration = load_hcl(tmp_path).graph  # what the engine attaches
        settle_with_configuration(graph, graph.configuration)
        (endpoint,) = network(context(graph)).endpoints
        # slice(..., 0, 1) is private[0]; the association adds private[2], not private[0]
        assert endpoint.subnets.keys == (SUBNETS[0], SUBNETS[2])
        assert endpoint.subnets.via == ("aws_vpc_endpoint_subnet_association.ecr[0]",)


# -- security groups -------------------------------------------------------------------


class TestSecurityGroupRules:
    def test_three_ways_of_writing_rules_normalise_alike(self) -> None:
        p = private_cluster()
        p.add("aws_security_group_rule.a", {
            "type": "ingress", "security_group_id": unknown(), "protocol": "6",
            "from_port": 400, "to_port": 500, "cidr_blocks": ["10.0.0.0/20"],
            "source_security_group_id": unknown(), "self": False},
            refs={"security_group_id": "aws_security_group.vpc_endpoints"},
            computed=["source_security_group_id"])
        p.add("aws_vpc_security_group_ingress_rule.b", {
            "security_group_id": unknown(), "ip_protocol": "-1",
            "referenced_security_group_id": unknown()},
            refs={"security_group_id": "aws_security_group.vpc_endpoints",
                  "referenced_security_group_id": "aws_eks_cluster.main"})
        p.add("aws_vpc_security_group_egress_rule.c", {
            "security_group_id": unknown(), "ip_protocol": "tcp", "from_port": 443,
            "to_port": 443, "prefix_list_id": "pl-0123"},
            refs={"security_group_id": "aws_security_group.vpc_endpoints"})
        group = facts(p).security_group("aws_security_group.vpc_endpoints")
        inline, rule_a, rule_b = group.ingress
        assert (inline.protocol, inline.from_port, inline.to_port, inline.cidrs) == (
            "tcp", 443, 443, (ipaddress.ip_network("10.0.0.0/16"),))
        assert (rule_a.declared_by, rule_a.protocol, rule_a.allows_tcp(443),
                rule_a.peers) == ("aws_security_group_rule.a", "tcp", True, ())
        assert (rule_b.protocol, rule_b.peers, rule_b.allows_tcp(443)) == (
            "-1", ("aws_eks_cluster.main (cluster security group)",), True)
        (egress,) = group.egress
        assert egress.prefix_lists == ("pl-0123",)
        assert egress.hop == "aws_vpc_security_group_egress_rule.c (egress tcp/443)"

    def test_inline_prefix_list_of_the_s3_gateway_endpoint(self) -> None:
        group = facts(private_cluster()).security_group("aws_security_group.node")
        assert group.egress[1].prefix_lists == ("aws_vpc_endpoint.s3 (prefix list)",)

    def test_cidr_written_as_a_reference_to_a_subnet(self) -> None:
        p = private_cluster()
        p.add("aws_security_group_rule.ref", {
            "type": "ingress", "security_group_id": unknown(), "protocol": "tcp",
            "from_port": 443, "to_port": 443,
            "cidr_blocks": [unknown("aws_subnet.private[1]")]},
            refs={"security_group_id": "aws_security_group.vpc_endpoints",
                  "cidr_blocks": SUBNETS[1]})
        group = facts(p).security_group("aws_security_group.vpc_endpoints")
        assert group.ingress[-1].cidrs == (ipaddress.ip_network(CIDRS[1]),)

    def test_self_rule_names_its_own_group(self) -> None:
        p = private_cluster()
        p.resources["aws_security_group.node"].values["ingress"] = [
            {"from_port": 0, "to_port": 0, "protocol": "-1", "self": True,
             "cidr_blocks": [], "security_groups": [], "prefix_list_ids": []}]
        group = facts(p).security_group("aws_security_group.node")
        assert group.ingress[0].peers == ("aws_security_group.node",)

    def test_the_eks_cluster_security_group_has_open_egress(self) -> None:
        group = facts(private_cluster()).security_group(
            "aws_eks_cluster.main (cluster security group)")
        (egress,) = group.egress
        assert ipaddress.ip_network("0.0.0.0/0") in egress.cidrs
        assert egress.allows_tcp(443) is True

    def test_port_ranges_and_all_protocols(self) -> None:
        from tfcheck.network import Rule

        def rule(protocol: Any, low: Any, high: Any) -> Rule:
            return Rule("ingress", "sg", "x", protocol, low, high)

        assert rule("tcp", 0, 65535).allows_tcp(443) is True
        assert rule("tcp", 80, 80).allows_tcp(443) is False
        assert rule("udp", 443, 443).allows_tcp(443) is False
        assert rule("-1", 0, 0).allows_tcp(443) is True
        assert rule("tcp", unknown(), 443).allows_tcp(443) is None
        assert rule(unknown(), 443, 443).allows_tcp(443) is None


# -- endpoint needs (PC301) ------------------------------------------------------------


class TestRequiredServices:
    def test_always_and_feature_driven(self) -> None:
        p = private_cluster()
        p.add("aws_iam_openid_connect_provider.eks", {"url": unknown()},
              refs={"url": "aws_eks_cluster.main"})
        p.add("aws_eks_pod_identity_association.app", {"cluster_name": "main"})
        p.add("aws_eks_addon.efs", {"cluster_name": unknown(), "addon_name":
                                    "aws-efs-csi-driver"},
              refs={"cluster_name": "aws_eks_cluster.main"})
        p.add("aws_iam_role.node", {"name": "node"})
        p.resources["aws_eks_node_group.default"].values["node_role_arn"] = unknown()
        p.ref("aws_eks_node_group.default", "node_role_arn", "aws_iam_role.node")
        p.add("aws_iam_role_policy_attachment.ssm", {"role": "node", "policy_arn": SSM_POLICY})
        graph = p.build()
        ctx = context(graph, required_endpoints=("kms",), not_required_endpoints=("ec2",))
        (info,) = network(ctx).clusters
        found = {r.service: r for r in required_services(ctx, info)}
        assert sorted(found) == ["ecr.api", "ecr.dkr", "eks-auth", "elasticfilesystem", "kms",
                                 "s3", "ssm", "ssmmessages", "sts"]
        assert found["sts"].required_by == ["aws_iam_openid_connect_provider.eks"]
        assert found["eks-auth"].required_by == ["aws_eks_pod_identity_association.app"]
        assert found["ssm"].required_by == ["aws_iam_role_policy_attachment.ssm"]
        assert found["ecr.dkr"].required_by == ["aws_eks_node_group.default"]
        assert found["kms"].reasons == [
            "the required_endpoints setting of the tfcheck configuration"]

    def test_oidc_provider_by_literal_issuer_url(self) -> None:
        p = private_cluster()
        p.resources["aws_eks_cluster.main"].values["identity"] = [
            {"oidc": [{"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}]}]
        p.add("aws_iam_openid_connect_provider.other", {
            "url": "https://oidc.eks.eu-west-1.amazonaws.com/id/OTHER"})
        ctx = context(p.build())
        (info,) = network(ctx).clusters
        assert "sts" not in {r.service for r in required_services(ctx, info)}
        p.add("aws_iam_openid_connect_provider.mine", {
            "url": "oidc.eks.eu-west-1.amazonaws.com/id/ABC"})
        ctx = context(p.build())
        (info,) = network(ctx).clusters
        found = {r.service: r for r in required_services(ctx, info)}
        assert found["sts"].required_by == ["aws_iam_openid_connect_provider.mine"]

    def test_ssm_on_a_role_no_node_uses_is_not_a_need(self) -> None:
        p = private_cluster()
        p.add("aws_iam_role.bastion", {"name": "bastion"})
        p.add("aws_iam_role_policy_attachment.ssm", {
            "role": unknown(), "policy_arn": SSM_POLICY}, refs={"role": "aws_iam_role.bastion"})
        ctx = context(p.build())
        (info,) = network(ctx).clusters
        assert "ssm" not in {r.service for r in required_services(ctx, info)}


# -- robustness ------------------------------------------------------------------------


class TestRobustness:
    @pytest.mark.parametrize("depth", [0, 1, 2])
    @pytest.mark.parametrize("wrap", ["unknown", "sensitive"])
    def test_unknown_and_sensitive_values_anywhere_never_crash(self, wrap: str,
                                                               depth: int) -> None:
        from tfcheck_policies import ALL_POLICIES

        def wrapped(value: Any, level: int) -> Any:
            if level < depth and isinstance(value, dict):
                return {k: wrapped(v, level + 1) for k, v in value.items()}
            if level < depth and isinstance(value, list):
                return [wrapped(v, level + 1) for v in value]
            return Unknown("x", ("aws_vpc.main",)) if wrap == "unknown" else Sensitive(value)

        p = private_cluster()
        for resource in p.resources.values():
            resource.values = {k: wrapped(v, 1) for k, v in resource.values.items()}
        graph = p.build()
        ctx = context(graph)
        assert [c.address for c in network(ctx).clusters] == ["aws_eks_cluster.main"]
        mine = [p for p in ALL_POLICIES if p.id[:3] in ("PC2", "PC3", "PC4")]
        for policy in mine:
            for result in policy.check(ctx):
                assert result.status in (Status.PASS, Status.FAIL, Status.UNKNOWN)
                assert "Sensitive(" not in result.message

    def test_empty_graph(self) -> None:
        net = facts(Plan())
        assert net.clusters == [] and net.endpoints == []

    def test_near_linear_on_many_subnets_and_rules(self) -> None:
        def work(count: int) -> int:
            p = private_cluster()
            for i in range(count):
                p.add(f"aws_subnet.many[{i}]", {"vpc_id": unknown(), "cidr_block":
                                                f"10.1.{i % 250}.0/24", "availability_zone":
                                                ZONES[i % 3]}, refs={"vpc_id": "aws_vpc.main"})
                p.add(f"aws_security_group_rule.r[{i}]", {
                    "type": "ingress", "security_group_id": unknown(), "protocol": "tcp",
                    "from_port": i, "to_port": i, "cidr_blocks": ["10.0.0.0/8"]},
                    refs={"security_group_id": "aws_security_group.vpc_endpoints"})
            return lines_of(lambda: facts(p))

        work(10)  # warm: modules imported on first use are not the facts' work
        # twice the subnets and rules, about twice the Python lines run (1.87x
        # measured); every rule against every other would be 4x
        assert work(150) <= 2.2 * work(75)


# -- remediation references ------------------------------------------------------------


def test_hcl_references_as_a_user_writes_them() -> None:
    net = facts(private_cluster())
    assert hcl_reference(net, "aws_vpc.main") == Reference("aws_vpc.main.id")
    assert hcl_reference(net, "aws_eks_cluster.main (cluster security group)") == Reference(
        "aws_eks_cluster.main.vpc_config[0].cluster_security_group_id")
    assert hcl_reference(net, "aws_vpc.main (main route table)") == Reference(
        "aws_vpc.main.main_route_table_id")
    assert hcl_reference(net, "sg-0abc") == Literal("sg-0abc")
    assert hcl_id_list(net, SUBNETS) == Reference("aws_subnet.private[*].id")
    assert expression(hcl_id_list(net, SUBNETS[:2])) == (
        "[aws_subnet.private[0].id, aws_subnet.private[1].id]")


# -- real plans ------------------------------------------------------------------------

GOOD_PLAN = FIXTURES / "plans" / "good-private-cluster" / "plan.json"


def load(path: Path) -> ResourceGraph:
    from tfcheck.loaders.plan import load_plan

    return load_plan(json.loads(path.read_text()), str(path))


@pytest.mark.skipif(not GOOD_PLAN.exists(), reason="plan fixture not generated")
def test_facts_of_the_good_private_cluster_plan() -> None:
    net = network(context(load(GOOD_PLAN)))
    (info,) = net.clusters
    assert info.vpc == "aws_vpc.main"
    assert [(s.kind, s.address) for s in info.nodes] == [
        (MANAGED_NODE_GROUP, "aws_eks_node_group.default"),
        (SELF_MANAGED, "aws_autoscaling_group.self_managed"),
    ]
    assert info.nodes[1].membership == ("the user data of aws_launch_template.self_managed "
                                        "names the cluster")
    assert all(s.security_groups.keys == ("aws_security_group.node",) for s in info.nodes)
    assert net.effective_route_table("aws_subnet.private[2]").tables == (
        "aws_route_table.private[2]",)
    services = {e.service for e in net.endpoints_in("aws_vpc.main")}
    assert {"ec2", "ecr.api", "ecr.dkr", "s3", "sts", "eks-auth"} <= services


def test_hcl_references_into_a_module_use_its_outputs() -> None:
    p = Plan()
    p.add("module.vpc.aws_vpc.this[0]", {"cidr_block": "10.0.0.0/16"})
    for i in range(2):
        p.add(f"module.vpc.aws_route_table.private[{i}]", {})
    net = facts(p)
    assert hcl_reference(net, "module.vpc.aws_vpc.this[0]") == Reference(
        "module.vpc.vpc_id", comment="module.vpc.aws_vpc.this[0]")
    assert hcl_reference(net, "module.vpc.aws_route_table.private[1]") == Reference(
        "module.vpc.private_route_table_ids[1]", comment="module.vpc.aws_route_table.private[1]")
    assert hcl_id_list(net, [f"module.vpc.aws_route_table.private[{i}]" for i in range(2)]) == (
        Reference("module.vpc.private_route_table_ids"))
