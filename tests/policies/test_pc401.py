"""PC401 endpoint-sg-ingress."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tfcheck.engine import ScanOptions, scan
from tfcheck.facts.builder import build
from tfcheck.facts.linking import Linker
from tfcheck.facts.vocabulary import IPV6_SUFFIX
from tfcheck.loaders.hcl import load_hcl
from tfcheck.model import Status, Unknown
from tfcheck_policies.endpoint_sg_ingress import endpoint_sg_ingress

from ..conftest import FIXTURES
from ..network_builders import (
    CIDRS,
    CLUSTER,
    INTERFACES,
    SUBNETS,
    Plan,
    by_subject,
    endpoint_ingress,
    ipv6_cluster,
    private_cluster,
    rule,
    run,
    shared_vpc,
    unknown,
    verdicts,
)

ECR = 'aws_vpc_endpoint.interface["ecr.api"]'


class TestPC401:
    def test_pass_with_the_vpc_cidr(self) -> None:
        results = run(endpoint_sg_ingress, private_cluster())
        assert verdicts(results) == sorted(("pass", e) for e in INTERFACES)
        result = by_subject(results)[ECR]
        assert result.data == {"subnets_not_admitted": [],
                               "security_groups": ["aws_security_group.vpc_endpoints"],
                               "cluster": CLUSTER}
        assert "from 10.0.0.0/16" in result.message

    def test_vpc_cidr_admits_subnets_whose_cidr_is_not_known(self) -> None:
        # subnets counted from data.aws_availability_zones: their CIDRs are read from AWS,
        # but every one of them lies in the VPC's only block, which the rule admits
        p = private_cluster()
        for subnet in SUBNETS:
            p.resources[subnet].values["cidr_block"] = Unknown(
                "data.aws_availability_zones.available is read from AWS",
                ("data.aws_availability_zones.available",))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.PASS
        assert result.message.endswith(
            "from 10.0.0.0/16, which holds every subnet of aws_vpc.main (10.0.0.0/16))")

    def test_the_cidrs_of_the_node_subnets_admit_them_whatever_they_are(self) -> None:
        # cidr_blocks = module.vpc.private_subnets_cidr_blocks, with the subnets counted
        # from data.aws_availability_zones: the rule names the subnets' own CIDRs
        p = private_cluster()
        for subnet in SUBNETS:
            p.resources[subnet].values["cidr_block"] = Unknown(
                "data.aws_availability_zones.available is read from AWS",
                ("data.aws_availability_zones.available",))
        endpoint_ingress(p, rule(cidr_blocks=[Unknown("the subnets' CIDRs", tuple(SUBNETS))]))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.PASS
        assert result.message.endswith("from the CIDRs of the node subnets themselves)")
        # a rule naming only some of them admits only those
        endpoint_ingress(p, rule(cidr_blocks=[Unknown("one CIDR", (SUBNETS[0],))]))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN
        assert result.message.startswith(
            'cannot tell whether aws_vpc_endpoint.interface["ecr.api"] admits TCP 443 from '
            "every node subnet: aws_subnet.private[1]: the CIDR of aws_subnet.private[1] is "
            "not known")
        assert "aws_subnet.private[2]: the CIDR of aws_subnet.private[2]" in result.message
        assert "aws_subnet.private[0]:" not in result.message

    def test_ipv6_cluster_needs_the_subnets_ipv6_cidrs_admitted(self) -> None:
        result = by_subject(run(endpoint_sg_ingress, ipv6_cluster()))[ECR]
        assert result.status is Status.FAIL  # 10.0.0.0/16 admits the nodes' IPv4 only
        assert result.data["subnets_not_admitted"] == SUBNETS
        assert ("for their IPv6 CIDRs (the cluster is IPv6: pods call the endpoints from "
                "IPv6 addresses)") in result.message
        assert "cidr_ipv6         = aws_subnet.private[0].ipv6_cidr_block" in result.remediation

    def test_ipv6_cluster_with_the_vpc_ipv6_block_admitted_waits_for_the_tf_text(self) -> None:
        # ipv6_cidr_blocks = [aws_vpc.main.ipv6_cidr_block] would hold every subnet carved
        # from it, but a plan alone records the same references for a part of the block
        # (`cidrsubnet(...)`): the .tf text decides (passes with it: fixture
        # pc4-ipv6-rule-names-vpc-block; not with a part: pc4-ipv6-rule-part-of-vpc-block)
        p = ipv6_cluster(rule(cidr_blocks=["10.0.0.0/16"],
                                   ipv6_cidr_blocks=[unknown("aws_vpc.main")]))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN
        assert ("whether aws_security_group.vpc_endpoints admits the whole IPv6 block of "
                "aws_vpc.main or a part of it is written only in the .tf files: scan the "
                "plan with its configuration beside it (--source DIR)") in result.message

    def test_a_secondary_block_must_be_admitted_too(self) -> None:
        p = private_cluster()
        p.add("aws_vpc_ipv4_cidr_block_association.pods",
              {"vpc_id": unknown("aws_vpc.main"), "cidr_block": "100.64.0.0/16"},
              refs={"vpc_id": "aws_vpc.main"})
        p.resources[SUBNETS[2]].values["cidr_block"] = Unknown(
            "var.pod_subnets has no value")
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN
        assert ("aws_subnet.private[2]: the CIDR of aws_subnet.private[2] is not known "
                "(var.pod_subnets has no value: pass it with --var pod_subnets=VALUE or "
                "--var-file), and no rule admits every CIDR block of its "
                "VPC (10.0.0.0/16, 100.64.0.0/16)") in result.message
        endpoint_ingress(p, rule(cidr_blocks=["10.0.0.0/16", "100.64.0.0/16"]))
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS

    def test_a_secondary_block_not_known_leaves_the_subnet_undecided(self) -> None:
        p = private_cluster()
        p.add("aws_vpc_ipv4_cidr_block_association.pods",
              {"vpc_id": unknown("aws_vpc.main"), "cidr_block": unknown()},
              refs={"vpc_id": "aws_vpc.main"})
        p.resources[SUBNETS[2]].values["cidr_block"] = unknown()
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN
        assert "aws_vpc.main has a secondary CIDR block that is not known" in result.message

    def test_the_block_of_a_data_source_vpc_admits_subnets_carved_from_it(self) -> None:
        # cidr_blocks = [data.aws_vpc.main.cidr_block], subnets
        # cidrsubnet(data.aws_vpc.main.cidr_block, ...): whatever AWS returns, admitted
        result = by_subject(run(endpoint_sg_ingress, shared_vpc(carved=True)))[ECR]
        assert result.status is Status.PASS
        assert result.message.endswith(
            "(aws_security_group.vpc_endpoints ingress (ingress tcp/443) from the CIDR block "
            "of data.aws_vpc.main, which the subnets are carved from)")

    def test_the_block_of_a_data_source_vpc_and_literal_subnet_cidrs(self) -> None:
        result = by_subject(run(endpoint_sg_ingress, shared_vpc(carved=False)))[ECR]
        assert result.status is Status.UNKNOWN
        assert ("aws_security_group.vpc_endpoints ingress admits the CIDR block of "
                "data.aws_vpc.main, which is not known (data.aws_vpc.main is read from AWS: "
                "scan a plan of this configuration (terraform show -json), which holds what "
                "AWS returns)") in result.message

    def test_partial_cidr_lists_the_subnets_not_admitted(self) -> None:
        p = private_cluster()
        endpoint_ingress(p, rule(cidr_blocks=CIDRS[:2]))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.FAIL
        assert result.data == {"subnets_not_admitted": [SUBNETS[2]],
                               "security_groups": ["aws_security_group.vpc_endpoints"],
                               "cluster": CLUSTER}
        assert result.message == (
            'aws_vpc_endpoint.interface["ecr.api"] (ecr.api) admits no TCP 443 from node '
            "subnets aws_subnet.private[2] (10.0.32.0/20): its security groups "
            "aws_security_group.vpc_endpoints have no matching ingress rule")
        assert result.evidence == (ECR, "aws_security_group.vpc_endpoints", SUBNETS[2])
        assert result.remediation == (
            'resource "aws_vpc_security_group_ingress_rule" "https_from_private_2" {\n'
            "  security_group_id = aws_security_group.vpc_endpoints.id\n"
            "  cidr_ipv4         = aws_subnet.private[2].cidr_block\n"
            '  ip_protocol       = "tcp"\n'
            "  from_port         = 443\n"
            "  to_port           = 443\n"
            "}")

    def test_default_security_group_admits_only_itself(self) -> None:
        p = private_cluster()
        for address in INTERFACES:
            p.resources[address].values["security_group_ids"] = unknown()
            p.resources[address].configured = frozenset(
                {"vpc_id", "service_name", "vpc_endpoint_type", "private_dns_enabled",
                 "subnet_ids"})
        p.edges = [e for e in p.edges if e[1] != "security_group_ids"]
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.FAIL
        assert result.data["subnets_not_admitted"] == SUBNETS
        assert result.data["security_groups"] == ["aws_vpc.main (default security group)"]
        assert "the VPC default security group" in result.message
        assert 'resource "aws_security_group" "vpc_endpoints"' in result.remediation

    def test_source_security_group_the_nodes_carry(self) -> None:
        p = private_cluster()
        endpoint_ingress(p, rule(security_groups=[unknown()]),
                         refs=["aws_security_group.node"])
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS

    def test_rule_resources_and_protocol_all_count(self) -> None:
        p = private_cluster()
        endpoint_ingress(p)
        p.add("aws_security_group_rule.all", {
            "type": "ingress", "security_group_id": unknown(), "protocol": "-1",
            "from_port": 0, "to_port": 0, "source_security_group_id": unknown()},
            refs={"security_group_id": "aws_security_group.vpc_endpoints",
                  "source_security_group_id": "aws_security_group.node"})
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS

    def test_cluster_sg_source_admits_node_groups_without_launch_template(self) -> None:
        p = private_cluster()
        endpoint_ingress(p)
        p.add("aws_vpc_security_group_ingress_rule.cluster", {
            "security_group_id": unknown(), "ip_protocol": "tcp", "from_port": 443,
            "to_port": 443, "referenced_security_group_id": unknown()},
            refs={"security_group_id": "aws_security_group.vpc_endpoints",
                  "referenced_security_group_id": "aws_eks_cluster.main"})
        # nodes carry aws_security_group.node (launch template): not admitted
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.FAIL
        p.resources["aws_eks_node_group.default"].values.pop("launch_template")
        p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS

    def cluster_sg_from_data_source(self, **data: Any) -> Plan:
        """Nodes without a launch template; 443 from a `data "aws_eks_cluster"` group."""
        p = private_cluster()
        endpoint_ingress(p)
        p.resources["aws_eks_node_group.default"].values.pop("launch_template")
        p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
        p.add("data.aws_eks_cluster.read", {
            "vpc_config": [{"cluster_security_group_id": unknown()}], **data},
            computed=["vpc_config.cluster_security_group_id"])
        p.add("aws_vpc_security_group_ingress_rule.cluster", {
            "security_group_id": unknown(), "ip_protocol": "tcp", "from_port": 443,
            "to_port": 443, "referenced_security_group_id": unknown()},
            refs={"security_group_id": "aws_security_group.vpc_endpoints",
                  "referenced_security_group_id": "data.aws_eks_cluster.read"})
        return p

    def test_cluster_sg_read_through_a_data_source_of_this_cluster(self) -> None:
        p = self.cluster_sg_from_data_source(name=unknown("aws_eks_cluster.main"))
        p.ref("data.aws_eks_cluster.read", "name", "aws_eks_cluster.main")
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS
        # the same, where the data source names the cluster by its literal name
        p = self.cluster_sg_from_data_source(name="main")
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS

    def test_cluster_sg_of_another_cluster_admits_no_node(self) -> None:
        p = self.cluster_sg_from_data_source(name="analytics")
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.FAIL
        assert result.data["subnets_not_admitted"] == SUBNETS

    def test_cluster_sg_of_a_cluster_named_by_an_unset_variable(self) -> None:
        p = self.cluster_sg_from_data_source(name=Unknown("var.cluster_name has no value"))
        p.resources["aws_vpc_security_group_ingress_rule.cluster"].values[
            "referenced_security_group_id"] = Unknown(
                "data.aws_eks_cluster.read is read from AWS", ("data.aws_eks_cluster.read",))
        graph = p.build()
        graph.kind = "hcl"
        result = by_subject(run(endpoint_sg_ingress, graph))[ECR]
        assert result.status is Status.UNKNOWN
        assert result.message == (
            'cannot tell whether aws_vpc_endpoint.interface["ecr.api"] admits TCP 443 from '
            "every node subnet: aws_subnet.private[0], aws_subnet.private[1], "
            "aws_subnet.private[2]: a source of aws_vpc_security_group_ingress_rule.cluster "
            "is not known (data.aws_eks_cluster.read is read from AWS: scan a plan of this "
            "configuration (terraform show -json), which holds what AWS returns)")

    def test_a_launch_template_the_plan_does_not_name_leaves_the_groups_undecided(
            self) -> None:
        # terraform-aws-eks: `launch_template { id = local.launch_template_id }`; a plan
        # records no reference for a local, so which groups the nodes carry is not known
        p = private_cluster()
        endpoint_ingress(p, rule(security_groups=[unknown()]),
                         refs=["aws_security_group.node"])
        p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
        p.resources["aws_eks_node_group.default"].values["launch_template"] = [
            {"id": Unknown("aws_eks_node_group.default.launch_template.id is known only "
                           "after apply", ("local.launch_template_id",)), "version": "1"}]
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN  # not a fail on the cluster security group
        assert ("the security groups of aws_eks_node_group.default are not known (the "
                "launch template of aws_eks_node_group.default is not known") in result.message

    def test_port_range_not_covering_443_fails(self) -> None:
        p = private_cluster()
        endpoint_ingress(p, rule(from_port=80, to_port=80, cidr_blocks=["10.0.0.0/16"]))
        assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.FAIL

    def test_security_group_outside_the_input_is_unknown(self) -> None:
        p = private_cluster()
        p.edges = [e for e in p.edges if e[1] != "security_group_ids"]
        for address in INTERFACES:
            p.resources[address].values["security_group_ids"] = ["sg-0shared"]
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN
        assert "sg-0shared is not in the input" in result.message

    def test_unknown_cidr_source(self) -> None:
        p = private_cluster()
        endpoint_ingress(p, rule(cidr_blocks=[Unknown("var.allowed")]))
        result = by_subject(run(endpoint_sg_ingress, p))[ECR]
        assert result.status is Status.UNKNOWN


def test_pc401_remote_access_source_group_is_not_what_nodes_carry() -> None:
    p = private_cluster()
    group = p.resources["aws_eks_node_group.default"]
    group.values.pop("launch_template")
    group.values["remote_access"] = [{"ec2_ssh_key": "ops",
                                      "source_security_group_ids": [unknown()]}]
    p.edges = [e for e in p.edges if e[1] != "launch_template.id"]
    p.add("aws_security_group.bastion", {"vpc_id": unknown()}, refs={"vpc_id": "aws_vpc.main"})
    p.ref("aws_eks_node_group.default", "remote_access.source_security_group_ids",
          "aws_security_group.bastion")
    endpoint_ingress(p, rule(security_groups=[unknown()]), refs=["aws_security_group.bastion"])
    result = by_subject(run(endpoint_sg_ingress, p))[ECR]
    assert result.status is Status.UNKNOWN
    assert "remote access source group of aws_eks_node_group.default" in result.message
    # the group EKS creates for remote access is one the nodes carry
    endpoint_ingress(p, rule(security_groups=[unknown()]), refs=["aws_eks_node_group.default"])
    assert by_subject(run(endpoint_sg_ingress, p))[ECR].status is Status.PASS


def test_pc401_rules_of_one_of_several_groups_are_undecided_without_the_configuration(
    tmp_path: Path,
) -> None:
    """`security_group_id = aws_security_group.x[floor(count.index / 3)].id` in a plan.

    terraform records only `aws_security_group.x` + `count.index`: attaching the rules
    to no group failed every endpoint; the configuration beside the plan decides it.
    """
    case = FIXTURES / "plans" / "pc401-rules-fanned-over-groups"
    bare = tmp_path / "plan.json"
    shutil.copyfile(case / "plan.json", bare)
    alone = [f for f in scan([str(bare)]).findings if f.rule_id == "PC401"]
    assert len(alone) == 10 and {f.status for f in alone} == {Status.UNKNOWN}
    for finding in alone:
        assert finding.message.count("aws_security_group_rule.vpc_endpoints_https") == 1
        assert ("names one instance of aws_security_group.vpc_endpoints, and the plan does "
                "not record which: scan the plan with its configuration beside it "
                "(--source DIR)") in finding.message
    beside = scan([str(bare)], options=ScanOptions(source_dir=case)).findings
    assert {f.status for f in beside if f.rule_id == "PC401"} == {Status.PASS}


def test_pc401_custom_networking_without_eniconfig_is_unknown(tmp_path: Path) -> None:
    """Custom networking on, but the ENIConfigs are applied elsewhere: pod subnets unknown."""
    case = FIXTURES / "hcl-policies" / "pc4-custom-networking-pod-subnets-admitted"
    shutil.copytree(case, tmp_path / "case")
    main = tmp_path / "case" / "main.tf"
    text = main.read_text()
    main.write_text(text[:text.index('resource "kubernetes_manifest" "eniconfig"')])
    findings = [f for f in scan([str(tmp_path / "case")]).findings if f.rule_id == "PC401"]
    assert findings and {f.status for f in findings} == {Status.UNKNOWN}
    assert ("aws_eks_addon.vpc_cni turns on custom networking, but no ENIConfig is in the "
            "input, so not which subnets pods use") in findings[0].message


@pytest.mark.parametrize(("written", "status"), [
    ("[aws_vpc.main.ipv6_cidr_block]", Status.PASS),
    # a block computed from the VPC's: which part of it, only apply tells
    ("[cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 0)]", Status.UNKNOWN),
    # through a local: the expression read is `local.v6`, not the VPC's block itself
    ("[local.v6]", Status.UNKNOWN),
])
def test_pc401_hcl_ipv6_rule_naming_the_vpc_block_itself(
    tmp_path: Path, written: str, status: Status,
) -> None:
    """`ipv6_cidr_blocks = [aws_vpc.main.ipv6_cidr_block]` of a VPC whose IPv6 block AWS
    assigns at apply: HCL has no value for it, but the block holds every subnet's IPv6
    CIDR carved from it, so the rule admits them. Only the block itself decides it.
    """
    case = shutil.copytree(FIXTURES / "hcl-policies" / "pc4-ipv6-rule-names-vpc-block",
                           tmp_path / "case", ignore=shutil.ignore_patterns("plan.json"))
    main = case / "main.tf"
    text = main.read_text()
    assert "ipv6_cidr_blocks = [aws_vpc.main.ipv6_cidr_block]" in text
    main.write_text(text.replace("[aws_vpc.main.ipv6_cidr_block]", written)
                    + "locals {\n  v6 = aws_vpc.main.ipv6_cidr_block\n}\n")
    findings = [f for f in scan([str(case)]).findings if f.rule_id == "PC401"]
    assert len(findings) == 10 and {f.status for f in findings} == {status}
    if status is Status.UNKNOWN:
        assert "aws_vpc.main.ipv6_cidr_block is known only after apply" in findings[0].message


def test_pc401_hcl_ipv6_rule_in_a_module_names_its_own_vpc_block(tmp_path: Path) -> None:
    """Inside a module the rule writes the module's own address (`aws_vpc.this[0]`)."""
    (tmp_path / "m").mkdir()
    (tmp_path / "main.tf").write_text('module "vpc" {\n  source = "./m"\n}\n')
    (tmp_path / "m" / "main.tf").write_text("""
resource "aws_vpc" "this" {
  count                            = 1
  cidr_block                       = "10.0.0.0/16"
  assign_generated_ipv6_cidr_block = true
}
resource "aws_security_group" "endpoints" {
  vpc_id = aws_vpc.this[0].id
  ingress {
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    ipv6_cidr_blocks = [aws_vpc.this[0].ipv6_cidr_block]
  }
}
""")
    net = build(Linker(load_hcl(tmp_path).graph))
    [ingress] = net.security_groups["module.vpc.aws_security_group.endpoints"].ingress
    assert ingress.unknown is None
    assert ingress.blocks_of == ("module.vpc.aws_vpc.this[0]" + IPV6_SUFFIX,)


def test_a_plan_alone_cannot_tell_the_vpcs_ipv6_block_from_a_part_of_it(tmp_path: Path) -> None:
    """`cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 200)` records the block's references.

    Found as a false pass: the plan of pc4-ipv6-rule-part-of-vpc-block passed as if the
    rule admitted the whole block. Without the .tf files the verdict waits for them.
    """
    for case in ("pc4-ipv6-rule-part-of-vpc-block", "pc4-ipv6-rule-names-vpc-block"):
        alone = tmp_path / case
        alone.mkdir()
        shutil.copy(FIXTURES / "hcl-policies" / case / "plan.json", alone / "plan.json")
        findings = scan([alone / "plan.json"], policies=[endpoint_sg_ingress]).findings
        assert findings and {f.status for f in findings} == {Status.UNKNOWN}, case
        assert all("--source DIR" in f.message and "aws_vpc.main" in f.message
                   for f in findings), findings[0].message
