"""PC304 endpoint-subnet-coverage."""

from __future__ import annotations

from tfcheck.model import Status
from tfcheck_policies.endpoint_subnet_coverage import endpoint_subnet_coverage

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
