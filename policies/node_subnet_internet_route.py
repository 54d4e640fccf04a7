"""PC201 node-subnet-internet-route: node subnets have no default route to the internet."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts import hcl_snippets as hcl
from tfcheck.facts.transit import FOLLOWED, Onward, Transit, transit
from tfcheck.facts.wording import node_subnet
from tfcheck.model import Resource, Severity, Unknown
from tfcheck.network import (
    NAT_GATEWAY,
    EffectiveRouteTable,
    Network,
    Route,
    Subnet,
    about,
    internet_verdict,
    iter_node_subnets,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import A_PLAN, explain

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    node_subnet_subjects,
    unknown_node_subnets,
)


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
    # fix_override.tf
    # No default route (`count = 0` removes it), only the implicit local route: nodes
    # reach AWS through VPC endpoints.
    resource "aws_route" "nat" {
      count = 0
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
    # fix_override.tf
    # an inspection VPC: no route on to the NAT gateway (`count = 0` removes it), no
    # internet gateway or default route: the path ends here
    resource "aws_route" "central_default" {
      count = 0
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
        for subject in node_subnet_subjects(subnet, owners):
            yield about(_route_verdict(net, subnet, effective, subject, paths), owners)
    yield from unknown_node_subnets(net, "whether they route to the internet")


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


POLICIES = (node_subnet_internet_route,)
