"""PC301 missing-vpc-endpoint: every AWS service the cluster needs has a VPC endpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import islice

from tfcheck.facts.centralised import Served, centralised
from tfcheck.facts.hcl_snippets import (
    BLANK,
    Item,
    ListOf,
    Literal,
    Reference,
    Template,
    Value,
    attributes,
    block,
    render,
)
from tfcheck.model import Severity, Unknown
from tfcheck.network import (
    ClusterNetwork,
    Endpoint,
    Network,
    Requirement,
    endpoint_counts_for,
    hcl_id_list,
    hcl_reference,
    network,
    one_subnet_per_zone,
    required_services,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN, managed_elsewhere

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    explain_value,
)


@policy(
    id="PC301",
    slug="missing-vpc-endpoint",
    severity=Severity.HIGH,
    title="Every AWS service the cluster needs has a VPC endpoint",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def missing_vpc_endpoint(ctx: ScanContext) -> Iterator[Result]:
    """Without internet access, every AWS API the nodes and pods call needs a VPC endpoint.

    ## Why
    The EKS user guide: "Many AWS services support private clusters, but you must use a
    VPC endpoint", and "Your cluster's VPC subnets must have a VPC interface endpoint
    for any AWS services that your Pods need access to." Nodes always need `ec2`,
    `ecr.api`, `ecr.dkr` ("com.amazonaws.region-code.ecr.api and
    com.amazonaws.region-code.ecr.dkr and the Amazon S3 gateway endpoint") and `s3`.
    Features add more: `sts` for IAM roles for service accounts and Cluster Autoscaler
    ("The worker node VPC must also include the STS VPC endpoint and autoscaling VPC
    endpoint"), `eks-auth` for EKS Pod Identity, `logs` for log shippers,
    `elasticloadbalancing` for the AWS Load Balancer Controller, `xray`,
    `elasticfilesystem` for the EFS CSI driver, `ssm`/`ssmmessages` for the SSM agent.
    An endpoint counts only in the cluster's VPC, in its region and of the right type:
    an interface service declared without `vpc_endpoint_type = "Interface"` is a Gateway
    endpoint (the provider default) and serves nothing. The set is configurable
    (`required_endpoints`, `not_required_endpoints`).

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
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private.id
    }

    resource "aws_vpc_endpoint" "interface" {
      for_each = toset(["ec2", "ecr.api"])  # no ecr.dkr: image pulls fail

      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.eu-west-1.${each.key}"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
      security_group_ids  = [aws_security_group.vpc_endpoints.id]
    }

    resource "aws_vpc_endpoint" "s3" {
      vpc_id            = aws_vpc.main.id
      service_name      = "com.amazonaws.eu-west-1.s3"
      vpc_endpoint_type = "Gateway"
      route_table_ids   = [aws_route_table.private.id]
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "interface" {
      for_each = toset(["ec2", "ecr.api", "ecr.dkr"])
    }
    ```

    ## Bad: centralised endpoints
    A hub VPC's interface endpoints, with private DNS off, count for a spoke cluster when a
    Route 53 private hosted zone for the service's name is associated with the spoke VPC,
    holds a record pointing at the endpoint, and the node subnets route the hub's CIDR
    through a transit gateway or peering connection. Without the association the spoke
    resolves the public names and the calls fail.

    ```hcl
    locals {
      endpoint_names = {
        "ec2"     = "ec2.eu-west-1.amazonaws.com"
        "ecr.api" = "api.ecr.eu-west-1.amazonaws.com"
        "ecr.dkr" = "dkr.ecr.eu-west-1.amazonaws.com"
      }
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

    resource "aws_route_table" "private" {
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private.id
    }

    resource "aws_route" "to_hub" {
      route_table_id         = aws_route_table.private.id
      destination_cidr_block = aws_vpc.hub.cidr_block
      transit_gateway_id     = aws_ec2_transit_gateway.main.id
    }

    resource "aws_vpc_endpoint" "s3" {
      vpc_id            = aws_vpc.main.id
      service_name      = "com.amazonaws.eu-west-1.s3"
      vpc_endpoint_type = "Gateway"
      route_table_ids   = [aws_route_table.private.id]
    }

    resource "aws_vpc" "hub" {
      cidr_block           = "10.100.0.0/16"
      enable_dns_support   = true
      enable_dns_hostnames = true
    }

    resource "aws_ec2_transit_gateway" "main" {}

    resource "aws_vpc_endpoint" "hub" {
      for_each = local.endpoint_names

      vpc_id              = aws_vpc.hub.id
      service_name        = "com.amazonaws.eu-west-1.${each.key}"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = false  # the zones below answer for the spokes
      subnet_ids          = aws_subnet.hub[*].id
      security_group_ids  = [aws_security_group.hub_endpoints.id]
    }

    resource "aws_route53_zone" "endpoint" {
      for_each = local.endpoint_names

      name = each.value
      vpc {
        vpc_id = aws_vpc.hub.id
      }
    }

    resource "aws_route53_record" "endpoint" {
      for_each = local.endpoint_names

      zone_id = aws_route53_zone.endpoint[each.key].zone_id
      name    = each.key == "ecr.dkr" ? "*.${each.value}" : each.value
      type    = "A"
      alias {
        name                   = aws_vpc_endpoint.hub[each.key].dns_entry[0].dns_name
        zone_id                = aws_vpc_endpoint.hub[each.key].dns_entry[0].hosted_zone_id
        evaluate_target_health = false
      }
    }
    ```

    ## Good: centralised endpoints
    ```hcl
    # fix.tf
    # the zones answer for the spoke only once associated with its VPC
    resource "aws_route53_zone_association" "spoke" {
      for_each = local.endpoint_names

      zone_id = aws_route53_zone.endpoint[each.key].zone_id
      vpc_id  = aws_vpc.main.id
    }
    ```

    ## Remediation
    Add the `aws_vpc_endpoint` the finding names; the finding's remediation is the
    complete block, wired to the cluster's VPC, node subnets and endpoint security group.
    """
    net = network(ctx)
    central = centralised(ctx)
    for info in net.clusters:
        requirements = required_services(ctx, info)
        if info.vpc is None:
            yield Result.unknown(
                info.cluster, f"cannot tell the VPC of {info.address}, so not which VPC "
                              f"endpoints it has: {info.vpc_unknown}",
                data={"services": [r.service for r in requirements]},
                evidence=(info.address,))
            continue
        endpoints = net.endpoints_in(info.vpc)
        # an endpoint whose service_name is only known after apply may serve anything
        unreadable = [e for e in endpoints if isinstance(e.service_name, Unknown)
                      and e.service is None]
        for requirement in requirements:
            yield _requirement_verdict(net, info, requirement, endpoints, unreadable,
                                       central.serving(info, requirement.service))


def _requirement_verdict(net: Network, info: ClusterNetwork, requirement: Requirement,
                         endpoints: list[Endpoint], unreadable: list[Endpoint],
                         central: list[Served]) -> Result:
    service = requirement.service
    vpc = info.vpc or ""
    data = {"service": service, "required_by": requirement.required_by}
    identity = ("service", service)
    why = "; ".join(requirement.reasons)
    candidates = net.endpoints_for(vpc, service)
    not_counting = []
    undecided = []
    for endpoint in candidates:
        problem = endpoint_counts_for(endpoint, service, info.region)
        if problem is None:
            return Result.passed(
                info.cluster, f"{service} is served by {endpoint.address} in VPC {vpc}",
                data=data, identity=identity, evidence=(info.address, vpc, endpoint.address))
        if isinstance(endpoint.type, Unknown):
            undecided.append(problem)
        else:
            not_counting.append(problem)
    for served in central:
        if served.counts is True:
            return Result.passed(
                info.cluster, f"{service} is served by the centralised endpoint "
                              f"{served.why}; Route 53 zone {served.zone} is associated "
                              f"with VPC {vpc}", data=data, identity=identity,
                evidence=(info.address, vpc, *served.evidence))
    types_unknown = bool(undecided)  # a vpc_endpoint_type a plan holds
    not_counting.extend(s.why for s in central if s.counts is False)
    undecided.extend(s.why for s in central if s.counts is None)
    evidence = (*info.vpc_evidence, *(e.address for e in candidates),
                *(e for s in central for e in s.evidence))
    if undecided or unreadable:
        reasons = undecided + [f"the service_name of {e.address} is not known "
                               f"({explain_value(e.service_name, net)})" for e in unreadable]
        return Result.unknown(
            info.cluster, f"cannot tell whether VPC {vpc} has a {service} endpoint (needed "
                          f"for {why}): {'; '.join(reasons)}", data=data, identity=identity,
            evidence=evidence, decided_by=A_PLAN if types_unknown and not unreadable else "")
    vpc_record = net.vpc(vpc)
    if (vpc_record is None or not vpc_record.managed) and not endpoints:
        # a VPC managed elsewhere, and no endpoint of it here: they are managed elsewhere
        # too, or missing -- the input cannot tell. Where the input does manage some of
        # its endpoints, it is where they live, and a missing one is missing.
        return Result.unknown(
            info.cluster, f"no {service} VPC endpoint for VPC {vpc} in the input (needed "
                          f"for {why}); the VPC is not managed here and neither is any of "
                          f"its endpoints: {managed_elsewhere(f'VPC {vpc}')}",
            data=data, identity=identity, evidence=evidence,
            remediation=_endpoint_block(net, info, service, endpoints))
    # the first two endpoints of the service in other VPCs, and how many more: counted
    # from the indexes, not formatted one by one (a fleet has one per VPC)
    serving = net.endpoints_serving(service)
    shown = list(islice((e for e in serving if vpc not in e.vpc.keys), 2))
    elsewhere = [f"{e.address} is in VPC {', '.join(e.vpc.keys) or 'unknown'}" for e in shown]
    more = len(serving) - len(net.endpoints_for(vpc, service)) - len(shown)
    if more > 0:
        elsewhere.append(f"{more} more in other VPCs")
    detail = f" ({'; '.join(not_counting + elsewhere)})" if not_counting or elsewhere else ""
    return Result.fail(
        info.cluster, f"no {service} VPC endpoint in VPC {vpc}{detail}: needed by "
                      f"{', '.join(requirement.required_by)} for {why}",
        remediation=_endpoint_block(net, info, service, endpoints),
        data=data, identity=identity, evidence=evidence)


def _endpoint_block(net: Network, info: ClusterNetwork, service: str,
                    endpoints: list[Endpoint]) -> str:
    """The complete `aws_vpc_endpoint` for a missing service, wired by reference."""
    name = service.replace(".", "_").replace("-", "_")
    vpc = hcl_reference(net, info.vpc or "vpc-REPLACE_ME")
    service_name: Value = (
        Literal(f"com.amazonaws.{info.region}.{service}") if isinstance(info.region, str)
        else Template(("com.amazonaws.", Reference("data.aws_region.current.name"), f".{service}")))
    subnets = list(info.node_subnets())
    if service == "s3":
        tables: list[str] = []
        for subnet in subnets:
            tables.extend(net.effective_route_table(subnet).tables)
        tables = list(dict.fromkeys(tables))
        return render(block("resource", "aws_vpc_endpoint", name, body=attributes(
            vpc_id=vpc, service_name=service_name, vpc_endpoint_type="Gateway",
            route_table_ids=hcl_id_list(net, tables) if tables else ListOf(()))))
    group = _endpoint_security_group(endpoints)
    extra: tuple[Item, ...] = ()
    if group is None:
        cidr = (hcl_reference(net, info.vpc, "cidr_block") if info.vpc
                and net.graph.get(info.vpc) is not None else Literal("10.0.0.0/16"))
        extra = (block("resource", "aws_security_group", "vpc_endpoints", body=(
            *attributes(name_prefix="vpc-endpoints-", vpc_id=vpc),
            block("ingress", body=attributes(
                description="HTTPS from the nodes", from_port=443, to_port=443, protocol="tcp",
                cidr_blocks=ListOf((cidr,)))),
        )), BLANK)
        group_ref: Value = Reference("aws_security_group.vpc_endpoints.id")
    else:
        group_ref = hcl_reference(net, group)
    chosen = one_subnet_per_zone(net, subnets)
    return render(*extra, block("resource", "aws_vpc_endpoint", name, body=attributes(
        vpc_id=vpc, service_name=service_name, vpc_endpoint_type="Interface",
        private_dns_enabled=True, subnet_ids=hcl_id_list(net, chosen) if chosen else ListOf(()),
        security_group_ids=ListOf((group_ref,)))))


def _endpoint_security_group(endpoints: list[Endpoint]) -> str | None:
    """The security group the VPC's interface endpoints already share, if any."""
    counts: Counter[str] = Counter()
    for endpoint in endpoints:
        if endpoint.is_interface and not endpoint.uses_default_security_group:
            counts.update(k for k in endpoint.security_groups.keys if " (" not in k)
    return counts.most_common(1)[0][0] if counts else None


POLICIES = (missing_vpc_endpoint,)
