"""PC303 endpoint-private-dns."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.endpoint_private_dns import endpoint_private_dns

from ..network_builders import by_subject, endpoint, private_cluster, run, unknown


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
