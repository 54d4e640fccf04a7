"""PC303 endpoint-private-dns: interface endpoints have private DNS enabled."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.centralised import Centralised, centralised
from tfcheck.facts.hcl_snippets import Attribute, Comment, Literal, render
from tfcheck.model import Severity, Unknown
from tfcheck.network import (
    ClusterNetwork,
    Network,
    about,
    cluster_vpcs,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN

from .support import (
    INTERFACE_ENDPOINTS_GUIDE,
    explain_value,
)


@policy(
    id="PC303",
    slug="endpoint-private-dns",
    severity=Severity.HIGH,
    title="Interface endpoints have private DNS enabled",
    docs_url=INTERFACE_ENDPOINTS_GUIDE,
)
def endpoint_private_dns(ctx: ScanContext) -> Iterator[Result]:
    """Interface endpoints answer the services' usual hostnames only with private DNS on.

    ## Why
    The EKS user guide: "Many AWS services support private clusters, but you must use a
    VPC endpoint." SDKs and the kubelet call the services' public hostnames
    (`ecr.eu-west-1.amazonaws.com`); only an interface endpoint with
    `private_dns_enabled = true` makes those names resolve to its private addresses.
    The provider default is false, so an endpoint without it is skipped by every client
    and the calls go nowhere. Gateway endpoints (S3, DynamoDB) work through routes and
    are not checked.

    ## Bad
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block           = "10.0.0.0/16"
      enable_dns_support   = true
      enable_dns_hostnames = true
    }

    resource "aws_subnet" "private" {
      count             = 2
      vpc_id            = aws_vpc.main.id
      cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 4, count.index)
      availability_zone = ["eu-west-1a", "eu-west-1b"][count.index]
    }

    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
    }

    resource "aws_vpc_endpoint" "sts" {
      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.eu-west-1.sts"
      vpc_endpoint_type   = "Interface"
      # private_dns_enabled defaults to false
      subnet_ids          = aws_subnet.private[*].id
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "sts" {
      private_dns_enabled = true
    }
    ```

    ## Remediation
    Set `private_dns_enabled = true` on every interface endpoint in the cluster's VPC.
    """
    net = network(ctx)
    central = centralised(ctx)
    for vpc, clusters in sorted(cluster_vpcs(net).items()):
        for result in _private_dns_verdicts(net, vpc, clusters, central):
            yield about(result, clusters)


def _private_dns_verdicts(net: Network, vpc: str, clusters: list[ClusterNetwork],
                          central: Centralised) -> Iterator[Result]:
    """Interface endpoints of the VPC: private DNS on, off, or not known.

    A centralised endpoint (a Route 53 zone points a service name at it) has private DNS
    off by design: not this policy's subject.
    """
    for endpoint in net.endpoints_in(vpc):
        if endpoint.private_dns is not True and central.is_centralised(endpoint):
            continue
        evidence = (clusters[0].address, vpc, endpoint.address)
        interface = endpoint.is_interface
        if interface is None:
            yield Result.unknown(
                endpoint.resource, f"the vpc_endpoint_type of {endpoint.address} is not "
                                   "known before apply", evidence=evidence, decided_by=A_PLAN,
                attribute="vpc_endpoint_type")
            continue
        if not interface:
            continue
        dns = endpoint.private_dns
        if isinstance(dns, Unknown):
            yield Result.unknown(
                endpoint.resource, f"private_dns_enabled of {endpoint.address} is not "
                                   f"known ({explain_value(dns, net)})",
                evidence=evidence, attribute="private_dns_enabled")
        elif dns is True:
            yield Result.passed(endpoint.resource,
                                f"{endpoint.address} has private DNS enabled",
                                evidence=evidence)
        else:
            how = ("false" if endpoint.resource.sets("private_dns_enabled")
                   else "not set (provider default false)")
            yield Result.fail(
                endpoint.resource, f"private_dns_enabled of interface endpoint "
                                   f"{endpoint.address} ({endpoint.service}) is {how}: "
                                   f"clients resolve the service's public hostname",
                remediation=render(Comment(f"in {endpoint.address}"),
                                   Attribute("private_dns_enabled", Literal(True))),
                evidence=evidence, attribute="private_dns_enabled")


POLICIES = (endpoint_private_dns,)
