"""PC304 endpoint-subnet-coverage: required interface endpoints reach every node AZ."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import Attribute, Comment, render
from tfcheck.model import Severity
from tfcheck.network import (
    ZONE_ID_SUFFIX,
    ClusterNetwork,
    Endpoint,
    Network,
    about,
    cluster_vpcs,
    endpoint_counts_for,
    hcl_id_list,
    network,
    required_services,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    explain_value,
    zone_why,
)


@policy(
    id="PC304",
    slug="endpoint-subnet-coverage",
    severity=Severity.MEDIUM,
    title="Required interface endpoints reach every node Availability Zone",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def endpoint_subnet_coverage(ctx: ScanContext) -> Iterator[Result]:
    """Each required interface endpoint has a network interface in every AZ with nodes.

    ## Why
    The EKS user guide: "Any self-managed nodes must be deployed to subnets that have
    the VPC interface endpoints that you require." An interface endpoint has one network
    interface per subnet in `subnet_ids` (or `aws_vpc_endpoint_subnet_association`);
    nodes in an Availability Zone without one depend on another zone — and an endpoint
    in no subnet at all has no address to call.

    Centralised endpoints in a hub VPC (PC301) are not checked: their zones are the hub's
    subnets' zones, often in another account, where the same AZ name is a different zone
    (only zone IDs such as `euw1-az1` compare across accounts), and the spoke reaches
    them through a transit gateway or peering connection, which carries traffic across
    zones. Their coverage is a question of the hub's resilience, not of whether the
    spoke's nodes can call them; PC304 would have to guess, so it stays silent.

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

    resource "aws_vpc_endpoint" "ecr_dkr" {
      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.eu-west-1.ecr.dkr"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = [aws_subnet.private[0].id]  # nodes run in two AZs
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "ecr_dkr" {
      subnet_ids = aws_subnet.private[*].id
    }
    ```

    ## Remediation
    Add one subnet per node Availability Zone to the endpoint's `subnet_ids`.
    """
    net = network(ctx)
    for _vpc, clusters in sorted(cluster_vpcs(net).items()):
        counting = _counting_interface_endpoints(ctx, net, clusters)
        node_subnets = sorted({k for c in clusters for k in c.node_subnets()})
        for endpoint in counting:
            yield about(_coverage_verdict(net, endpoint, node_subnets, clusters), clusters)


def _counting_interface_endpoints(ctx: ScanContext, net: Network,
                                  clusters: list[ClusterNetwork]) -> list[Endpoint]:
    """Interface endpoints of the VPC that count for a service one of its clusters needs."""
    found: dict[str, Endpoint] = {}
    for info in clusters:
        endpoints = net.endpoints_in(info.vpc)
        for requirement in required_services(ctx, info):
            for endpoint in endpoints:
                if (endpoint.is_interface
                        and endpoint_counts_for(endpoint, requirement.service,
                                                info.region) is None):
                    found.setdefault(endpoint.address, endpoint)
    return [found[a] for a in sorted(found)]


def _coverage_verdict(net: Network, endpoint: Endpoint, node_subnets: list[str],
                      clusters: list[ClusterNetwork]) -> Result:
    evidence = (clusters[0].address, endpoint.address)
    needed: dict[str, list[str]] = {}
    unknown_needed: list[str] = []
    for key in node_subnets:
        zone = net.subnet(key).availability_zone
        if isinstance(zone, str):
            needed.setdefault(zone, []).append(key)
        else:
            unknown_needed.append(key)
    # a node subnet that is itself one of the endpoint's subnets is covered, whatever its AZ
    own = set(endpoint.subnets.keys)
    unknown_needed = [k for k in unknown_needed if k not in own]
    have: set[str] = set()
    unknown_have: list[str] = []
    for key in endpoint.subnets.keys:
        zone = net.subnet(key).availability_zone
        if isinstance(zone, str):
            have.add(zone)
        else:
            unknown_have.append(key)
    if endpoint.subnets.unknown is not None:
        unknown_have.append(f"subnet_ids ({explain_value(endpoint.subnets.unknown, net)})")
    missing = sorted(set(needed) - have)
    data = {"missing_zones": missing, "zones": sorted(have)}
    by_id = {z.endswith(ZONE_ID_SUFFIX) for z in (*needed, *have)}
    if missing and len(by_id) > 1:
        return Result.unknown(
            endpoint.resource, f"cannot compare the Availability Zones of {endpoint.address} "
                               "with the node subnets': some subnets name their zone by ID "
                               "(availability_zone_id), others by name, and the mapping "
                               "differs per account", evidence=evidence, data=data)
    if missing and not unknown_have:
        subnets = [needed[z][0] for z in missing]
        where = ", ".join(f"{z} ({', '.join(needed[z])})" for z in missing)
        return Result.fail(
            endpoint.resource, f"{endpoint.address} ({endpoint.service}) has no network "
                               f"interface in {where}, where nodes run"
                               + (f"; it is only in {', '.join(sorted(have))}" if have else
                                  "; it is in no subnet at all"),
            remediation=render(
                Comment(f"in {endpoint.address}: one subnet per node Availability Zone"),
                Attribute("subnet_ids", hcl_id_list(net, [*endpoint.subnets.keys, *subnets]))),
            evidence=(*evidence, *(needed[z][0] for z in missing)), data=data,
            attribute="subnet_ids")
    if missing or unknown_needed:
        reasons = []
        have_why, needed_why = zone_why(net, unknown_have), zone_why(net, unknown_needed)
        if unknown_have:
            reasons.append(f"the Availability Zones of its subnets {', '.join(unknown_have)} "
                           f"are not known{have_why}")
        if unknown_needed:
            reasons.append(f"the Availability Zones of node subnets "
                           f"{', '.join(unknown_needed)} are not known{needed_why}")
        return Result.unknown(
            endpoint.resource, f"cannot tell whether {endpoint.address} reaches every node "
                               f"Availability Zone: {'; '.join(reasons)}",
            evidence=evidence, data=data,
            decided_by="" if have_why or needed_why else A_PLAN)  # a why names its action
    zones = f" ({', '.join(sorted(needed))})" if needed else ""
    return Result.passed(
        endpoint.resource, f"{endpoint.address} has a network interface in every node "
                           f"Availability Zone{zones}", evidence=evidence, data=data)


POLICIES = (endpoint_subnet_coverage,)
