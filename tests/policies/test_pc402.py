"""PC402 node-sg-egress."""

from __future__ import annotations

from typing import Any

from tfcheck.model import Status, Unknown
from tfcheck_policies.node_sg_egress import node_sg_egress

from ..network_builders import (
    CLUSTER,
    INTERFACES,
    Plan,
    ipv6_cluster,
    private_cluster,
    rule,
    run,
    shared_vpc,
    unknown,
)


def node_egress(p: Plan, *blocks: dict[str, Any], refs: list[str] | None = None) -> None:
    p.add("aws_security_group.node", {"vpc_id": unknown(), "ingress": [],
                                      "egress": list(blocks)},
          refs={"vpc_id": "aws_vpc.main", "egress": refs or []})


S3_PREFIX = rule(prefix_list_ids=[unknown()])


class TestPC402:
    def test_pass_with_vpc_cidr_and_s3_prefix_list(self) -> None:
        (result,) = run(node_sg_egress, private_cluster())
        assert (result.status, result.subject.address) == (Status.PASS,
                                                           "aws_security_group.node")
        assert result.evidence == ("aws_security_group.node", "aws_eks_node_group.default")

    def test_ipv6_cluster_needs_no_ipv6_egress_rule(self) -> None:
        # IPv6 pods reach the (IPv4) endpoints through the node's IPv4 address (the VPC
        # CNI's SNAT): the IPv4 egress rules decide, and a missing IPv6 rule is no fail
        (result,) = run(node_sg_egress, ipv6_cluster())
        assert result.status is Status.PASS

    def test_egress_to_the_block_of_a_data_source_vpc(self) -> None:
        # egress to data.aws_vpc.main.cidr_block reaches endpoints in subnets carved from
        # it, whatever AWS returns for the block
        graph = shared_vpc(carved=True)
        node = graph.get("aws_security_group.node")
        assert node is not None
        node.values["egress"][0]["cidr_blocks"] = [Unknown(
            "data.aws_vpc.main is read at plan time: cidr_block is not known without a "
            "plan", ("data.aws_vpc.main",))]
        (result,) = run(node_sg_egress, graph)
        assert result.status is Status.PASS

    def test_no_https_to_the_endpoints_fails(self) -> None:
        p = private_cluster()
        node_egress(p, rule(from_port=53, to_port=53, protocol="udp",
                            cidr_blocks=["10.0.0.0/16"]), S3_PREFIX,
                    refs=["aws_vpc_endpoint.s3"])
        (result,) = run(node_sg_egress, p)
        assert result.status is Status.FAIL
        # sts has an endpoint but nothing here needs it
        assert result.data == {"unreachable": INTERFACES[:3], "cluster": CLUSTER}
        assert result.message.startswith(
            "nodes of aws_eks_node_group.default carry aws_security_group.node, whose egress "
            "rules (with their other security groups) allow no TCP 443 to "
            'aws_vpc_endpoint.interface["ec2"]')
        assert result.remediation == (
            'resource "aws_vpc_security_group_egress_rule" "nodes_https_to_endpoints" {\n'
            "  security_group_id = aws_security_group.node.id\n"
            "  cidr_ipv4         = aws_vpc.main.cidr_block\n"
            '  ip_protocol       = "tcp"\n'
            "  from_port         = 443\n"
            "  to_port           = 443\n"
            "}")

    def test_no_s3_prefix_list_fails(self) -> None:
        p = private_cluster()
        node_egress(p, rule(cidr_blocks=["10.0.0.0/16"]))
        (result,) = run(node_sg_egress, p)
        assert result.status is Status.FAIL
        assert result.data == {"unreachable": ["the S3 prefix list of aws_vpc_endpoint.s3"],
                               "cluster": CLUSTER}
        assert "prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id" in result.remediation

    def test_egress_rule_resources_and_endpoint_sg_destination(self) -> None:
        p = private_cluster()
        node_egress(p)
        p.add("aws_vpc_security_group_egress_rule.endpoints", {
            "security_group_id": unknown(), "ip_protocol": "tcp", "from_port": 443,
            "to_port": 443, "referenced_security_group_id": unknown()},
            refs={"security_group_id": "aws_security_group.node",
                  "referenced_security_group_id": "aws_security_group.vpc_endpoints"})
        p.add("aws_security_group_rule.s3", {
            "type": "egress", "security_group_id": unknown(), "protocol": "tcp",
            "from_port": 443, "to_port": 443, "prefix_list_ids": [unknown()]},
            refs={"security_group_id": "aws_security_group.node",
                  "prefix_list_ids": "aws_vpc_endpoint.s3"})
        (result,) = run(node_sg_egress, p)
        assert result.status is Status.PASS

    def test_open_egress_passes(self) -> None:
        p = private_cluster()
        node_egress(p, rule(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]))
        assert run(node_sg_egress, p)[0].status is Status.PASS

    def test_nodes_also_carrying_the_cluster_sg_have_open_egress(self) -> None:
        p = private_cluster()
        node_egress(p)
        p.add("aws_launch_template.nodes", {"vpc_security_group_ids": [unknown(), unknown()]},
              refs={"vpc_security_group_ids": ["aws_security_group.node",
                                               "aws_eks_cluster.main"]})
        assert run(node_sg_egress, p)[0].status is Status.PASS

    def test_another_group_outside_the_input_makes_it_unknown(self) -> None:
        p = private_cluster()
        node_egress(p)
        p.add("aws_launch_template.nodes", {"vpc_security_group_ids": [unknown(), "sg-0x"]},
              refs={"vpc_security_group_ids": "aws_security_group.node"})
        (result,) = run(node_sg_egress, p)
        assert result.status is Status.UNKNOWN
        assert "sg-0x is not in the input" in result.message


def test_pc402_s3_prefix_list_read_by_a_data_source() -> None:
    p = private_cluster()
    p.add("data.aws_prefix_list.s3", {"name": "com.amazonaws.eu-west-1.s3",
                                      "id": "pl-6da54004"})
    node_egress(p, rule(cidr_blocks=["10.0.0.0/16"]),
                rule(prefix_list_ids=["pl-6da54004"]))
    (result,) = run(node_sg_egress, p.build(link_ids=True))
    assert result.status is Status.PASS


def test_pc402_reaching_everything_needs_no_other_group() -> None:
    p = private_cluster()
    p.add("aws_launch_template.nodes", {"vpc_security_group_ids": [unknown(), "sg-0x"]},
          refs={"vpc_security_group_ids": "aws_security_group.node"})
    (result,) = run(node_sg_egress, p)
    assert result.status is Status.PASS


def test_pc402_egress_rules_of_one_of_several_groups_are_undecided() -> None:
    """An egress rule block fanned over `aws_security_group.node[...]`: unknown, not fail."""
    p = private_cluster()
    node = p.resources.pop("aws_security_group.node")
    for i in range(2):
        p.add(f"aws_security_group.node[{i}]", {**node.values, "egress": []},
              refs={"vpc_id": "aws_vpc.main"})
    p.add("aws_launch_template.nodes",
          {"vpc_security_group_ids": unknown("aws_security_group.node")},
          refs={"vpc_security_group_ids": "aws_security_group.node[0]"})
    for i in range(4):
        p.add(f"aws_security_group_rule.egress[{i}]", {
            "type": "egress", "protocol": "tcp", "from_port": 443, "to_port": 443,
            "cidr_blocks": ["0.0.0.0/0"],
            "security_group_id": unknown("aws_security_group.node", "count.index")})
    graph = p.build()
    for i in range(4):
        graph.add_block_reference(f"aws_security_group_rule.egress[{i}]", "security_group_id",
                                  "aws_security_group.node",
                                  ("aws_security_group.node[0]", "aws_security_group.node[1]"))
    (result,) = run(node_sg_egress, graph)
    assert result.status is Status.UNKNOWN, result.message
    assert result.message.count("aws_security_group_rule.egress.security_group_id names one "
                                "instance of aws_security_group.node") == 1
