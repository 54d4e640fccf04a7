"""PC203 vpc-dns."""

from __future__ import annotations

from typing import Any

from tfcheck.model import Status, Unknown
from tfcheck_policies.node_public_ip import node_public_ip
from tfcheck_policies.node_subnet_internet_route import node_subnet_internet_route
from tfcheck_policies.vpc_dns import vpc_dns

from ..network_builders import Plan, private_cluster, run, unknown


class TestPC203:
    def test_pass(self) -> None:
        (result,) = run(vpc_dns, private_cluster())
        assert (result.status, result.subject.address) == (Status.PASS, "aws_vpc.main")

    def test_hostnames_omitted_fails_on_the_provider_default(self) -> None:
        p = private_cluster()
        vpc = p.resources["aws_vpc.main"]
        vpc.values["enable_dns_hostnames"] = unknown()
        vpc.configured = frozenset({"cidr_block", "enable_dns_support"})
        (result,) = run(vpc_dns, p)
        assert result.status is Status.FAIL
        assert result.message.startswith(
            "VPC aws_vpc.main of aws_eks_cluster.main: enable_dns_hostnames is not set "
            "(provider default false)")
        assert result.remediation == "enable_dns_hostnames = true"
        assert result.attribute == "enable_dns_hostnames"

    def dhcp(self, servers: Any) -> Plan:
        p = private_cluster()
        p.add("aws_vpc_dhcp_options.corp", {"domain_name_servers": servers})
        p.add("aws_vpc_dhcp_options_association.corp", {
            "vpc_id": unknown(), "dhcp_options_id": unknown()},
            refs={"vpc_id": "aws_vpc.main", "dhcp_options_id": "aws_vpc_dhcp_options.corp"})
        return p

    def test_dhcp_options_without_the_amazon_resolver_fail(self) -> None:
        (result,) = run(vpc_dns, self.dhcp(["10.50.0.10", "10.50.0.11"]))
        assert result.status is Status.FAIL
        assert "lists 10.50.0.10, 10.50.0.11 as domain_name_servers" in result.message
        assert result.evidence[-2:] == ("aws_vpc_dhcp_options_association.corp",
                                        "aws_vpc_dhcp_options.corp")
        assert 'domain_name_servers = ["AmazonProvidedDNS"]' in result.remediation

    def test_the_resolver_under_its_other_names_passes(self) -> None:
        for servers in (["AmazonProvidedDNS"], ["10.0.0.2"], ["169.254.169.253", "10.9.9.9"]):
            (result,) = run(vpc_dns, self.dhcp(servers))
            assert result.status is Status.PASS, servers

    def test_unknown_dhcp_servers(self) -> None:
        (result,) = run(vpc_dns, self.dhcp(Unknown("var.dns")))
        assert result.status is Status.UNKNOWN

    def test_vpc_known_only_by_id_is_unknown_on_the_cluster(self) -> None:
        p = Plan()
        p.add("aws_subnet.a", {"vpc_id": "vpc-0abc", "cidr_block": "10.0.0.0/24"})
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": unknown()}]}, refs={"vpc_config.subnet_ids": "aws_subnet.a"})
        (result,) = run(vpc_dns, p)
        assert (result.status, result.subject.address) == (Status.UNKNOWN,
                                                           "aws_eks_cluster.main")
        assert result.data == {"vpc": "vpc-0abc"}
        assert "VPC vpc-0abc of aws_eks_cluster.main is not in the input" in result.message

    def test_data_source_vpc_is_read_from_its_values(self) -> None:
        p = Plan()
        p.add("data.aws_vpc.shared", {"id": "vpc-0abc", "cidr_block": "10.0.0.0/16",
                                      "enable_dns_support": True,
                                      "enable_dns_hostnames": False})
        p.add("aws_subnet.a", {"vpc_id": "vpc-0abc", "cidr_block": "10.0.0.0/24"},
              refs={"vpc_id": "data.aws_vpc.shared"})
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": unknown()}]}, refs={"vpc_config.subnet_ids": "aws_subnet.a"})
        (result,) = run(vpc_dns, p)
        assert (result.status, result.subject.address) == (Status.FAIL, "data.aws_vpc.shared")
        assert "enable_dns_hostnames is false" in result.message

    def shared_vpc(self, **attributes: Any) -> Plan:
        p = Plan()
        p.add("data.aws_vpc.shared", {"tags": {"Name": "shared"}, **attributes})
        p.add("aws_subnet.a", {"vpc_id": unknown("data.aws_vpc.shared"),
                               "cidr_block": "10.0.0.0/24"},
              refs={"vpc_id": "data.aws_vpc.shared"})
        p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
            {"subnet_ids": unknown()}]}, refs={"vpc_config.subnet_ids": "aws_subnet.a"})
        return p

    def test_data_source_vpc_in_hcl_is_read_from_aws_not_defaulted(self) -> None:
        # provider defaults (hostnames off) never apply to a data source
        graph = self.shared_vpc().build()
        graph.kind = "hcl"
        (result,) = run(vpc_dns, graph)
        assert (result.status, result.subject.address) == (Status.UNKNOWN,
                                                           "data.aws_vpc.shared")
        assert result.message == (
            "cannot tell whether VPC data.aws_vpc.shared resolves private DNS names: "
            "enable_dns_support and enable_dns_hostnames are not known "
            "(data.aws_vpc.shared is read from AWS: scan a plan of this configuration "
            "(terraform show -json), which holds what AWS returns)")

    def test_data_source_vpc_in_a_plan_passes_on_what_aws_returned(self) -> None:
        (result,) = run(vpc_dns, self.shared_vpc(enable_dns_support=True,
                                                 enable_dns_hostnames=True))
        assert (result.status, result.subject.address) == (Status.PASS, "data.aws_vpc.shared")

    def test_no_cluster_no_findings(self) -> None:
        p = private_cluster()
        p.remove("aws_eks_cluster.main", "aws_eks_node_group.default")
        assert run(vpc_dns, p) == []
        assert run(node_subnet_internet_route, p) == []
        assert run(node_public_ip, p) == []
