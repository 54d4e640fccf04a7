"""PC102 cluster-public-endpoint."""

from __future__ import annotations

from tfcheck.model import Severity, Status, Unknown
from tfcheck_policies.cluster_public_endpoint import cluster_public_endpoint

from ..network_builders import endpoint_cluster, run


def test_public_endpoint_with_an_unknown_cidr_is_a_fail_not_unknown() -> None:
    # the endpoint is public whatever the CIDR turns out to be
    (result,) = run(cluster_public_endpoint, endpoint_cluster(public_access_cidrs=[
        Unknown("aws_eip.ci.public_ip is known only after apply")]))
    assert result.status is Status.FAIL
    assert result.severity is None  # the policy's medium: how wide is not known
    assert result.message == (
        "the public API endpoint is on; how wide is not known: aws_eip.ci.public_ip is "
        "known only after apply: no scan before apply can decide it")


def test_a_known_open_cidr_beside_an_unknown_one_is_high() -> None:
    (result,) = run(cluster_public_endpoint, endpoint_cluster(public_access_cidrs=[
        "0.0.0.0/0", Unknown("var.office has no value")]))
    assert (result.status, result.severity) == (Status.FAIL, Severity.HIGH)
    assert result.message == "the public API endpoint is on, open to 0.0.0.0/0"


def test_a_cidr_rendered_around_an_unknown_address_is_restricted() -> None:
    (result,) = run(cluster_public_endpoint, endpoint_cluster(public_access_cidrs=[
        Unknown("aws_eip.ci.public_ip is known only after apply",
                partial="${aws_eip.ci.public_ip}/32")]))
    assert (result.status, result.severity) == (Status.FAIL, None)
    assert result.message == ("the public API endpoint is on, restricted to "
                              "${aws_eip.ci.public_ip}/32")
