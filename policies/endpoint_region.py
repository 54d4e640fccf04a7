"""PC302 endpoint-region: VPC endpoints are for the cluster's region."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import Attribute, Comment, Literal, render
from tfcheck.model import Severity, Unknown
from tfcheck.network import (
    ClusterNetwork,
    Endpoint,
    Network,
    about,
    cluster_vpcs,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    explain_value,
)


@policy(
    id="PC302",
    slug="endpoint-region",
    severity=Severity.HIGH,
    title="VPC endpoints are for the cluster's region",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def endpoint_region(ctx: ScanContext) -> Iterator[Result]:
    """An endpoint for another region's service does not serve the cluster's SDK calls.

    ## Why
    The EKS user guide names each endpoint by the cluster's region:
    "com.amazonaws.region-code.ecr.api and com.amazonaws.region-code.ecr.dkr". SDKs on
    the nodes call the regional hostname of the cluster's region; an endpoint whose
    `service_name` names another region (a copy-pasted block, a hard-coded region next to
    a `var.region` provider) never receives those calls, so it does not count towards
    PC301 either.

    ## Bad
    ```hcl
    provider "aws" {
      region = "eu-west-1"
    }

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
      service_name        = "com.amazonaws.us-east-1.sts"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "sts" {
      service_name = "com.amazonaws.${data.aws_region.current.name}.sts"
    }
    ```

    ```hcl
    # fix.tf
    data "aws_region" "current" {}
    ```

    ## Remediation
    Build `service_name` from the cluster's region
    (`"com.amazonaws.${data.aws_region.current.name}.<service>"`).
    """
    net = network(ctx)
    for vpc, clusters in sorted(cluster_vpcs(net).items()):
        regions = {c.region for c in clusters if isinstance(c.region, str)}
        for endpoint in net.endpoints_in(vpc):
            if endpoint.region is None:
                continue  # not an AWS service endpoint (a PrivateLink service, S3 global)
            if endpoint.service is None and not isinstance(endpoint.region, str):
                continue  # nothing readable: PC301 says so
            yield about(_region_verdict(net, endpoint, regions, clusters), clusters)


def _region_verdict(net: Network, endpoint: Endpoint, regions: set[str],
                    clusters: list[ClusterNetwork]) -> Result:
    users = ", ".join(c.address for c in clusters)
    evidence = (clusters[0].address, *clusters[0].vpc_evidence[-1:], endpoint.address)
    if isinstance(endpoint.region, Unknown):
        return Result.unknown(
            endpoint.resource, f"the region in the service_name of {endpoint.address} is not "
                               f"known: {explain_value(endpoint.region, net)}",
            evidence=evidence, attribute="service_name")
    if len(regions) != 1:
        why = ("the clusters' regions differ" if regions else
               "the region of the cluster is not known (no provider region in the input)")
        return Result.unknown(
            endpoint.resource, f"cannot compare {endpoint.address}'s region {endpoint.region} "
                               f"with the cluster's: {why}", evidence=evidence,
            decided_by="" if regions else A_PLAN)
    region = next(iter(regions))
    data = {"endpoint_region": endpoint.region, "cluster_region": region}
    if endpoint.region != region:
        return Result.fail(
            endpoint.resource, f"{endpoint.address} is for region {endpoint.region} "
                               f"({endpoint.service_name}), but {users} is in {region}: it "
                               f"serves none of the cluster's calls",
            remediation=render(Comment(f"in {endpoint.address}"), Attribute(
                "service_name", Literal(f"com.amazonaws.{region}.{endpoint.service}"))),
            evidence=evidence, data=data, attribute="service_name")
    return Result.passed(endpoint.resource, f"{endpoint.address} is in the cluster's region "
                                            f"{region}", evidence=evidence, data=data)


POLICIES = (endpoint_region,)
