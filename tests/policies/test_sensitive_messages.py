"""Sensitive CIDRs and IDs that PC102 and PC401 list by hand show as `(sensitive value)`.

`str.join` copies a marked string's characters and `ipaddress` parses them into an
unmarked network (`tfcheck.marks`): these call sites use `shown`, and a network parsed
from a sensitive CIDR keeps the mark. Checked on the policies' own messages, before the
engine's text check: a normalised CIDR (`10.0.0.1/16` -> `10.0.0.0/16`) is not the text
that check looks for.
"""

from __future__ import annotations

from tfcheck.marks import SHOWN
from tfcheck.model import Sensitive, Status
from tfcheck_policies.cluster_public_endpoint import cluster_public_endpoint
from tfcheck_policies.endpoint_sg_ingress import endpoint_sg_ingress

from ..network_builders import (
    endpoint_cluster,
    endpoint_ingress,
    private_cluster,
    rule,
    run,
    unknown,
)

ECR = 'aws_vpc_endpoint.interface["ecr.api"]'


def test_pc102_open_cidrs_that_are_sensitive() -> None:
    (result,) = run(cluster_public_endpoint, endpoint_cluster(
        public_access_cidrs=Sensitive(["0.0.0.0/0"])))
    assert result.status is Status.FAIL
    assert result.message == f"the public API endpoint is on and open to {SHOWN}"


def test_pc102_restricted_cidrs_that_are_sensitive() -> None:
    (result,) = run(cluster_public_endpoint, endpoint_cluster(
        public_access_cidrs=Sensitive(["203.0.113.7/32", "198.51.100.0/24"])))
    assert result.message == f"the public API endpoint is on, restricted to {SHOWN}, {SHOWN}"


def test_pc102_an_open_cidr_beside_an_unknown_one_that_is_sensitive() -> None:
    (result,) = run(cluster_public_endpoint, endpoint_cluster(
        public_access_cidrs=[Sensitive("0.0.0.0/0"), unknown()]))
    assert result.message == f"the public API endpoint is on, open to {SHOWN}"


def test_pc401_a_sensitive_cidr_admitting_the_subnets() -> None:
    p = private_cluster()
    endpoint_ingress(p, rule(cidr_blocks=Sensitive(["10.0.0.1/16"])))
    result = {r.subject.address: r for r in run(endpoint_sg_ingress, p)}[ECR]
    assert result.status is Status.PASS
    assert f"(ingress tcp/443) from {SHOWN})" in result.message
    assert "10.0." not in result.message


def test_pc401_sensitive_subnet_ids_that_no_rule_admits() -> None:
    p = private_cluster()
    endpoint_ingress(p, rule(cidr_blocks=["192.168.0.0/24"]))
    group = p.resources["aws_eks_node_group.default"]
    group.values["subnet_ids"] = Sensitive(["subnet-0secret"])
    p.edges = [e for e in p.edges if e[:2] != ("aws_eks_node_group.default", "subnet_ids")]
    result = {r.subject.address: r for r in run(endpoint_sg_ingress, p)}[ECR]
    assert "subnet-0secret" not in result.message, result.message
    assert SHOWN in result.message
