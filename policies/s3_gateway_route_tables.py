"""PC305 s3-gateway-route-tables: the S3 gateway endpoint is on every node route table."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import Attribute, block, render
from tfcheck.model import Severity, Unknown
from tfcheck.network import (
    ClusterNetwork,
    Endpoint,
    Network,
    about,
    cluster_vpcs,
    endpoint_counts_for,
    hcl_reference,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN

from .support import (
    GATEWAY_ENDPOINTS_GUIDE,
    explain_value,
    slug,
)


@policy(
    id="PC305",
    slug="s3-gateway-route-tables",
    severity=Severity.HIGH,
    title="The S3 gateway endpoint is on every node subnet's route table",
    docs_url=GATEWAY_ENDPOINTS_GUIDE,
)
def s3_gateway_route_tables(ctx: ScanContext) -> Iterator[Result]:
    """ECR image layers come from S3: the S3 gateway endpoint must be on the nodes' routes.

    ## Why
    The EKS user guide lists for Amazon ECR "com.amazonaws.region-code.ecr.api and
    com.amazonaws.region-code.ecr.dkr and the Amazon S3 gateway endpoint": ECR serves
    image layers from S3. A gateway endpoint works through routes, so only subnets whose
    effective route table (explicit association, else the VPC's main route table) is in
    the endpoint's `route_table_ids` (or an `aws_vpc_endpoint_route_table_association`)
    reach S3; nodes in the other subnets cannot pull images. Not needed where an S3
    *interface* endpoint serves the VPC.

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

    resource "aws_route_table" "private" {
      count  = 2
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private[count.index].id
    }

    resource "aws_vpc_endpoint" "s3" {
      vpc_id            = aws_vpc.main.id
      service_name      = "com.amazonaws.eu-west-1.s3"
      vpc_endpoint_type = "Gateway"
      route_table_ids   = [aws_route_table.private[0].id]  # two node route tables
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "s3" {
      route_table_ids = aws_route_table.private[*].id
    }
    ```

    ## Remediation
    Add every node subnet's route table to the S3 gateway endpoint's `route_table_ids`,
    or associate it with `aws_vpc_endpoint_route_table_association`.
    """
    net = network(ctx)
    for vpc, clusters in sorted(cluster_vpcs(net).items()):
        gateways: list[Endpoint] = []
        interface = False
        for info in clusters:
            for endpoint in net.endpoints_in(vpc):
                if endpoint_counts_for(endpoint, "s3", info.region) is not None:
                    continue
                if endpoint.is_gateway:
                    gateways.append(endpoint)
                elif endpoint.is_interface:
                    interface = True
        gateways = list({e.address: e for e in gateways}.values())
        if not gateways or interface:
            continue  # no S3 endpoint at all is PC301's; an interface one needs no routes
        tables: set[str] = set()
        unknown = None
        for endpoint in gateways:
            tables.update(endpoint.route_tables.keys)
            if unknown is None:
                unknown = endpoint.route_tables.unknown
        owners: dict[str, list[ClusterNetwork]] = {}
        for info in clusters:
            for key in info.node_subnets():
                owners.setdefault(key, []).append(info)
        for subnet_key in sorted(owners):
            for result in _s3_route_verdict(net, subnet_key, owners[subnet_key], gateways,
                                            tables, unknown):
                yield about(result, owners[subnet_key])


def _s3_route_verdict(net: Network, subnet_key: str, owners: list[ClusterNetwork],
                      gateways: list[Endpoint], tables: set[str],
                      unknown: Unknown | None) -> Iterator[Result]:
    subnet = net.subnet(subnet_key)
    subjects = [subnet.resource] if subnet.resource is not None else [o.cluster for o in owners]
    effective = net.effective_route_table(subnet_key)
    names = ", ".join(e.address for e in gateways)
    data = {"subnet": subnet_key}
    identity = ("subnet", subnet_key)
    for subject in subjects:
        if effective.unknown is not None:
            yield Result.unknown(
                subject, f"cannot tell the route table of node subnet {subnet_key}: "
                         f"{effective.unknown}", data=data, identity=identity,
                decided_by=A_PLAN if subnet.resource is not None and not subnet.resource.is_data
                else "")  # a subnet managed elsewhere: no scan of this input decides it
            continue
        covered = [t for t in effective.tables if t in tables]
        chain = (subnet_key, *effective.via, *effective.tables, *(e.address for e in gateways))
        data = {"subnet": subnet_key, "route_table": ", ".join(effective.tables)}
        if covered and len(covered) == len(effective.tables):
            yield Result.passed(subject, f"node subnet {subnet_key} uses {covered[0]}, which "
                                         f"{names} is associated with",
                                evidence=chain, data=data, identity=identity)
        elif unknown is not None:
            yield Result.unknown(
                subject, f"cannot tell whether {names} is on the route table of node subnet "
                         f"{subnet_key}: route_table_ids is not known "
                         f"({explain_value(unknown, net)})",
                evidence=chain, data=data, identity=identity)
        elif missing_tables := [t for t in effective.tables
                                if not net.route_table(t).complete and t not in covered]:
            yield Result.unknown(
                subject, f"cannot tell whether {names} is on the route table of node subnet "
                         f"{subnet_key}: {', '.join(missing_tables)} is not in the input",
                evidence=chain, data=data, identity=identity)
        elif covered:
            yield Result.unknown(
                subject, f"node subnet {subnet_key} may use {', '.join(effective.tables)}; "
                         f"only {', '.join(covered)} has the S3 gateway endpoint",
                evidence=chain, data=data, identity=identity)
        else:
            table = effective.tables[0]
            main = " (the VPC's main route table)" if effective.main else ""
            yield Result.fail(
                subject, f"node subnet {subnet_key} uses {table}{main}, which the S3 gateway "
                         f"endpoint {names} is not associated with: nodes there cannot pull "
                         f"image layers from ECR",
                remediation=render(block(
                    "resource", "aws_vpc_endpoint_route_table_association", f"s3_{slug(table)}",
                    body=(Attribute("vpc_endpoint_id", hcl_reference(net, gateways[0].address)),
                          Attribute("route_table_id", hcl_reference(net, table))))),
                evidence=chain, data=data, identity=identity)


POLICIES = (s3_gateway_route_tables,)
