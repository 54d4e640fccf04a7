"""PC201 node-subnet-internet-route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfcheck.model import Status, Unknown
from tfcheck_policies.node_subnet_internet_route import node_subnet_internet_route

from ..network_builders import (
    CLUSTER,
    SUBNETS,
    TABLES,
    Plan,
    by_subject,
    private_cluster,
    run,
    unknown,
    verdicts,
)


def nat_route(p: Plan, table: str = TABLES[0], *, connectivity: Any = None,
              destination: str = "0.0.0.0/0") -> None:
    """A NAT gateway and an `aws_route` from `table` to it."""
    nat: dict[str, Any] = {"subnet_id": "subnet-0public"}
    computed = []
    if connectivity is None:
        nat["connectivity_type"] = unknown()
        computed.append("connectivity_type")
    else:
        nat["connectivity_type"] = connectivity
    p.add("aws_nat_gateway.this", nat, computed=computed)
    p.add("aws_route.nat", {
        "route_table_id": unknown(), "destination_cidr_block": destination,
        "nat_gateway_id": unknown(), "network_interface_id": unknown(),
        "instance_id": unknown()},
        refs={"route_table_id": table, "nat_gateway_id": "aws_nat_gateway.this"},
        computed=["network_interface_id", "instance_id"])


class TestPC201:
    def test_pass_when_the_route_tables_have_only_the_local_route(self) -> None:
        results = run(node_subnet_internet_route, private_cluster())
        assert verdicts(results) == [("pass", s) for s in SUBNETS]
        assert results[1].data == {"subnet": SUBNETS[1], "route_table": TABLES[1],
                                   "cluster": CLUSTER}
        assert results[1].evidence == (SUBNETS[1], "aws_route_table_association.private[1]",
                                       TABLES[1])

    def test_fail_on_a_nat_route_resource_with_the_evidence_chain(self) -> None:
        p = private_cluster()
        nat_route(p, TABLES[0])
        results = run(node_subnet_internet_route, p)
        assert verdicts(results) == [("fail", SUBNETS[0]), ("pass", SUBNETS[1]),
                                     ("pass", SUBNETS[2])]
        fail = results[0]
        assert fail.evidence == (SUBNETS[0], TABLES[0], "aws_route.nat (0.0.0.0/0)",
                                 "aws_nat_gateway.this")
        assert fail.data == {"subnet": SUBNETS[0], "route_table": TABLES[0],
                             "destination": "0.0.0.0/0", "target": "aws_nat_gateway.this",
                             "target_kind": "NAT gateway", "cluster": CLUSTER}
        assert fail.message == (
            "node subnet aws_subnet.private[0] routes 0.0.0.0/0 to NAT gateway "
            "aws_nat_gateway.this through aws_route_table.private[0] (aws_route.nat "
            "(0.0.0.0/0)): nodes have an internet path")
        assert "Delete aws_route.nat" in fail.remediation
        assert 'resource "aws_route_table_association"' in fail.remediation

    def test_fail_on_an_inline_internet_gateway_route(self) -> None:
        p = private_cluster()
        p.add("aws_internet_gateway.gw", {"vpc_id": unknown()})
        p.add(TABLES[1], {"vpc_id": unknown(), "route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": unknown(), "nat_gateway_id": "",
             "ipv6_cidr_block": "", "network_interface_id": ""}]},
            refs={"vpc_id": "aws_vpc.main", "route": "aws_internet_gateway.gw"})
        results = run(node_subnet_internet_route, p)
        (fail,) = [r for r in results if r.status is Status.FAIL]
        assert fail.subject.address == SUBNETS[1]
        assert fail.evidence[-2:] == ("aws_route_table.private[1] route (0.0.0.0/0)",
                                      "aws_internet_gateway.gw")
        assert fail.data["target_kind"] == "internet gateway"
        assert "delete the inline route" in fail.remediation

    def test_fail_on_a_nat_gateway_written_as_gateway_id(self) -> None:
        # `gateway_id = aws_nat_gateway.x.id`: AWS accepts it, and it is a NAT route
        p = private_cluster()
        p.add("aws_nat_gateway.egress", {"subnet_id": "subnet-0public",
                                         "connectivity_type": "public"})
        p.add(TABLES[1], {"vpc_id": unknown(), "route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": unknown(), "nat_gateway_id": "",
             "ipv6_cidr_block": "", "network_interface_id": ""}]},
            refs={"vpc_id": "aws_vpc.main", "route": "aws_nat_gateway.egress"})
        (fail,) = [r for r in run(node_subnet_internet_route, p) if r.status is Status.FAIL]
        assert fail.subject.address == SUBNETS[1]
        assert fail.data["target_kind"] == "NAT gateway"
        assert fail.evidence[-1] == "aws_nat_gateway.egress"

    def test_a_literal_nat_gateway_id_in_gateway_id_fails(self) -> None:
        p = private_cluster()
        p.add(TABLES[0], {"vpc_id": unknown(), "route": [
            {"cidr_block": "0.0.0.0/0", "gateway_id": "nat-0a1b2c3d4e5f67890",
             "nat_gateway_id": "", "ipv6_cidr_block": "", "network_interface_id": ""}]},
            refs={"vpc_id": "aws_vpc.main"})
        result = by_subject(run(node_subnet_internet_route, p))[SUBNETS[0]]
        assert (result.status, result.data["target_kind"]) == (Status.FAIL, "NAT gateway")

    def test_fail_through_the_vpc_main_route_table(self) -> None:
        p = private_cluster()
        p.remove("aws_route_table_association.private[2]")
        p.add("aws_route_table.main", {"vpc_id": unknown(), "route": []},
              refs={"vpc_id": "aws_vpc.main"})
        p.add("aws_main_route_table_association.main", {
            "vpc_id": unknown(), "route_table_id": unknown()},
            refs={"vpc_id": "aws_vpc.main", "route_table_id": "aws_route_table.main"})
        nat_route(p, "aws_route_table.main")
        results = run(node_subnet_internet_route, p)
        (fail,) = [r for r in results if r.status is Status.FAIL]
        assert fail.subject.address == SUBNETS[2]
        assert "(the VPC's main route table)" in fail.message
        assert fail.evidence == (SUBNETS[2], "aws_route_table.main",
                                 "aws_route.nat (0.0.0.0/0)", "aws_nat_gateway.this")

    def test_private_nat_gateway_passes_with_a_note(self) -> None:
        p = private_cluster()
        nat_route(p, TABLES[0], connectivity="private")
        results = run(node_subnet_internet_route, p)
        assert verdicts(results) == [("pass", s) for s in SUBNETS]
        assert "private NAT gateway aws_nat_gateway.this" in results[0].message

    def test_unknown_nat_connectivity_is_unknown(self) -> None:
        p = private_cluster()
        nat_route(p, TABLES[0], connectivity=Unknown("var.nat_type"))
        p.resources["aws_nat_gateway.this"].configured = frozenset({"connectivity_type"})
        result = by_subject(run(node_subnet_internet_route, p))[SUBNETS[0]]
        assert result.status is Status.UNKNOWN
        assert "connectivity_type of aws_nat_gateway.this is not known" in result.message

    def test_egress_only_gateway_for_ipv6_fails(self) -> None:
        p = private_cluster()
        p.add("aws_egress_only_internet_gateway.v6", {"vpc_id": unknown()})
        p.add("aws_route.v6", {"route_table_id": unknown(),
                               "destination_ipv6_cidr_block": "::/0",
                               "egress_only_gateway_id": unknown()},
              refs={"route_table_id": TABLES[2],
                    "egress_only_gateway_id": "aws_egress_only_internet_gateway.v6"})
        result = by_subject(run(node_subnet_internet_route, p))[SUBNETS[2]]
        assert result.status is Status.FAIL
        assert result.data["destination"] == "::/0"
        assert result.data["target_kind"] == "egress-only internet gateway"

    def test_transit_gateway_default_route_without_its_path_is_unknown(self) -> None:
        """Catalog PC201: follow a transit gateway where the input holds the path."""
        p = private_cluster()
        p.add("aws_route.tgw", {"route_table_id": unknown(),
                                "destination_cidr_block": "0.0.0.0/0",
                                "transit_gateway_id": "tgw-0123"},
              refs={"route_table_id": TABLES[0]})
        results = run(node_subnet_internet_route, p)
        assert verdicts(results) == [("pass", SUBNETS[1]), ("pass", SUBNETS[2]),
                                     ("unknown", SUBNETS[0])]
        assert by_subject(results)[SUBNETS[0]].message.endswith(
            "aws_route.tgw (0.0.0.0/0) in aws_route_table.private[0] goes to transit gateway "
            "tgw-0123: no attachment of aws_vpc.main to transit gateway tgw-0123 is in the "
            "input, so not which of its route tables the traffic uses")

    def test_peering_default_route_is_not_an_internet_path(self) -> None:
        """Peering never carries traffic on to the peer's gateways (no edge-to-edge)."""
        p = private_cluster()
        p.add("aws_route.peer", {"route_table_id": unknown(),
                                 "destination_cidr_block": "0.0.0.0/0",
                                 "vpc_peering_connection_id": "pcx-0123"},
              refs={"route_table_id": TABLES[0]})
        results = run(node_subnet_internet_route, p)
        assert verdicts(results) == [("pass", s) for s in SUBNETS]
        assert "(no edge-to-edge routing)" in by_subject(results)[SUBNETS[0]].message

    def test_load_balancer_endpoint_is_followed_to_its_subnet_route_table(self) -> None:
        """Inspected traffic returns to the GWLB endpoint's subnet: NAT there is a path."""
        p = private_cluster()
        p.add("aws_vpc_endpoint.inspection", {
            "vpc_id": unknown(), "service_name": "com.amazonaws.vpce.eu-west-1.vpce-svc-0123",
            "vpc_endpoint_type": "GatewayLoadBalancer", "subnet_ids": unknown()},
            refs={"vpc_id": "aws_vpc.main", "subnet_ids": "aws_subnet.firewall"})
        p.add("aws_subnet.firewall", {"vpc_id": unknown(), "cidr_block": "10.0.200.0/24",
                                      "availability_zone": "eu-west-1a"},
              refs={"vpc_id": "aws_vpc.main"})
        p.add("aws_route_table.firewall", {"vpc_id": unknown(), "route": []},
              refs={"vpc_id": "aws_vpc.main"})
        p.add("aws_route_table_association.firewall",
              {"subnet_id": unknown(), "route_table_id": unknown()},
              refs={"subnet_id": "aws_subnet.firewall",
                    "route_table_id": "aws_route_table.firewall"})
        p.add("aws_nat_gateway.egress", {"connectivity_type": "public"})
        p.add("aws_route.firewall_nat", {"route_table_id": unknown(),
                                         "destination_cidr_block": "0.0.0.0/0",
                                         "nat_gateway_id": unknown()},
              refs={"route_table_id": "aws_route_table.firewall",
                    "nat_gateway_id": "aws_nat_gateway.egress"})
        p.add("aws_route.inspect", {"route_table_id": unknown(),
                                    "destination_cidr_block": "0.0.0.0/0",
                                    "vpc_endpoint_id": unknown()},
              refs={"route_table_id": TABLES[0],
                    "vpc_endpoint_id": "aws_vpc_endpoint.inspection"})
        results = by_subject(run(node_subnet_internet_route, p))
        assert results[SUBNETS[0]].status is Status.FAIL, results[SUBNETS[0]].message
        assert ("aws_vpc_endpoint.inspection returns inspected traffic to its subnets' route "
                "tables: aws_subnet.firewall routes 0.0.0.0/0 to NAT gateway "
                "aws_nat_gateway.egress") in results[SUBNETS[0]].message

    def test_pre_existing_subnets_are_reported_on_the_cluster_as_unknown(self) -> None:
        p = Plan()
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": ["subnet-0aaa", "subnet-0bbb"]}]})
        results = run(node_subnet_internet_route, p)
        assert verdicts(results) == [("unknown", "aws_eks_cluster.main")] * 2
        assert [r.data["subnet"] for r in results] == ["subnet-0aaa", "subnet-0bbb"]
        assert results[0].message == (
            "cannot tell the route table of node subnet subnet-0aaa: no route table "
            "association in the input names subnet subnet-0aaa; subnet subnet-0aaa is managed "
            "outside this configuration, so none can decide it from here")

    def test_a_literal_association_of_a_pre_existing_subnet_decides(self) -> None:
        p = Plan()
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": ["subnet-0aaa"]}]})
        p.add("aws_route_table.private", {"vpc_id": "vpc-0x", "route": [
            {"cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-0abc"}]})
        p.add("aws_route_table_association.a", {"subnet_id": "subnet-0aaa",
                                                "route_table_id": unknown()},
              refs={"route_table_id": "aws_route_table.private"})
        (result,) = run(node_subnet_internet_route, p)
        assert (result.status, result.subject.address) == (Status.FAIL, "aws_eks_cluster.main")
        assert result.data["target"] == "nat-0abc"

    def test_node_group_with_subnets_the_input_cannot_give(self) -> None:
        p = private_cluster()
        p.add("aws_eks_node_group.remote", {"cluster_name": "main",
                                            "subnet_ids": Unknown("from remote state")})
        results = by_subject(run(node_subnet_internet_route, p))
        result = results["aws_eks_node_group.remote"]
        assert result.status is Status.UNKNOWN
        assert result.message == (
            "the subnets of managed node group aws_eks_node_group.remote are not known "
            "(from remote state: no scan before apply can decide it): cannot tell whether "
            "they route to the internet")
        assert result.evidence == ("aws_eks_cluster.main", "aws_eks_node_group.remote")

    def test_inline_routes_known_only_after_apply_are_unknown(self) -> None:
        p = private_cluster()
        p.add(TABLES[0], {"vpc_id": unknown(), "route": Unknown("dynamic route blocks")},
              refs={"vpc_id": "aws_vpc.main"})
        result = by_subject(run(node_subnet_internet_route, p))[SUBNETS[0]]
        assert result.status is Status.UNKNOWN
        assert "inline routes of aws_route_table.private[0]" in result.message


def test_pc201_a_guessed_association_carries_its_doubt_in_the_evidence(tmp_path: Path) -> None:
    """`subnet_id = aws_subnet.private[count.index].id` is only a guess on a plan alone."""
    import shutil

    from tfcheck.engine import ScanOptions, scan

    from ..conftest import FIXTURES

    case = FIXTURES / "plans" / "pc201-nat-route-resource"
    bare = tmp_path / "plan.json"
    shutil.copyfile(case / "plan.json", bare)

    def evidence(options: ScanOptions | None = None) -> tuple[str, ...]:
        findings = scan([str(bare)], options=options).findings
        return next(f.evidence for f in findings
                    if f.rule_id == "PC201" and f.address == "aws_subnet.private[0]")

    assert evidence()[1] == (
        "aws_route_table_association.private[0] (guessed: the plan records its subnet_id "
        "only as aws_subnet.private with an index expression; --source decides it)")
    assert evidence(ScanOptions(source_dir=case)) == (
        "aws_subnet.private[0]", "aws_route_table.private[0]",
        "aws_route.private_nat[0] (0.0.0.0/0)", "aws_nat_gateway.main")


EVERY_INSTANCE = '''
data "aws_availability_zones" "available" {}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "private" {
  count             = length(data.aws_availability_zones.available.names)
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)
  availability_zone = data.aws_availability_zones.available.names[count.index]
}

resource "aws_subnet" "public" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.200.0/24"
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route" "nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}

resource "aws_route_table_association" "private" {
  count          = length(data.aws_availability_zones.available.names)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_eks_cluster" "main" {
  name     = "main"
  role_arn = "arn:aws:iam::111122223333:role/eks"
  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_private_access = true
    endpoint_public_access  = false
  }
}
'''


def test_pc201_names_the_stand_in_for_every_instance_of_a_subnet_block(tmp_path: Path) -> None:
    """The count of the subnets is read from AWS (terraform-aws-modules/vpc's shape): HCL has
    one stand-in without a key, and the finding says it is about every instance."""
    from tfcheck.engine import scan

    (tmp_path / "main.tf").write_text(EVERY_INSTANCE)
    (finding,) = scan(tmp_path, policies=[node_subnet_internet_route]).findings
    assert (finding.status, finding.address) == (Status.FAIL, "aws_subnet.private")
    assert finding.message.startswith(
        "every instance of node subnet aws_subnet.private routes 0.0.0.0/0 to NAT gateway "
        "aws_nat_gateway.this")
