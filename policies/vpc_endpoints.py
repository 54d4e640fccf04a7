"""VPC endpoints: every service the cluster needs, in its region, with private DNS, in every AZ."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from tfcheck.facts.centralised import Centralised, Served, centralised
from tfcheck.model import Severity, Unknown
from tfcheck.network import (
    ZONE_ID_SUFFIX,
    ClusterNetwork,
    Endpoint,
    Network,
    Requirement,
    about,
    cluster_vpcs,
    endpoint_counts_for,
    hcl_id_list,
    hcl_reference,
    network,
    one_subnet_per_zone,
    polished,
    required_services,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain, managed_elsewhere

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
INTERFACE_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html"
)
GATEWAY_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"
)


@policy(
    id="PC301",
    slug="missing-vpc-endpoint",
    severity=Severity.HIGH,
    title="Every AWS service the cluster needs has a VPC endpoint",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
@polished
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
      for_each = toset(["ec2", "ecr.api", "ecr.dkr"])

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
    why = "; ".join(requirement.reasons)
    candidates = net.endpoints_for(vpc, service)
    not_counting = []
    undecided = []
    for endpoint in candidates:
        problem = endpoint_counts_for(endpoint, service, info.region)
        if problem is None:
            return Result.passed(
                info.cluster, f"{service} is served by {endpoint.address} in VPC {vpc}",
                data=data, evidence=(info.address, vpc, endpoint.address))
        if isinstance(endpoint.type, Unknown):
            undecided.append(problem)
        else:
            not_counting.append(problem)
    for served in central:
        if served.counts is True:
            return Result.passed(
                info.cluster, f"{service} is served by the centralised endpoint "
                              f"{served.why}; Route 53 zone {served.zone} is associated "
                              f"with VPC {vpc}", data=data,
                evidence=(info.address, vpc, *served.evidence))
    not_counting.extend(s.why for s in central if s.counts is False)
    undecided.extend(s.why for s in central if s.counts is None)
    evidence = (*info.vpc_evidence, *(e.address for e in candidates),
                *(e for s in central for e in s.evidence))
    if undecided or unreadable:
        reasons = undecided + [f"the service_name of {e.address} is not known "
                               f"({_explain(e.service_name, net)})" for e in unreadable]
        return Result.unknown(
            info.cluster, f"cannot tell whether VPC {vpc} has a {service} endpoint (needed "
                          f"for {why}): {'; '.join(reasons)}", data=data, evidence=evidence)
    vpc_record = net.vpc(vpc)
    if (vpc_record is None or not vpc_record.managed) and not endpoints:
        # a VPC managed elsewhere, and no endpoint of it here: they are managed elsewhere
        # too, or missing -- the input cannot tell. Where the input does manage some of
        # its endpoints, it is where they live, and a missing one is missing.
        return Result.unknown(
            info.cluster, f"no {service} VPC endpoint for VPC {vpc} in the input (needed "
                          f"for {why}); the VPC is not managed here and neither is any of "
                          f"its endpoints: {managed_elsewhere(f'VPC {vpc}')}",
            data=data, evidence=evidence,
            remediation=_endpoint_block(net, info, service, endpoints))
    elsewhere = [f"{e.address} is in VPC {', '.join(e.vpc.keys) or 'unknown'}"
                 for e in net.endpoints if e.service == service and vpc not in e.vpc.keys]
    if len(elsewhere) > 2:
        elsewhere = [*elsewhere[:2], f"{len(elsewhere) - 2} more in other VPCs"]
    detail = f" ({'; '.join(not_counting + elsewhere)})" if not_counting or elsewhere else ""
    return Result.fail(
        info.cluster, f"no {service} VPC endpoint in VPC {vpc}{detail}: needed by "
                      f"{', '.join(requirement.required_by)} for {why}",
        remediation=_endpoint_block(net, info, service, endpoints),
        data=data, evidence=evidence)


def _endpoint_block(net: Network, info: ClusterNetwork, service: str,
                    endpoints: list[Endpoint]) -> str:
    """The complete `aws_vpc_endpoint` for a missing service, wired by reference."""
    name = service.replace(".", "_").replace("-", "_")
    vpc = hcl_reference(net, info.vpc or "vpc-REPLACE_ME")
    region = info.region if isinstance(info.region, str) else "${data.aws_region.current.name}"
    service_name = f"com.amazonaws.{region}.{service}"
    subnets = list(info.node_subnets())
    if service == "s3":
        tables: list[str] = []
        for subnet in subnets:
            tables.extend(net.effective_route_table(subnet).tables)
        tables = list(dict.fromkeys(tables))
        return (
            f'resource "aws_vpc_endpoint" "{name}" {{\n'
            f"  vpc_id            = {vpc}\n"
            f'  service_name      = "{service_name}"\n'
            '  vpc_endpoint_type = "Gateway"\n'
            f"  route_table_ids   = {hcl_id_list(net, tables) if tables else '[]'}\n"
            "}"
        )
    group = _endpoint_security_group(endpoints)
    extra = ""
    if group is None:
        cidr = (hcl_reference(net, info.vpc, "cidr_block") if info.vpc
                and net.graph.get(info.vpc) is not None else '"10.0.0.0/16"  # the VPC CIDR')
        extra = (
            'resource "aws_security_group" "vpc_endpoints" {\n'
            '  name_prefix = "vpc-endpoints-"\n'
            f"  vpc_id      = {vpc}\n"
            "  ingress {\n"
            '    description = "HTTPS from the nodes"\n'
            "    from_port   = 443\n"
            "    to_port     = 443\n"
            '    protocol    = "tcp"\n'
            f"    cidr_blocks = [{cidr.split('  #')[0]}]\n"
            "  }\n"
            "}\n\n"
        )
        group_ref = "aws_security_group.vpc_endpoints.id"
    else:
        group_ref = hcl_reference(net, group).split("  #")[0]
    chosen = one_subnet_per_zone(net, subnets)
    return extra + (
        f'resource "aws_vpc_endpoint" "{name}" {{\n'
        f"  vpc_id              = {vpc}\n"
        f'  service_name        = "{service_name}"\n'
        '  vpc_endpoint_type   = "Interface"\n'
        "  private_dns_enabled = true\n"
        f"  subnet_ids          = {hcl_id_list(net, chosen) if chosen else '[]'}\n"
        f"  security_group_ids  = [{group_ref}]\n"
        "}"
    )


def _endpoint_security_group(endpoints: list[Endpoint]) -> str | None:
    """The security group the VPC's interface endpoints already share, if any."""
    counts: Counter[str] = Counter()
    for endpoint in endpoints:
        if endpoint.is_interface and not endpoint.uses_default_security_group:
            counts.update(k for k in endpoint.security_groups.keys if " (" not in k)
    return counts.most_common(1)[0][0] if counts else None


@policy(
    id="PC302",
    slug="endpoint-region",
    severity=Severity.HIGH,
    title="VPC endpoints are for the cluster's region",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
@polished
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
      service_name        = "com.amazonaws.${data.aws_region.current.name}.sts"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
    }

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
                               f"known: {_explain(endpoint.region, net)}",
            evidence=evidence, attribute="service_name")
    if len(regions) != 1:
        why = ("the clusters' regions differ" if regions else
               "the region of the cluster is not known (no provider region in the input)")
        return Result.unknown(
            endpoint.resource, f"cannot compare {endpoint.address}'s region {endpoint.region} "
                               f"with the cluster's: {why}", evidence=evidence)
    region = next(iter(regions))
    data = {"endpoint_region": endpoint.region, "cluster_region": region}
    if endpoint.region != region:
        return Result.fail(
            endpoint.resource, f"{endpoint.address} is for region {endpoint.region} "
                               f"({endpoint.service_name}), but {users} is in {region}: it "
                               f"serves none of the cluster's calls",
            remediation=(f"# in {endpoint.address}\nservice_name = "
                         f"\"com.amazonaws.{region}.{endpoint.service}\""),
            evidence=evidence, data=data, attribute="service_name")
    return Result.passed(endpoint.resource, f"{endpoint.address} is in the cluster's region "
                                            f"{region}", evidence=evidence, data=data)


@policy(
    id="PC303",
    slug="endpoint-private-dns",
    severity=Severity.HIGH,
    title="Interface endpoints have private DNS enabled",
    docs_url=INTERFACE_ENDPOINTS_GUIDE,
)
@polished
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
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
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
                                   "known before apply", evidence=evidence,
                attribute="vpc_endpoint_type")
            continue
        if not interface:
            continue
        dns = endpoint.private_dns
        if isinstance(dns, Unknown):
            yield Result.unknown(
                endpoint.resource, f"private_dns_enabled of {endpoint.address} is not "
                                   f"known ({_explain(dns, net)})",
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
                remediation=f"# in {endpoint.address}\nprivate_dns_enabled = true",
                evidence=evidence, attribute="private_dns_enabled")


@policy(
    id="PC304",
    slug="endpoint-subnet-coverage",
    severity=Severity.MEDIUM,
    title="Required interface endpoints reach every node Availability Zone",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
@polished
def endpoint_subnet_coverage(ctx: ScanContext) -> Iterator[Result]:
    """Each required interface endpoint has a network interface in every AZ with nodes.

    ## Why
    The EKS user guide: "Any self-managed nodes must be deployed to subnets that have
    the VPC interface endpoints that you require." An interface endpoint has one network
    interface per subnet in `subnet_ids` (or `aws_vpc_endpoint_subnet_association`);
    nodes in an Availability Zone without one depend on another zone — and an endpoint
    in no subnet at all has no address to call.

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
      subnet_ids          = aws_subnet.private[*].id
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
        unknown_have.append(f"subnet_ids ({_explain(endpoint.subnets.unknown, net)})")
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
            remediation=(f"# in {endpoint.address}: one subnet per node Availability Zone\n"
                         f"subnet_ids = {hcl_id_list(net, [*endpoint.subnets.keys, *subnets])}"),
            evidence=(*evidence, *(needed[z][0] for z in missing)), data=data,
            attribute="subnet_ids")
    if missing or unknown_needed:
        reasons = []
        if unknown_have:
            reasons.append(f"the Availability Zones of its subnets {', '.join(unknown_have)} "
                           f"are not known{_zone_why(net, unknown_have)}")
        if unknown_needed:
            reasons.append(f"the Availability Zones of node subnets "
                           f"{', '.join(unknown_needed)} are not known"
                           f"{_zone_why(net, unknown_needed)}")
        return Result.unknown(
            endpoint.resource, f"cannot tell whether {endpoint.address} reaches every node "
                               f"Availability Zone: {'; '.join(reasons)}",
            evidence=evidence, data=data)
    zones = f" ({', '.join(sorted(needed))})" if needed else ""
    return Result.passed(
        endpoint.resource, f"{endpoint.address} has a network interface in every node "
                           f"Availability Zone{zones}", evidence=evidence, data=data)


@policy(
    id="PC305",
    slug="s3-gateway-route-tables",
    severity=Severity.HIGH,
    title="The S3 gateway endpoint is on every node subnet's route table",
    docs_url=GATEWAY_ENDPOINTS_GUIDE,
)
@polished
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
      route_table_ids   = aws_route_table.private[*].id
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
    for subject in subjects:
        if effective.unknown is not None:
            yield Result.unknown(
                subject, f"cannot tell the route table of node subnet {subnet_key}: "
                         f"{effective.unknown}", data=data)
            continue
        covered = [t for t in effective.tables if t in tables]
        chain = (subnet_key, *effective.via, *effective.tables, *(e.address for e in gateways))
        data = {"subnet": subnet_key, "route_table": ", ".join(effective.tables)}
        if covered and len(covered) == len(effective.tables):
            yield Result.passed(subject, f"node subnet {subnet_key} uses {covered[0]}, which "
                                         f"{names} is associated with",
                                evidence=chain, data=data)
        elif unknown is not None:
            yield Result.unknown(
                subject, f"cannot tell whether {names} is on the route table of node subnet "
                         f"{subnet_key}: route_table_ids is not known "
                         f"({_explain(unknown, net)})",
                evidence=chain, data=data)
        elif missing_tables := [t for t in effective.tables
                                if not net.route_table(t).complete and t not in covered]:
            yield Result.unknown(
                subject, f"cannot tell whether {names} is on the route table of node subnet "
                         f"{subnet_key}: {', '.join(missing_tables)} is not in the input",
                evidence=chain, data=data)
        elif covered:
            yield Result.unknown(
                subject, f"node subnet {subnet_key} may use {', '.join(effective.tables)}; "
                         f"only {', '.join(covered)} has the S3 gateway endpoint",
                evidence=chain, data=data)
        else:
            table = effective.tables[0]
            main = " (the VPC's main route table)" if effective.main else ""
            yield Result.fail(
                subject, f"node subnet {subnet_key} uses {table}{main}, which the S3 gateway "
                         f"endpoint {names} is not associated with: nodes there cannot pull "
                         f"image layers from ECR",
                remediation=(
                    'resource "aws_vpc_endpoint_route_table_association" "s3_'
                    f'{_slug(table)}" {{\n'
                    f"  vpc_endpoint_id = {hcl_reference(net, gateways[0].address)}\n"
                    f"  route_table_id  = {hcl_reference(net, table)}\n"
                    "}"),
                evidence=chain, data=data)


def _slug(key: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in key.split(".", 1)[-1])
    return "_".join(part for part in cleaned.split("_") if part)


def _explain(value: Unknown | str | None, net: Network) -> str:
    """The missing value named, and what decides it (`tfcheck.unknowns.explain`)."""
    return explain(value, net.graph.kind) if isinstance(value, Unknown) else str(value)


def _zone_why(net: Network, keys: list[str]) -> str:
    """Why the first of these subnets' Availability Zones is not known, if the input says."""
    for key in keys:
        zone = net.subnets[key].availability_zone if key in net.subnets else None
        if isinstance(zone, Unknown):
            return f" ({explain(zone, net.graph.kind)})"
    return ""


POLICIES = (
    missing_vpc_endpoint,
    endpoint_region,
    endpoint_private_dns,
    endpoint_subnet_coverage,
    s3_gateway_route_tables,
)
