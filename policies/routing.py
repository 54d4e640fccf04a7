"""Routing and addressing of node subnets: no internet path, no public IPs, VPC DNS on."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from tfcheck.facts import hcl_snippets as hcl
from tfcheck.facts.transit import FOLLOWED, Onward, Transit, transit
from tfcheck.facts.wording import node_subnet
from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.network import (
    FARGATE_PROFILE,
    NAT_GATEWAY,
    ClusterNetwork,
    EffectiveRouteTable,
    Network,
    NodeSource,
    Route,
    Subnet,
    about,
    cluster_vpcs,
    internet_verdict,
    iter_node_subnets,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN, explain, managed_elsewhere, read_from_aws

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
VPC_DNS_GUIDE = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html"

# The Route 53 Resolver under its other names (besides AmazonProvidedDNS).
_RESOLVER_LINK_LOCAL = (ipaddress.ip_address("169.254.169.253"),
                        ipaddress.ip_address("fd00:ec2::253"))


@policy(
    id="PC201",
    slug="node-subnet-internet-route",
    severity=Severity.HIGH,
    title="Node subnets have no default route to the internet",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def node_subnet_internet_route(ctx: ScanContext) -> Iterator[Result]:
    """A private cluster's nodes have no path to the internet: no default route to a NAT or IGW.

    ## Why
    The EKS user guide describes a private cluster as one "without outbound internet
    access": "This topic describes how to deploy an Amazon EKS private cluster without
    outbound internet access." Nodes then reach AWS services only through VPC
    endpoints. A node subnet whose effective route table (its explicit
    `aws_route_table_association`, else the VPC's main route table) sends `0.0.0.0/0` or
    `::/0` to a NAT gateway, an internet gateway, an egress-only internet gateway, or an
    instance / network interface acting as NAT gives the nodes that path — and hides
    missing endpoints until the day the route is removed. A NAT gateway with
    `connectivity_type = "private"` does not reach the internet and passes. A default
    route to a transit gateway or a Gateway Load Balancer endpoint (centralised egress
    or inspection) is followed where the input holds the path (the transit gateway's
    route tables and attachments, the next VPC's route tables): a NAT or internet
    gateway at its end fails, a path that provably ends passes, anything else is
    `unknown` naming the hop. A VPC peering connection never forwards to the peer's
    gateways (no edge-to-edge routing) and passes.

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

    resource "aws_route" "nat" {
      route_table_id         = aws_route_table.private.id
      destination_cidr_block = "0.0.0.0/0"
      nat_gateway_id         = aws_nat_gateway.this.id
    }

    resource "aws_nat_gateway" "this" {
      subnet_id = aws_subnet.public.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private.id
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

    # Only the implicit local route: nodes reach AWS through VPC endpoints.
    resource "aws_route_table" "private" {
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private.id
    }
    ```

    ## Bad: transit gateway egress
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block = "10.0.0.0/16"
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

    # Everything else goes to the transit gateway ...
    resource "aws_route" "default" {
      route_table_id         = aws_route_table.private.id
      destination_cidr_block = "0.0.0.0/0"
      transit_gateway_id     = aws_ec2_transit_gateway.tg.id
    }

    resource "aws_ec2_transit_gateway" "tg" {}

    resource "aws_ec2_transit_gateway_vpc_attachment" "spoke" {
      transit_gateway_id = aws_ec2_transit_gateway.tg.id
      vpc_id             = aws_vpc.main.id
      subnet_ids         = aws_subnet.private[*].id
    }

    # ... whose default route table sends it to the central VPC's attachment
    resource "aws_ec2_transit_gateway_route" "default" {
      transit_gateway_route_table_id = aws_ec2_transit_gateway.tg.association_default_route_table_id
      destination_cidr_block         = "0.0.0.0/0"
      transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.central.id
    }

    resource "aws_vpc" "central" {
      cidr_block = "10.200.0.0/16"
    }

    resource "aws_subnet" "central" {
      vpc_id            = aws_vpc.central.id
      cidr_block = "10.200.0.0/24"
    }

    resource "aws_ec2_transit_gateway_vpc_attachment" "central" {
      transit_gateway_id = aws_ec2_transit_gateway.tg.id
      vpc_id             = aws_vpc.central.id
      subnet_ids         = [aws_subnet.central.id]
    }

    resource "aws_route_table" "central" {
      vpc_id = aws_vpc.central.id
    }

    resource "aws_route_table_association" "central" {
      subnet_id      = aws_subnet.central.id
      route_table_id = aws_route_table.central.id
    }

    # the central VPC is an egress VPC: its attachment subnet routes on to a NAT gateway
    resource "aws_route" "central_default" {
      route_table_id         = aws_route_table.central.id
      destination_cidr_block = "0.0.0.0/0"
      nat_gateway_id         = aws_nat_gateway.egress.id
    }

    resource "aws_subnet" "central_public" {
      vpc_id            = aws_vpc.central.id
      cidr_block = "10.200.1.0/24"
    }

    resource "aws_nat_gateway" "egress" {
      subnet_id     = aws_subnet.central_public.id
    }
    ```

    ## Good: transit gateway egress
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block = "10.0.0.0/16"
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

    # Everything else goes to the transit gateway ...
    resource "aws_route" "default" {
      route_table_id         = aws_route_table.private.id
      destination_cidr_block = "0.0.0.0/0"
      transit_gateway_id     = aws_ec2_transit_gateway.tg.id
    }

    resource "aws_ec2_transit_gateway" "tg" {}

    resource "aws_ec2_transit_gateway_vpc_attachment" "spoke" {
      transit_gateway_id = aws_ec2_transit_gateway.tg.id
      vpc_id             = aws_vpc.main.id
      subnet_ids         = aws_subnet.private[*].id
    }

    # ... whose default route table sends it to the central VPC's attachment
    resource "aws_ec2_transit_gateway_route" "default" {
      transit_gateway_route_table_id = aws_ec2_transit_gateway.tg.association_default_route_table_id
      destination_cidr_block         = "0.0.0.0/0"
      transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.central.id
    }

    resource "aws_vpc" "central" {
      cidr_block = "10.200.0.0/16"
    }

    resource "aws_subnet" "central" {
      vpc_id            = aws_vpc.central.id
      cidr_block = "10.200.0.0/24"
    }

    resource "aws_ec2_transit_gateway_vpc_attachment" "central" {
      transit_gateway_id = aws_ec2_transit_gateway.tg.id
      vpc_id             = aws_vpc.central.id
      subnet_ids         = [aws_subnet.central.id]
    }

    # an inspection VPC with no NAT, internet gateway or default route: the path ends here
    resource "aws_route_table" "central" {
      vpc_id = aws_vpc.central.id
    }

    resource "aws_route_table_association" "central" {
      subnet_id      = aws_subnet.central.id
      route_table_id = aws_route_table.central.id
    }
    ```

    ## Remediation
    Remove the default route (the `aws_route` resource or the inline `route` block) from
    the node subnets' route table, or associate the node subnets with a route table
    without one; add the VPC endpoints the cluster needs (PC301).
    """
    net = network(ctx)
    paths = transit(ctx)
    for subnet_key, owners in iter_node_subnets(net):
        subnet = net.subnet(subnet_key)
        effective = net.effective_route_table(subnet_key)
        for subject in _subjects(subnet, owners):
            yield about(_route_verdict(net, subnet, effective, subject, paths), owners)
    yield from _unknown_node_subnets(net, "whether they route to the internet")


def _unknown_node_subnets(net: Network, what: str, *, fargate: bool = True
                          ) -> Iterator[Result]:
    """Node groups whose subnets the input cannot give: unknown, on the node group."""
    for info in net.clusters:
        for source, unknown in info.node_subnets_unknown():
            if source.kind == FARGATE_PROFILE and not fargate:
                continue
            yield about(Result.unknown(
                source.resource, f"the subnets of {source.kind} {source.address} are not "
                                 f"known ({explain(unknown, net.graph.kind)}): cannot tell "
                                 f"{what}",
                evidence=(info.address, source.address)), [info])


def _subjects(subnet: Subnet, owners: list[ClusterNetwork]) -> list[Resource]:
    """A subnet in the input is its own subject; one known only by ID reports on its clusters."""
    if subnet.resource is not None:
        return [subnet.resource]
    return [info.cluster for info in owners]


def _route_verdict(net: Network, subnet: Subnet, effective: EffectiveRouteTable,
                   subject: Resource, transit: Transit) -> Result:
    data: dict[str, object] = {"subnet": subnet.key}
    identity = ("subnet", subnet.key)
    if effective.unknown is not None:
        return Result.unknown(
            subject, f"cannot tell the route table of {node_subnet(subnet)}: "
                     f"{effective.unknown}",
            data=data, identity=identity, decided_by=A_PLAN if subnet.resource is not None
            and not subnet.resource.is_data else "",  # else managed elsewhere: none decides
            evidence=(subject.address, subnet.key) if subject.address != subnet.key
            else (subnet.key,))
    internet: list[tuple[str, Route]] = []
    undecided: list[str] = []
    elsewhere: list[tuple[str, Route]] = []  # default routes that do not reach the internet
    onward: dict[int, Onward] = {}  # id(route) -> where a followed default route leads
    clean: list[str] = []
    for table_key in effective.tables:
        table = net.route_table(table_key)
        vpcs = table.vpc.keys or subnet.vpc.keys
        found_internet = False
        for route in table.routes:
            default = route.is_default
            verdict = internet_verdict(route)
            if default is True and route.kind in FOLLOWED:
                # transit gateway, peering, Gateway Load Balancer endpoint: follow it
                followed = transit.follow(route, vpcs[0] if len(vpcs) == 1 else None)
                onward[id(route)] = followed
                verdict = followed.internet
                if verdict is None:
                    undecided.append(f"{route.hop} in {table_key} goes to {route.kind} "
                                     f"{route.target_label}: {followed.why}")
                    continue
            if default is False or verdict is False:
                if default:
                    elsewhere.append((table_key, route))
                continue
            if default is True and verdict is True:
                internet.append((table_key, route))
                found_internet = True
            else:
                what = ("its destination" if default is None else
                        f"connectivity_type of {route.target_label}"
                        if route.kind == NAT_GATEWAY else f"the target of {route.hop}")
                missing = (route.destination if isinstance(route.destination, Unknown)
                           else route.connectivity if isinstance(route.connectivity, Unknown)
                           else None)
                why = "" if missing is None else f" ({explain(missing, net.graph.kind)})"
                undecided.append(f"{route.hop} in {table_key}: {what} is not known{why}")
        if table.unknown is not None:
            undecided.append(f"the inline routes of {table_key} are not known "
                             f"({explain(table.unknown, net.graph.kind)})")
        elif not table.complete and not found_internet:
            undecided.append(f"{table_key} is not in the input, so its routes cannot be read")
        if not found_internet:
            clean.append(table_key)
    main = " (the VPC's main route table)" if effective.main else ""
    if internet and (not clean or len(effective.tables) == 1):
        table_key, route = internet[0]
        data.update({"route_table": table_key, "destination": route.destination,
                     "target": route.target_label, "target_kind": route.kind})
        # an association the plan links only by a guess: say so in the chain
        guessed = tuple(net.noted(v) for v in effective.via if v in net.guesses)
        chain: tuple[str, ...] = (subnet.key, *guessed, table_key, route.hop,
                                  route.target_label)
        beyond = ""
        if id(route) in onward:
            chain = (*chain, *onward[id(route)].path)
            beyond = f", and on: {onward[id(route)].why}"
        if subject.address != subnet.key:
            chain = (subject.address, *chain)
        return Result.fail(
            subject,
            f"{node_subnet(subnet)} routes {route.destination} to {route.kind} "
            f"{route.target_label} through {table_key}{main} ({route.hop}){beyond}: nodes "
            f"have an internet path",
            remediation=_route_remediation(subnet, table_key, route),
            evidence=chain, data=data, identity=identity,
        )
    if internet or undecided:
        reasons = undecided or [
            f"it may use {', '.join(effective.tables)} and only some route to the internet"
        ]
        return Result.unknown(
            subject, f"cannot tell whether {node_subnet(subnet)} routes to the internet: "
                     f"{'; '.join(reasons)}",
            data=data, identity=identity,
            evidence=(subnet.key, *map(net.noted, effective.via), *effective.tables))
    tables = ", ".join(effective.tables)
    data["route_table"] = tables
    note = ""
    if elsewhere:
        table_key, route = elsewhere[0]
        if route.kind == NAT_GATEWAY:
            note = (f"; its default route {route.hop} goes to the private NAT gateway "
                    f"{route.target_label} (connectivity_type = \"private\"), not to the "
                    "internet")
        elif id(route) in onward:
            note = (f"; its default route {route.hop} goes to {route.kind} "
                    f"{route.target_label}, and on: {onward[id(route)].why}")
        else:
            note = (f"; its default route {route.hop} goes to {route.kind} "
                    f"{route.target_label}, not to the internet directly")
    return Result.passed(
        subject, f"{node_subnet(subnet)} uses {tables}{main}, which has no default route "
                 f"to the internet{note}",
        data=data, identity=identity,
        evidence=(subnet.key, *map(net.noted, effective.via), *effective.tables))


def _route_remediation(subnet: Subnet, table_key: str, route: Route) -> str:
    instead = hcl.Comment(f"or give {subnet.key} a route table without a default route:")
    if route.inline:
        return hcl.render(
            hcl.Comment(f"In {route.declared_by.address}, delete the inline route"),
            hcl.block("route", body=(hcl.Attribute(
                "cidr_block", hcl.Literal(str(route.destination)),
                comment=f"-> {route.target_label}"),)),
            instead, _association_block(subnet))
    return hcl.render(
        hcl.Comment(f"Delete {route.declared_by.address} ({route.destination} -> "
                    f"{route.target_label}) from {table_key},"),
        instead, _association_block(subnet))


def _association_block(subnet: Subnet) -> hcl.Block:
    subnet_ref = (hcl.Reference(f"{subnet.key}.id") if subnet.resource is not None
                  else hcl.Literal(subnet.key))
    return hcl.resource("aws_route_table_association", "nodes_private", (
        hcl.Attribute("subnet_id", subnet_ref),
        hcl.Attribute("route_table_id", hcl.Reference("aws_route_table.private.id",
                                                      "a table with only the local route"))))


@policy(
    id="PC202",
    slug="node-public-ip",
    severity=Severity.HIGH,
    title="Nodes get no public IP address",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def node_public_ip(ctx: ScanContext) -> Iterator[Result]:
    """Nodes of a private cluster get no public IP: node subnets and launch templates say so.

    ## Why
    The EKS user guide's private cluster runs "without outbound internet access". A
    node subnet with `map_public_ip_on_launch = true`, or a launch template with
    `network_interfaces { associate_public_ip_address = true }`, gives nodes public
    addresses: with an internet gateway route they are reachable from and can reach
    the internet, and even without one the intent of the configuration is not private.
    Fargate pods never get public IPs, so subnets used only by Fargate profiles are not
    checked. A launch template that sets `associate_public_ip_address = false` wins
    over the subnet's default for its nodes.

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

      map_public_ip_on_launch = true
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
      # map_public_ip_on_launch defaults to false
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

    ## Remediation
    Set `map_public_ip_on_launch = false` (or remove it) on node subnets, and remove
    `associate_public_ip_address = true` from the node launch templates' network
    interfaces.
    """
    net = network(ctx)
    for subnet_key, owners in iter_node_subnets(net):
        subnet = net.subnet(subnet_key)
        sources = [s for info in owners for s in info.node_subnets().get(subnet_key, [])]
        ec2_sources = [s for s in sources if s.kind != FARGATE_PROFILE]
        if not ec2_sources:
            continue  # Fargate pods never get a public IP
        for subject in _subjects(subnet, owners):
            yield about(_subnet_public_ip(net, subnet, ec2_sources, subject), owners)
    yield from _unknown_node_subnets(net, "whether they map public IPs on launch",
                                     fargate=False)
    seen: set[str] = set()
    for info in net.clusters:
        for source in info.nodes:
            template = source.launch_template
            if template is None or template.address in seen:
                continue
            seen.add(template.address)
            result = _template_public_ip(net, template, source)
            if result is not None:
                yield about(result, [info])


def _subnet_public_ip(net: Network, subnet: Subnet, sources: list[NodeSource],
                      subject: Resource) -> Result:
    data = {"subnet": subnet.key}
    identity = ("subnet", subnet.key)
    users = ", ".join(dict.fromkeys(s.address for s in sources))
    value = subnet.map_public_ip
    if subnet.resource is None:
        return Result.unknown(
            subject, f"node subnet {subnet.key} is not in the input: cannot tell whether "
                     f"it maps public IPs on launch; {managed_elsewhere(subnet.key)}",
            data=data, identity=identity, evidence=(subject.address, subnet.key))
    if isinstance(value, Unknown):
        return Result.unknown(
            subject, f"map_public_ip_on_launch of {node_subnet(subnet)} is not known "
                     f"({explain(value, net.graph.kind)})", data=data, identity=identity,
            attribute="map_public_ip_on_launch")
    if value is not True:
        return Result.passed(subject, f"{node_subnet(subnet)} does not map public IPs on "
                                      f"launch (used by {users})", data=data, identity=identity)
    overriding = [s for s in sources if _template_sets_public_ip(s.launch_template) is False]
    if len(overriding) == len(sources):
        return Result.passed(
            subject, f"{node_subnet(subnet)} maps public IPs on launch, but every node "
                     f"launch template in it sets associate_public_ip_address = false",
            data=data, identity=identity)
    return Result.fail(
        subject, f"{node_subnet(subnet)} has map_public_ip_on_launch = true: nodes of "
                 f"{users} get public IP addresses",
        remediation=hcl.render(hcl.Comment(f"in {subnet.key}"),
                               hcl.Attribute("map_public_ip_on_launch", hcl.Literal(False))),
        evidence=(*dict.fromkeys(s.address for s in sources), subnet.key), data=data,
        identity=identity,
        attribute="map_public_ip_on_launch")


def _template_sets_public_ip(template: Resource | None) -> bool | Unknown | None:
    """True/False where a launch template (or configuration) sets the public IP; else None."""
    if template is None:
        return None
    if template.type == "aws_launch_configuration":
        value = template.get("associate_public_ip_address")
        if isinstance(value, Unknown) and not template.sets("associate_public_ip_address"):
            return None
        return _truth(value)
    found: bool | Unknown | None = None
    interfaces = template.blocks("network_interfaces")
    if isinstance(interfaces, Unknown):
        return interfaces if template.sets("network_interfaces") else None
    for block in interfaces:
        value = _truth(block.get("associate_public_ip_address"))
        if value is True or isinstance(value, Unknown):
            return value
        if value is False:
            found = False
    return found


def _truth(value: object) -> bool | Unknown | None:
    value = reveal(value)
    if isinstance(value, (bool, Unknown)):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _template_public_ip(net: Network, template: Resource, source: NodeSource
                        ) -> Result | None:
    value = _template_sets_public_ip(template)
    attribute = ("associate_public_ip_address" if template.type == "aws_launch_configuration"
                 else "network_interfaces.associate_public_ip_address")
    if isinstance(value, Unknown):
        return Result.unknown(
            template, f"{attribute} of {template.address} (used by {source.address}) is not "
                      f"known ({explain(value, net.graph.kind)})", attribute=attribute)
    if value is True:
        return Result.fail(
            template, f"{template.address} sets {attribute} = true: nodes of "
                      f"{source.address} get public IP addresses",
            remediation=hcl.render(hcl.Comment(f"in {template.address}"), hcl.block(
                "network_interfaces", body=hcl.attributes(associate_public_ip_address=False))
                if template.type == "aws_launch_template"
                else hcl.Attribute("associate_public_ip_address", hcl.Literal(False))),
            evidence=(source.address, template.address), attribute=attribute)
    return None


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


POLICIES = (node_subnet_internet_route, node_public_ip, vpc_dns)
