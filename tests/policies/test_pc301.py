"""PC301 missing-vpc-endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfcheck.model import Status, Unknown
from tfcheck_policies.endpoint_region import endpoint_region
from tfcheck_policies.missing_vpc_endpoint import missing_vpc_endpoint

from ..network_builders import (
    CLUSTER,
    SUBNETS,
    Plan,
    by_subject,
    endpoint,
    private_cluster,
    run,
    unknown,
    verdicts,
)


def by_service(results: list[Any]) -> dict[str, Any]:
    return {r.data["service"]: r for r in results}


class TestPC301:
    def test_pass_for_every_always_required_service(self) -> None:
        results = run(missing_vpc_endpoint, private_cluster())
        assert verdicts(results) == [("pass", CLUSTER)] * 4
        found = by_service(results)
        assert sorted(found) == ["ec2", "ecr.api", "ecr.dkr", "s3"]
        assert found["ecr.dkr"].message == (
            'ecr.dkr is served by aws_vpc_endpoint.interface["ecr.dkr"] in VPC aws_vpc.main')
        assert found["ecr.dkr"].data == {"service": "ecr.dkr",
                                         "required_by": ["aws_eks_node_group.default"]}

    def test_missing_service_fails_with_a_block_wired_by_reference(self) -> None:
        p = private_cluster()
        p.remove('aws_vpc_endpoint.interface["ecr.dkr"]')
        results = run(missing_vpc_endpoint, p)
        fail = by_service(results)["ecr.dkr"]
        assert (fail.status, fail.subject.address) == (Status.FAIL, CLUSTER)
        assert fail.data == {"service": "ecr.dkr", "required_by": ["aws_eks_node_group.default"]}
        assert fail.message.startswith("no ecr.dkr VPC endpoint in VPC aws_vpc.main: needed by "
                                       "aws_eks_node_group.default")
        assert fail.evidence == (CLUSTER, SUBNETS[0], "aws_vpc.main")
        assert fail.remediation == (
            'resource "aws_vpc_endpoint" "ecr_dkr" {\n'
            "  vpc_id              = aws_vpc.main.id\n"
            '  service_name        = "com.amazonaws.eu-west-1.ecr.dkr"\n'
            '  vpc_endpoint_type   = "Interface"\n'
            "  private_dns_enabled = true\n"
            "  subnet_ids          = aws_subnet.private[*].id\n"
            "  security_group_ids  = [aws_security_group.vpc_endpoints.id]\n"
            "}")
        assert [r.status for r in results].count(Status.FAIL) == 1

    def test_endpoint_in_another_vpc_does_not_count(self) -> None:
        p = private_cluster()
        p.add("aws_vpc.shared", {"cidr_block": "10.9.0.0/16"})
        p.add('aws_vpc_endpoint.interface["ecr.dkr"]', {
            "vpc_id": unknown(), "service_name": "com.amazonaws.eu-west-1.ecr.dkr",
            "vpc_endpoint_type": "Interface"}, refs={"vpc_id": "aws_vpc.shared"})
        fail = by_service(run(missing_vpc_endpoint, p))["ecr.dkr"]
        assert fail.status is Status.FAIL
        assert ('(aws_vpc_endpoint.interface["ecr.dkr"] is in VPC aws_vpc.shared)'
                in fail.message)

    def test_missing_s3_suggests_a_gateway_on_the_node_route_tables(self) -> None:
        p = private_cluster()
        p.remove("aws_vpc_endpoint.s3")
        fail = by_service(run(missing_vpc_endpoint, p))["s3"]
        assert fail.status is Status.FAIL
        assert 'vpc_endpoint_type = "Gateway"' in fail.remediation
        assert "route_table_ids   = aws_route_table.private[*].id" in fail.remediation

    def test_no_endpoint_security_group_yet_adds_one_to_the_remediation(self) -> None:
        p = private_cluster(services=())
        fail = by_service(run(missing_vpc_endpoint, p))["ec2"]
        assert 'resource "aws_security_group" "vpc_endpoints"' in fail.remediation
        assert "cidr_blocks = [aws_vpc.main.cidr_block]" in fail.remediation

    def test_interface_service_without_type_is_a_gateway_and_does_not_count(self) -> None:
        p = private_cluster()
        endpoint(p, 'aws_vpc_endpoint.interface["ecr.api"]', "ecr.api",
                 vpc_endpoint_type=unknown())
        fail = by_service(run(missing_vpc_endpoint, p))["ecr.api"]
        assert fail.status is Status.FAIL
        assert ("aws_vpc_endpoint.interface[\"ecr.api\"] is not an Interface endpoint "
                "(vpc_endpoint_type is not set, so it is the provider default Gateway)"
                ) in fail.message

    def test_features_add_services_and_name_who_needs_them(self) -> None:
        p = private_cluster()
        p.add("aws_iam_openid_connect_provider.eks", {"url": unknown()},
              refs={"url": CLUSTER})
        p.add("aws_eks_pod_identity_association.orders", {"cluster_name": unknown()},
              refs={"cluster_name": CLUSTER})
        p.add("aws_eks_addon.cw", {"cluster_name": "main",
                                   "addon_name": "amazon-cloudwatch-observability"})
        results = by_service(run(missing_vpc_endpoint, p))
        assert results["sts"].status is Status.PASS
        assert results["eks-auth"].status is Status.FAIL
        assert results["eks-auth"].data["required_by"] == [
            "aws_eks_pod_identity_association.orders"]
        assert "EKS Pod Identity" in results["eks-auth"].message
        assert results["logs"].data["required_by"] == ["aws_eks_addon.cw"]

    def test_workloads_add_their_needs(self) -> None:
        p = private_cluster()
        p.add("helm_release.autoscaler", {"name": "cluster-autoscaler",
                                          "chart": "cluster-autoscaler",
                                          "repository": "https://kubernetes.github.io/"
                                                        "autoscaler",
                                          "namespace": "kube-system", "values": [], "set": []},
              region=None)
        results = by_service(run(missing_vpc_endpoint, p))
        assert results["autoscaling"].status is Status.FAIL
        assert results["autoscaling"].data["required_by"] == ["helm_release.autoscaler"]
        assert "Cluster Autoscaler" in results["autoscaling"].message

    def test_required_set_is_configurable(self) -> None:
        p = private_cluster()
        results = by_service(run(missing_vpc_endpoint, p, required_endpoints=("kms",),
                                 not_required_endpoints=("ec2",)))
        assert sorted(results) == ["ecr.api", "ecr.dkr", "kms", "s3"]
        assert results["kms"].status is Status.FAIL
        assert results["kms"].data["required_by"] == [CLUSTER]

    def test_endpoint_of_another_region_does_not_count(self) -> None:
        p = private_cluster()
        endpoint(p, 'aws_vpc_endpoint.interface["sts"]', "sts", region="us-east-1")
        p.add("aws_iam_openid_connect_provider.eks", {"url": unknown()},
              refs={"url": CLUSTER})
        fail = by_service(run(missing_vpc_endpoint, p))["sts"]
        assert fail.status is Status.FAIL
        assert "is for region us-east-1, the cluster is in eu-west-1" in fail.message

    def test_s3_interface_endpoint_counts(self) -> None:
        p = private_cluster()
        p.remove("aws_vpc_endpoint.s3")
        endpoint(p, "aws_vpc_endpoint.s3", "s3")
        assert by_service(run(missing_vpc_endpoint, p))["s3"].status is Status.PASS

    def test_pre_existing_vpc_with_some_endpoints_in_the_input_is_decided(self) -> None:
        p = Plan()
        ids = ["subnet-0a", "subnet-0b"]
        p.add(CLUSTER, {"name": "main", "vpc_config": [{"subnet_ids": ids}]})
        p.add("aws_vpc_endpoint.ecr_api", {
            "vpc_id": "vpc-0abc", "service_name": "com.amazonaws.eu-west-1.ecr.api",
            "vpc_endpoint_type": "Interface", "subnet_ids": ids})
        results = by_service(run(missing_vpc_endpoint, p))
        assert results["ecr.api"].status is Status.PASS
        # the input manages endpoints of vpc-0abc: a missing one is missing
        assert results["ecr.dkr"].status is Status.FAIL
        assert "no ecr.dkr VPC endpoint in VPC vpc-0abc" in results["ecr.dkr"].message

    def test_pre_existing_vpc_without_any_endpoint_in_the_input_is_unknown(self) -> None:
        p = Plan()
        p.add(CLUSTER, {"name": "main", "vpc_config": [{"subnet_ids": ["subnet-0a"]}]})
        p.add("aws_security_group.nodes", {"vpc_id": "vpc-0abc"})
        p.add("aws_eks_node_group.x", {"cluster_name": "main", "subnet_ids": ["subnet-0a"]})
        p.add(CLUSTER, {"name": "main", "vpc_config": [{
            "subnet_ids": ["subnet-0a"], "security_group_ids": ["sg-0x"]}]})
        p.resources["aws_security_group.nodes"].values["id"] = "sg-0x"
        results = run(missing_vpc_endpoint, p.build(link_ids=True))
        assert {r.status for r in results} == {Status.UNKNOWN}
        assert "outside this configuration" in results[0].message

    def test_vpc_that_cannot_be_told_is_one_unknown(self) -> None:
        p = Plan()
        p.add(CLUSTER, {"name": "main", "vpc_config": [{"subnet_ids": Unknown("remote")}]})
        (result,) = run(missing_vpc_endpoint, p)
        assert (result.status, result.subject.address) == (Status.UNKNOWN, CLUSTER)
        assert result.data == {"services": ["ec2", "ecr.api", "ecr.dkr", "s3"]}

    def test_two_clusters_in_one_vpc_each_get_their_own_findings(self) -> None:
        p = private_cluster()
        p.add("aws_eks_cluster.second", {"name": "second", "vpc_config": [
            {"subnet_ids": unknown()}]}, refs={"vpc_config.subnet_ids": SUBNETS})
        p.add("aws_eks_pod_identity_association.x", {"cluster_name": "second"})
        results = run(missing_vpc_endpoint, p)
        fails = [(r.subject.address, r.data["service"]) for r in results
                 if r.status is Status.FAIL]
        assert fails == [("aws_eks_cluster.second", "eks-auth")]


def test_privatelink_service_endpoints_are_neither_needed_nor_in_doubt() -> None:
    p = private_cluster()
    endpoint(p, "aws_vpc_endpoint.partner", "x",
             service_name="com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0")
    assert {r.status for r in run(missing_vpc_endpoint, p)} == {Status.PASS}
    assert "aws_vpc_endpoint.partner" not in by_subject(run(endpoint_region, p))


def test_pc301_centralised_endpoints_say_why_they_count_or_not() -> None:
    """Hub endpoints reached through a zone, a record and a transit gateway route."""
    from tfcheck.engine import scan

    from ..conftest import FIXTURES

    def pc301(case: str) -> dict[str, str]:
        report = scan([str(FIXTURES / "plans" / case / "plan.json")])
        return {f.data["service"]: f.message for f in report.findings if f.rule_id == "PC301"}

    good = pc301("pc301-centralised-endpoints")["ecr.dkr"]
    assert ('served by the centralised endpoint aws_vpc_endpoint.interface["ecr.dkr"] in '
            "aws_vpc.hub, reached through aws_route.spoke_to_hub[0] (10.100.0.0/16) -> "
            "aws_ec2_transit_gateway.main") in good
    unreachable = pc301("pc301-centralised-endpoints-no-route")["sts"]
    assert ('aws_route53_record.endpoint["sts"] points sts.eu-west-1.amazonaws.com at '
            'aws_vpc_endpoint.interface["sts"], but the route table of node subnet '
            "aws_subnet.private[0] (aws_route_table.private[0]) routes aws_vpc.hub "
            "(10.100.0.0/16) through no transit gateway") in unreachable
    elsewhere = pc301("pc301-centralised-zone-elsewhere")["ec2"]
    assert ("Route 53 zone Z0123456789ABCDEFGHIJ, associated with VPC aws_vpc.main by "
            "aws_route53_zone_association.endpoints[0], is not in the input") in elsewhere
    assert "Z0123456789KLMNOPQRST" in elsewhere


def test_pc301_zone_read_by_a_data_source_is_managed_elsewhere(tmp_path: Path) -> None:
    """An association with `data "aws_route53_zone"`: its records are not in the input."""
    import shutil

    from tfcheck.engine import scan

    from ..conftest import FIXTURES

    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "plans" / "pc301-centralised-zone-elsewhere", case)
    (case / "plan.json").unlink()
    main = case / "main.tf"
    main.write_text(main.read_text().replace(
        "zone_id = var.endpoint_zone_ids[count.index]",
        "zone_id = data.aws_route53_zone.hub.zone_id",
    ) + '\ndata "aws_route53_zone" "hub" {\n  name         = "ec2.eu-west-1.amazonaws.com"\n'
        "  private_zone = true\n}\n")
    found = {f.data["service"]: f for f in scan([str(case)]).findings if f.rule_id == "PC301"}
    assert found["ec2"].status is Status.UNKNOWN
    message = found["ec2"].message
    assert ("Route 53 zone data.aws_route53_zone.hub, associated with VPC aws_vpc.main by "
            "aws_route53_zone_association.endpoints[0], is not in the input") in message
