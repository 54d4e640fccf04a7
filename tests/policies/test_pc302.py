"""PC302 endpoint-region."""

from __future__ import annotations

from tfcheck.model import Status
from tfcheck_policies.endpoint_region import endpoint_region

from ..network_builders import CLUSTER, Plan, by_subject, endpoint, private_cluster, run


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
