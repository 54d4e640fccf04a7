"""PC203 vpc-dns: the cluster VPC has DNS support, DNS hostnames and the Amazon resolver."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from tfcheck.facts import hcl_snippets as hcl
from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.network import (
    ClusterNetwork,
    Network,
    about,
    cluster_vpcs,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN, explain, managed_elsewhere, read_from_aws

VPC_DNS_GUIDE = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html"

# The Route 53 Resolver under its other names (besides AmazonProvidedDNS).
_RESOLVER_LINK_LOCAL = (ipaddress.ip_address("169.254.169.253"),
                        ipaddress.ip_address("fd00:ec2::253"))


@policy(
    id="PC203",
    slug="vpc-dns",
    severity=Severity.HIGH,
    title="Cluster VPC has DNS support, DNS hostnames and the Amazon resolver",
    docs_url=VPC_DNS_GUIDE,
)
def vpc_dns(ctx: ScanContext) -> Iterator[Result]:
    """The cluster VPC resolves private hosted zones: DNS support and hostnames on, Amazon DNS.

    ## Why
    The EKS user guide: "Endpoint private access is required for nodes to register with
    the cluster endpoint", and "Your cluster's VPC subnets must have a VPC interface
    endpoint for any AWS services that your Pods need access to". Both work through
    private DNS: the API server's private endpoint and every interface endpoint's
    private DNS name live in Route 53 private hosted zones, which only the Amazon
    resolver answers, and only in a VPC with `enable_dns_support` and
    `enable_dns_hostnames` on. The provider default for `enable_dns_hostnames` is false.
    A DHCP options set whose `domain_name_servers` leave out `AmazonProvidedDNS` (or its
    other names: the VPC base address + 2, `169.254.169.253`) sends nodes to resolvers
    that do not know those zones.

    ## Bad
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block           = "10.0.0.0/16"
      # enable_dns_hostnames defaults to false
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
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc" "main" {
      enable_dns_support   = true
      enable_dns_hostnames = true
    }
    ```

    ## Remediation
    Set `enable_dns_support = true` and `enable_dns_hostnames = true` on the VPC, and keep
    `AmazonProvidedDNS` in the `domain_name_servers` of an associated DHCP options set.
    """
    net = network(ctx)
    for info in net.clusters:
        if info.vpc is None:
            yield Result.unknown(
                info.cluster, f"cannot tell the VPC of {info.address}: {info.vpc_unknown}",
                evidence=(info.address,))
    dhcp = _dhcp_associations(ctx, net)
    for vpc_key, clusters in sorted(cluster_vpcs(net).items()):
        vpc = net.vpc(vpc_key)
        if vpc is None or vpc.resource is None:
            for info in clusters:
                yield Result.unknown(
                    info.cluster, f"VPC {vpc_key} of {info.address} is not in the input: "
                                  f"cannot tell whether it has DNS support and DNS hostnames "
                                  f"on; {managed_elsewhere(vpc_key)}",
                    evidence=info.vpc_evidence, data={"vpc": vpc_key})
            continue
        yield about(_vpc_dns_verdict(net, vpc.resource, clusters, dhcp.get(vpc_key, [])),
                    clusters)


def _dhcp_associations(ctx: ScanContext, net: Network
                       ) -> dict[str, list[tuple[Resource, list[Resource], str | None]]]:
    """VPC key -> (association, options resources, literal options ID) per association."""
    found: dict[str, list[tuple[Resource, list[Resource], str | None]]] = {}
    vpc_types = ("aws_vpc", "aws_default_vpc")
    for association in ctx.graph.managed("aws_vpc_dhcp_options_association"):
        vpcs = [r.address for r in ctx.graph.references(association, "vpc_id", *vpc_types)]
        if not vpcs:
            literal = reveal(association.get("vpc_id"))
            if isinstance(literal, str):
                vpcs = [v.key for v in net.vpcs.values()
                        if v.key == literal or (v.resource is not None
                                                and reveal(v.resource.values.get("id")) == literal)]
        options = ctx.graph.references(association, "dhcp_options_id", "aws_vpc_dhcp_options",
                                       "aws_default_vpc_dhcp_options")
        literal_id = reveal(association.get("dhcp_options_id"))
        literal = literal_id if isinstance(literal_id, str) and not options else None
        for vpc in vpcs:
            found.setdefault(vpc, []).append((association, options, literal))
    return found


def _vpc_dns_verdict(net: Network, vpc: Resource, clusters: list[ClusterNetwork],
                     associations: list[tuple[Resource, list[Resource], str | None]]
                     ) -> Result:
    kind = net.graph.kind
    evidence = (*clusters[0].vpc_evidence,)
    problems: list[str] = []
    unknowns: list[str] = []
    remediation: list[hcl.Item] = []
    undecided: dict[str, list[str]] = {}  # why -> attributes
    before_apply = False  # a value a plan holds, and nothing here says what decides it
    for attribute in ("enable_dns_support", "enable_dns_hostnames"):
        value = vpc.get(attribute)
        if value is None and vpc.is_data:
            value = read_from_aws(vpc, attribute)  # no provider default for a data source
        if isinstance(value, Unknown):
            undecided.setdefault(explain(value, kind), []).append(attribute)
        elif value is not True:
            how = ("false" if vpc.is_data or vpc.sets(attribute)
                   else "not set (provider default false)")
            problems.append(f"{attribute} is {how}")
            remediation.append(hcl.Attribute(attribute, hcl.Literal(True)))
    for why, attributes in undecided.items():
        verb = "is" if len(attributes) == 1 else "are"
        unknowns.append(f"{' and '.join(attributes)} {verb} not known ({why})")
    for association, options, literal in associations:
        evidence = (*evidence, association.address, *(o.address for o in options))
        if literal is not None:
            if literal == "default":
                continue  # the AWS default options set uses AmazonProvidedDNS
            unknowns.append(f"DHCP options set {literal} ({association.address}) is not in "
                            "the input, so its domain_name_servers cannot be read")
            continue
        if not options:
            unknowns.append(f"dhcp_options_id of {association.address} is not known before "
                            "apply")
            before_apply = True
            continue
        for option in options:
            servers = option.get("domain_name_servers")
            servers = reveal(servers)
            if isinstance(servers, Unknown) or (
                isinstance(servers, list) and any(isinstance(reveal(s), Unknown) for s in servers)
            ):
                unknowns.append(f"domain_name_servers of {option.address} is not known before "
                                "apply")
                before_apply = True
                continue
            listed = [str(reveal(s)) for s in servers or []]
            if not any(_is_amazon_dns(s, net.vpc_cidrs(vpc.address)) for s in listed):
                shown = ", ".join(listed) if listed else "no servers"
                problems.append(f"the associated DHCP options set {option.address} lists "
                                f"{shown} as domain_name_servers, without AmazonProvidedDNS")
                remediation.extend((hcl.Comment(f"in {option.address}"), hcl.Attribute(
                    "domain_name_servers", hcl.ListOf((hcl.Literal("AmazonProvidedDNS"),)))))
    users = ", ".join(c.address for c in clusters)
    if problems:
        return Result.fail(
            vpc, f"VPC {vpc.address} of {users}: {'; '.join(problems)}: private endpoint "
                 f"and interface endpoint names do not resolve",
            remediation=hcl.render(*remediation), evidence=evidence,
            attribute="enable_dns_hostnames" if any("enable_dns_hostnames" in p
                                                    for p in problems) else None)
    if unknowns:
        return Result.unknown(vpc, f"cannot tell whether VPC {vpc.address} resolves private "
                                   f"DNS names: {'; '.join(unknowns)}", evidence=evidence,
                              decided_by=A_PLAN if before_apply and not undecided else "")
    dhcp = " and its DHCP options use AmazonProvidedDNS" if associations else ""
    return Result.passed(vpc, f"VPC {vpc.address} has DNS support and DNS hostnames on{dhcp}",
                         evidence=evidence)


def _is_amazon_dns(server: str, cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
                   ) -> bool:
    if server.strip().lower() == "amazonprovideddns":
        return True
    try:
        address = ipaddress.ip_address(server.strip())
    except ValueError:
        return False
    if address in _RESOLVER_LINK_LOCAL:
        return True
    # the VPC resolver sits at the VPC's primary IPv4 network address plus two
    return any(c.version == 4 and address == c.network_address + 2 for c in cidrs[:1])



POLICIES = (vpc_dns,)
