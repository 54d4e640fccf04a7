"""PC301 missing-vpc-endpoint, PC302 endpoint-region, PC303 endpoint-private-dns,
PC304 endpoint-subnet-coverage, PC305 s3-gateway-route-tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfcheck.model import Status, Unknown
from tfcheck_policies.vpc_endpoints import (
    endpoint_private_dns,
    endpoint_region,
    endpoint_subnet_coverage,
    missing_vpc_endpoint,
    s3_gateway_route_tables,
)

from ..network_builders import (
    SUBNETS,
    TABLES,
    Plan,
    by_subject,
    private_cluster,
    run,
    unknown,
    verdicts,
)

CLUSTER = "aws_eks_cluster.main"


def by_service(results: list[Any]) -> dict[str, Any]:
    return {r.data["service"]: r for r in results}


def endpoint(p: Plan, address: str, service: str, *, region: str = "eu-west-1",
             subnets: list[str] | None = None, **values: Any) -> None:
    """An interface endpoint in aws_vpc.main (override any attribute with `values`)."""
    body: dict[str, Any] = {
        "vpc_id": unknown(), "service_name": f"com.amazonaws.{region}.{service}",
        "vpc_endpoint_type": "Interface", "private_dns_enabled": True,
        "subnet_ids": unknown(), "security_group_ids": unknown(),
    }
    body.update(values)
    p.add(address, body, refs={"vpc_id": "aws_vpc.main",
                               "subnet_ids": SUBNETS if subnets is None else subnets,
                               "security_group_ids": "aws_security_group.vpc_endpoints"},
          computed=[k for k, v in values.items() if isinstance(v, Unknown)
                    and k in ("vpc_endpoint_type", "private_dns_enabled")])


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


class TestPC302:
    def test_pass_and_fail_by_region(self) -> None:
        p = private_cluster()
        endpoint(p, "aws_vpc_endpoint.xray", "xray", region="us-west-2")
        results = by_subject(run(endpoint_region, p))
        fail = results["aws_vpc_endpoint.xray"]
        assert fail.status is Status.FAIL
        assert fail.data == {"endpoint_region": "us-west-2", "cluster_region": "eu-west-1",
                             "cluster": CLUSTER}
        assert fail.remediation == ('# in aws_vpc_endpoint.xray\n'
                                    'service_name = "com.amazonaws.eu-west-1.xray"')
        assert results["aws_vpc_endpoint.s3"].status is Status.PASS

    def test_region_from_an_unknown_expression_is_unknown(self) -> None:
        p = private_cluster()
        endpoint(p, "aws_vpc_endpoint.xray", "xray",
                 service_name="com.amazonaws.${var.other_region}.xray")
        result = by_subject(run(endpoint_region, p))["aws_vpc_endpoint.xray"]
        assert result.status is Status.UNKNOWN
        assert result.attribute == "service_name"

    def test_cluster_region_unknown_and_endpoints_disagree(self) -> None:
        p = private_cluster(Plan(region=None))
        endpoint(p, "aws_vpc_endpoint.xray", "xray", region="us-west-2")
        results = run(endpoint_region, p)
        assert {r.status for r in results} == {Status.UNKNOWN}


class TestPC303:
    def test_private_dns_omitted_fails_false_fails_true_passes(self) -> None:
        p = private_cluster()
        endpoint(p, "aws_vpc_endpoint.omitted", "logs", private_dns_enabled=unknown())
        endpoint(p, "aws_vpc_endpoint.off", "xray", private_dns_enabled=False)
        results = by_subject(run(endpoint_private_dns, p))
        omitted = results["aws_vpc_endpoint.omitted"]
        assert omitted.status is Status.FAIL
        assert omitted.message == (
            "private_dns_enabled of interface endpoint aws_vpc_endpoint.omitted (logs) is not "
            "set (provider default false): clients resolve the service's public hostname")
        assert omitted.remediation == ("# in aws_vpc_endpoint.omitted\n"
                                       "private_dns_enabled = true")
        assert "is false:" in results["aws_vpc_endpoint.off"].message
        assert results['aws_vpc_endpoint.interface["ec2"]'].status is Status.PASS
        assert "aws_vpc_endpoint.s3" not in results  # gateway endpoints have no private DNS

    def test_unknown_private_dns(self) -> None:
        p = private_cluster()
        endpoint(p, "aws_vpc_endpoint.x", "logs", private_dns_enabled=Unknown("var.dns"))
        p.resources["aws_vpc_endpoint.x"].configured = frozenset(
            {"vpc_id", "service_name", "vpc_endpoint_type", "private_dns_enabled"})
        assert by_subject(run(endpoint_private_dns, p))["aws_vpc_endpoint.x"].status is (
            Status.UNKNOWN)


class TestPC304:
    def test_every_node_zone_covered_passes(self) -> None:
        results = run(endpoint_subnet_coverage, private_cluster())
        assert verdicts(results) == sorted(
            ("pass", f'aws_vpc_endpoint.interface["{s}"]')
            for s in ("ec2", "ecr.api", "ecr.dkr"))  # sts is not required here
        assert results[0].data == {"missing_zones": [],
                                   "zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
                                   "cluster": CLUSTER}

    def test_missing_zone_fails_with_the_subnet_to_add(self) -> None:
        p = private_cluster()
        endpoint(p, 'aws_vpc_endpoint.interface["ecr.dkr"]', "ecr.dkr", subnets=SUBNETS[:2])
        result = by_subject(run(endpoint_subnet_coverage, p))[
            'aws_vpc_endpoint.interface["ecr.dkr"]']
        assert result.status is Status.FAIL
        assert result.data == {"missing_zones": ["eu-west-1c"],
                               "zones": ["eu-west-1a", "eu-west-1b"], "cluster": CLUSTER}
        assert "has no network interface in eu-west-1c (aws_subnet.private[2])" in (
            result.message)
        assert result.remediation.endswith("subnet_ids = aws_subnet.private[*].id")

    def test_subnet_associations_count(self) -> None:
        p = private_cluster()
        endpoint(p, 'aws_vpc_endpoint.interface["ec2"]', "ec2", subnets=[SUBNETS[0]])
        for i in (1, 2):
            p.add(f"aws_vpc_endpoint_subnet_association.ec2[{i}]", {
                "vpc_endpoint_id": unknown(), "subnet_id": unknown()},
                refs={"vpc_endpoint_id": 'aws_vpc_endpoint.interface["ec2"]',
                      "subnet_id": SUBNETS[i]})
        result = by_subject(run(endpoint_subnet_coverage, p))['aws_vpc_endpoint.interface["ec2"]']
        assert result.status is Status.PASS

    def test_unknown_zone_of_a_node_subnet(self) -> None:
        p = private_cluster()
        p.resources[SUBNETS[2]].values["availability_zone"] = unknown()
        p.resources[SUBNETS[2]].configured = frozenset({"vpc_id", "cidr_block"})
        endpoint(p, 'aws_vpc_endpoint.interface["ec2"]', "ec2", subnets=SUBNETS[:2])
        result = by_subject(run(endpoint_subnet_coverage, p))['aws_vpc_endpoint.interface["ec2"]']
        assert result.status is Status.UNKNOWN
        assert "node subnets aws_subnet.private[2] are not known" in result.message

    def test_node_subnets_that_are_the_endpoint_subnets_need_no_zones(self) -> None:
        p = Plan()
        ids = ["subnet-0a", "subnet-0b"]
        p.add(CLUSTER, {"name": "main", "vpc_config": [{"subnet_ids": ids}]})
        p.add("aws_vpc_endpoint.ec2", {"vpc_id": "vpc-0abc", "service_name":
                                       "com.amazonaws.eu-west-1.ec2",
                                       "vpc_endpoint_type": "Interface", "subnet_ids": ids})
        (result,) = run(endpoint_subnet_coverage, p)
        assert result.status is Status.PASS


class TestPC305:
    def test_pass_on_every_node_route_table(self) -> None:
        results = run(s3_gateway_route_tables, private_cluster())
        assert verdicts(results) == [("pass", s) for s in SUBNETS]

    def test_fail_where_a_route_table_is_missing(self) -> None:
        p = private_cluster()
        p.edges = [e for e in p.edges
                   if not (e[0] == "aws_vpc_endpoint.s3" and e[2] == TABLES[2])]
        results = by_subject(run(s3_gateway_route_tables, p))
        fail = results[SUBNETS[2]]
        assert fail.status is Status.FAIL
        assert fail.data == {"subnet": SUBNETS[2], "route_table": TABLES[2],
                             "cluster": CLUSTER}
        assert fail.evidence == (SUBNETS[2], "aws_route_table_association.private[2]",
                                 TABLES[2], "aws_vpc_endpoint.s3")
        assert fail.remediation == (
            'resource "aws_vpc_endpoint_route_table_association" "s3_private_2" {\n'
            "  vpc_endpoint_id = aws_vpc_endpoint.s3.id\n"
            "  route_table_id  = aws_route_table.private[2].id\n"
            "}")
        assert results[SUBNETS[0]].status is Status.PASS

    def test_route_table_association_resources_count(self) -> None:
        p = private_cluster()
        p.edges = [e for e in p.edges if e[0] != "aws_vpc_endpoint.s3"
                   or e[1] != "route_table_ids"]
        for i, table in enumerate(TABLES):
            p.add(f"aws_vpc_endpoint_route_table_association.s3[{i}]", {
                "vpc_endpoint_id": unknown(), "route_table_id": unknown()},
                refs={"vpc_endpoint_id": "aws_vpc_endpoint.s3", "route_table_id": table})
        p.resources["aws_vpc_endpoint.s3"].values["route_table_ids"] = unknown()
        p.resources["aws_vpc_endpoint.s3"].configured = frozenset(
            {"vpc_id", "service_name", "vpc_endpoint_type"})
        assert verdicts(run(s3_gateway_route_tables, p)) == [("pass", s) for s in SUBNETS]

    def test_main_route_table_by_reference(self) -> None:
        p = private_cluster()
        p.remove(*(f"aws_route_table_association.private[{i}]" for i in range(3)))
        p.edges = [e for e in p.edges if e[0] != "aws_vpc_endpoint.s3"
                   or e[1] != "route_table_ids"]
        p.ref("aws_vpc_endpoint.s3", "route_table_ids", "aws_vpc.main")
        assert verdicts(run(s3_gateway_route_tables, p)) == [("pass", s) for s in SUBNETS]

    def test_s3_interface_endpoint_or_no_s3_endpoint_is_not_this_policy(self) -> None:
        p = private_cluster()
        p.remove("aws_vpc_endpoint.s3")
        assert run(s3_gateway_route_tables, p) == []
        endpoint(p, "aws_vpc_endpoint.s3_interface", "s3")
        assert run(s3_gateway_route_tables, p) == []


def test_pc304_zone_ids_and_names_are_not_compared() -> None:
    p = private_cluster()
    subnet = p.resources[SUBNETS[2]]
    subnet.values["availability_zone"] = unknown()
    subnet.values["availability_zone_id"] = "euw1-az3"
    subnet.configured = frozenset({"vpc_id", "cidr_block", "availability_zone_id"})
    endpoint(p, 'aws_vpc_endpoint.interface["ec2"]', "ec2", subnets=SUBNETS[:2])
    result = by_subject(run(endpoint_subnet_coverage, p))['aws_vpc_endpoint.interface["ec2"]']
    assert result.status is Status.UNKNOWN
    assert "availability_zone_id" in result.message


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
