"""Where a default route to a transit gateway or Gateway Load Balancer endpoint leads.

Centralised egress sends a spoke's `0.0.0.0/0` to a transit gateway, whose route table
(the attachment's association, else the gateway's default table) sends it on to an
egress or inspection VPC's attachment; that VPC's subnets route it to a NAT gateway, an
internet gateway, a Gateway Load Balancer endpoint (which hands inspected traffic back
to its own subnet's route table), or nowhere. PC201 follows the path where the input
holds it (catalog: PC201) and says which hop it could not read otherwise.

A VPC peering connection never carries traffic on to the peer's NAT or internet gateway
(AWS does not support edge-to-edge routing through peering), so a default route to one
is no internet path whatever the peer's route tables say.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tfcheck.facts.builder import network
from tfcheck.facts.records import Network, Route, internet_verdict
from tfcheck.facts.vocabulary import PEERING, TRANSIT_GATEWAY, VPC_ENDPOINT
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.policy import ScanContext
from tfcheck.unknowns import managed_elsewhere

MAX_HOPS = 4
FOLLOWED = frozenset({TRANSIT_GATEWAY, VPC_ENDPOINT, PEERING})
_ATTACHMENT = "aws_ec2_transit_gateway_vpc_attachment"
_TGW_TABLE = "aws_ec2_transit_gateway_route_table"
_TGW_ROUTE = "aws_ec2_transit_gateway_route"
_TGW_ASSOCIATION = "aws_ec2_transit_gateway_route_table_association"
# attachments that may propagate a default route into a transit gateway route table
_OTHER_ATTACHMENTS = ("aws_vpn_connection", "aws_dx_gateway_association",
                      "aws_ec2_transit_gateway_peering_attachment",
                      "aws_ec2_transit_gateway_connect")
DEFAULT_TABLE = "default route table"


class Onward(msgspec.Struct, frozen=True):
    """Whether traffic sent along a default route reaches the internet.

    `internet`: True (a NAT/IGW path, `path` shows it), False (it provably does not:
    `why` says where it ends), None (the input does not hold the path: `why` names the
    hop it could not read).
    """

    internet: bool | None
    why: str
    path: tuple[str, ...] = ()


def _ids(net: Network, resource: Resource, attribute: str, *types: str) -> set[str]:
    """Keys an attribute names: references of `types`, or literal IDs (known or not)."""
    keys = {r.address for r in net.graph.references(resource, attribute, *types)}
    value = reveal(resource.get(attribute))
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str) and item:
            keys.add(net.ids.get(item, item))
    return keys


class Transit(msgspec.Struct):
    """Transit gateway attachments, route tables and routes of the input."""

    net: Network

    def follow(self, route: Route, vpc: str | None, hops: int = 0) -> Onward:
        """Where `route` (a default route of a table in `vpc`) leads."""
        if route.kind == PEERING:
            return Onward(False, f"{route.target_label} is a VPC peering connection, which "
                                 "does not carry traffic on to the peer VPC's NAT or internet "
                                 "gateway (no edge-to-edge routing)")
        if hops >= MAX_HOPS:
            return Onward(None, f"the path through {route.target_label} has more than "
                                f"{MAX_HOPS} hops")
        if route.kind == TRANSIT_GATEWAY:
            return self._transit_gateway(route, vpc, hops)
        return self._load_balancer_endpoint(route, hops)

    # -- transit gateways -----------------------------------------------------------

    def _transit_gateway(self, route: Route, vpc: str | None, hops: int) -> Onward:
        net = self.net
        graph = net.graph
        tgw = route.target
        if tgw is None:
            return Onward(None, f"the transit gateway of {route.hop} is not known")
        gateway = graph.get(tgw)
        attachments = [a for a in graph.managed(_ATTACHMENT)
                       if tgw in _ids(net, a, "transit_gateway_id", "aws_ec2_transit_gateway")]
        own = [a for a in attachments if vpc is not None
               and vpc in _ids(net, a, "vpc_id", "aws_vpc", "aws_default_vpc")]
        if not own:
            return Onward(None, f"no attachment of {vpc or 'the VPC'} to transit gateway "
                                f"{tgw} is in the input, so not which of its route tables "
                                "the traffic uses")
        attachment = own[0]
        table, how = self._table_of(attachment, gateway, tgw)
        if table is None:
            return Onward(None, how)
        path = (attachment.address, table)
        others = [r.address for t in _OTHER_ATTACHMENTS for r in graph.managed(t)
                  if tgw in _ids(net, r, "transit_gateway_id", "aws_ec2_transit_gateway")]
        defaults = [r for r in self._routes_of(table, tgw)
                    if _text(r.get("destination_cidr_block")) in ("0.0.0.0/0", "::/0")]
        if not defaults:
            if others:
                return Onward(None, f"{table} has no static default route, but "
                                    f"{', '.join(others)} may propagate one into it", path)
            return Onward(False, f"{table} ({how}) has no default route: the transit "
                                 "gateway drops traffic to the internet", path)
        tgw_route = defaults[0]
        if reveal(tgw_route.get("blackhole")) is True:
            return Onward(False, f"{tgw_route.address} in {table} is a blackhole route",
                          (*path, tgw_route.address))
        targets = [graph.get(k) for k in _ids(net, tgw_route, "transit_gateway_attachment_id",
                                              _ATTACHMENT)]
        onward = [a for a in targets if a is not None and a.type == _ATTACHMENT]
        if not onward:
            return Onward(None, f"the attachment {tgw_route.address} sends the default route "
                                "to is not a VPC attachment in the input",
                          (*path, tgw_route.address))
        egress = onward[0]
        subnets = sorted(_ids(net, egress, "subnet_ids", "aws_subnet"))
        egress_vpcs = sorted(_ids(net, egress, "vpc_id", "aws_vpc", "aws_default_vpc"))
        result = self._subnets(subnets, egress_vpcs[0] if len(egress_vpcs) == 1 else None,
                               hops + 1)
        where = f"{egress.address} ({', '.join(egress_vpcs) or 'a VPC not known'})"
        return Onward(result.internet,
                      f"{table} sends 0.0.0.0/0 to {where}: {result.why}",
                      (*path, tgw_route.address, egress.address, *result.path))

    def _table_of(self, attachment: Resource, gateway: Resource | None, tgw: str
                  ) -> tuple[str | None, str]:
        """The transit gateway route table an attachment is associated with, and how."""
        net = self.net
        for association in net.graph.managed(_TGW_ASSOCIATION):
            if attachment.address in _ids(net, association, "transit_gateway_attachment_id",
                                          _ATTACHMENT):
                tables = sorted(_ids(net, association, "transit_gateway_route_table_id",
                                     _TGW_TABLE))
                if len(tables) == 1 and net.graph.get(tables[0]) is not None:
                    return tables[0], f"associated by {association.address}"
                return None, (f"the route table {association.address} associates "
                              f"{attachment.address} with is not in the input "
                              f"({managed_elsewhere('that route table')})")
        if gateway is None or gateway.is_data:
            return None, (f"the route tables of transit gateway {tgw} are not in the input "
                          f"({managed_elsewhere(f'transit gateway {tgw}')})")
        if (_text(gateway.get("default_route_table_association")) == "disable"
                or reveal(attachment.get("transit_gateway_default_route_table_association"))
                is False):
            return None, (f"{attachment.address} is associated with no route table of "
                          f"{tgw} in the input")
        return f"{tgw} ({DEFAULT_TABLE})", "the transit gateway's default route table"

    def _routes_of(self, table: str, tgw: str) -> list[Resource]:
        """Static routes of a transit gateway route table (its own, or the default)."""
        net = self.net
        found = []
        for route in net.graph.managed(_TGW_ROUTE):
            keys = _ids(net, route, "transit_gateway_route_table_id", _TGW_TABLE,
                        "aws_ec2_transit_gateway")
            if table in keys or (table.endswith(f"({DEFAULT_TABLE})") and tgw in keys):
                found.append(route)
        return found

    # -- Gateway Load Balancer endpoints ------------------------------------------------

    def _load_balancer_endpoint(self, route: Route, hops: int) -> Onward:
        net = self.net
        endpoint = net.endpoint(route.target) if route.target is not None else None
        if endpoint is None:
            return Onward(None, f"endpoint {route.target_label} is not in the input, so not "
                                "where inspected traffic goes next "
                                f"({managed_elsewhere(f'endpoint {route.target_label}')})")
        if isinstance(endpoint.type, Unknown) or endpoint.type != "GatewayLoadBalancer":
            return Onward(False, f"{endpoint.address} is not a Gateway Load Balancer endpoint")
        vpcs = endpoint.vpc.keys
        result = self._subnets(sorted(endpoint.subnets.keys),
                               vpcs[0] if len(vpcs) == 1 else None, hops + 1)
        return Onward(result.internet,
                      f"{endpoint.address} returns inspected traffic to its subnets' route "
                      f"tables: {result.why}", (endpoint.address, *result.path))

    # -- subnets ----------------------------------------------------------------------

    def _subnets(self, subnets: list[str], vpc: str | None, hops: int) -> Onward:
        """Whether any of the subnets' default routes reaches the internet."""
        net = self.net
        if not subnets:
            return Onward(None, "its subnets are not known")
        doubts: list[str] = []
        ends: list[str] = []
        for subnet in subnets:
            effective = net.effective_route_table(subnet)
            if effective.unknown is not None:
                doubts.append(effective.unknown)
                continue
            for table in effective.tables:
                defaults = [r for r in net.route_table(table).routes if r.is_default is not False]
                if not defaults:
                    ends.append(f"{table} has no default route")
                for route in defaults:
                    verdict = internet_verdict(route) if route.is_default else None
                    if verdict is True:
                        return Onward(True, f"{subnet} routes {route.destination} to "
                                            f"{route.kind} {route.target_label}",
                                      (subnet, table, route.hop, route.target_label))
                    if route.kind in FOLLOWED and route.is_default:
                        onward = self.follow(route, vpc, hops)
                        if onward.internet is True:
                            return Onward(True, onward.why,
                                          (subnet, table, route.hop, *onward.path))
                        (doubts if onward.internet is None else ends).append(onward.why)
                    elif verdict is None:
                        doubts.append(f"the target or destination of {route.hop} is not "
                                      "known")
                    else:
                        ends.append(f"{route.hop} goes to {route.kind} {route.target_label}")
        if doubts:
            return Onward(None, "; ".join(dict.fromkeys(doubts)))
        return Onward(False, "; ".join(dict.fromkeys(ends)) + ": no internet path")


def _text(value: Any) -> str | None:
    value = reveal(value)
    return value if isinstance(value, str) else None


def transit(ctx: ScanContext) -> Transit:
    """The transit facts of this scan (built on the shared network facts)."""
    return ctx.fact(_build)


def _build(ctx: ScanContext) -> Transit:
    return Transit(network(ctx))
