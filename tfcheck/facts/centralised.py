"""Centralised interface endpoints: a hub VPC's endpoints serving a spoke cluster.

Teams share interface endpoints from one hub VPC: the endpoints have private DNS off,
a Route 53 private hosted zone for each service's DNS name (`api.ecr.<region>.amazonaws
.com`) holds an alias or CNAME record to the endpoint, the zone is associated with every
spoke VPC (`vpc` blocks of `aws_route53_zone`, or `aws_route53_zone_association`), and
the spokes route the hub's CIDR through a transit gateway or peering connection. Such an
endpoint counts for a spoke cluster (PC301), is exempt from PC303 and must admit the
spoke's node subnets (PC401). The catalog: "Centralised endpoints (PC301)".
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

import msgspec

from tfcheck.facts.builder import network
from tfcheck.facts.records import ClusterNetwork, Endpoint, Network
from tfcheck.facts.requirements import endpoint_counts_for
from tfcheck.facts.vocabulary import PEERING, TRANSIT_GATEWAY, IPNetwork, covers
from tfcheck.model import Resource
from tfcheck.policy import ScanContext
from tfcheck.unknowns import explain, managed_elsewhere

_VPC_TYPES = ("aws_vpc", "aws_default_vpc")
ZONE = "aws_route53_zone"
ZONE_ASSOCIATION = "aws_route53_zone_association"
RECORD = "aws_route53_record"


def service_dns_name(service: str, region: str) -> str:
    """The name clients resolve for a service (ECR's registry names are a wildcard)."""
    if service == "ecr.api":
        return f"api.ecr.{region}.amazonaws.com"
    if service == "ecr.dkr":
        return f"*.dkr.ecr.{region}.amazonaws.com"
    if service == "eks-auth":
        return f"eks-auth.{region}.api.aws"
    return f"{service}.{region}.amazonaws.com"


class Served(msgspec.Struct, frozen=True):
    """Whether a hub endpoint serves `service` to a cluster through one zone.

    `counts`: True when it does, False when the input shows it does not (`why` says
    what is missing), None when the input cannot tell (`why` names the zone and value).
    """

    service: str
    zone: str  # address of the zone, or its ID where the zone is not in the input
    endpoint: Endpoint | None
    counts: bool | None
    why: str
    evidence: tuple[str, ...] = ()


class _Zone(msgspec.Struct):
    key: str
    resource: Resource | None
    name: str | None
    associated_by: str  # the zone (its vpc block) or the association resource
    records: list[Resource] = msgspec.field(default_factory=list)


class Centralised(msgspec.Struct):
    """Zones associated with each VPC, their records, and what they serve per cluster."""

    net: Network
    zones_of_vpc: dict[str, list[_Zone]] = msgspec.field(default_factory=dict)
    _served: dict[tuple[str, str], list[Served]] = msgspec.field(default_factory=dict)

    def serving(self, info: ClusterNetwork, service: str) -> list[Served]:
        """What the zones associated with the cluster's VPC say about `service`."""
        key = (info.address, service)
        found = self._served.get(key)
        if found is None:
            found = self._served[key] = self._serve(info, service)
        return found

    def endpoints_serving(self, info: ClusterNetwork, services: list[str]
                          ) -> list[Endpoint]:
        """Hub endpoints that count (or may count) for the cluster, for PC401."""
        found: dict[str, Endpoint] = {}
        for service in services:
            for served in self.serving(info, service):
                if served.endpoint is not None and served.counts is not False:
                    found.setdefault(served.endpoint.address, served.endpoint)
        return [found[k] for k in sorted(found)]

    def is_centralised(self, endpoint: Endpoint) -> bool:
        """Whether a zone associated with some VPC points a service name at it."""
        graph = self.net.graph
        return any(
            endpoint.resource in graph.references(record, None, "aws_vpc_endpoint")
            for zones in self.zones_of_vpc.values() for zone in zones for record in zone.records)

    def _serve(self, info: ClusterNetwork, service: str) -> list[Served]:
        found: list[Served] = []
        if info.vpc is None:
            return found
        region = info.region if isinstance(info.region, str) else None
        for zone in self.zones_of_vpc.get(info.vpc, []):
            if zone.resource is None:
                found.append(Served(
                    service, zone.key, None, None,
                    f"Route 53 zone {zone.key}, associated with VPC {info.vpc} by "
                    f"{zone.associated_by}, is not in the input and may serve {service} from "
                    f"a centralised endpoint ({managed_elsewhere(f'zone {zone.key}')})",
                    (zone.associated_by,)))
                continue
            for record in zone.records:
                served = self._record(info, service, region, zone, record)
                if served is not None:
                    found.append(served)
        return found

    def _record(self, info: ClusterNetwork, service: str, region: str | None, zone: _Zone,
                record: Resource) -> Served | None:
        graph = self.net.graph
        name = _fqdn(record, zone.name)
        endpoints = [e for r in graph.references(record, None, "aws_vpc_endpoint")
                     if (e := self.net.endpoint(r.address)) is not None]
        evidence = (zone.associated_by, zone.key, record.address)
        if region is not None and name != service_dns_name(service, region):
            if (name is None or zone.name is None) and any(
                    e.service == service for e in endpoints):
                return Served(service, zone.key, None, None,
                              f"{record.address} points at an endpoint for {service}, but "
                              f"the name it answers for in {zone.key} is not known", evidence)
            return None
        if region is None and not any(e.service == service for e in endpoints):
            return None
        if not endpoints:
            return Served(
                service, zone.key, None, None,
                f"{record.address} in Route 53 zone {zone.key} points {name} at an endpoint "
                f"that is not in the input ({managed_elsewhere('the endpoint')})", evidence)
        for endpoint in endpoints:
            problem = endpoint_counts_for(endpoint, service, info.region)
            if problem is not None:
                return Served(service, zone.key, endpoint, False, problem,
                              (*evidence, endpoint.address))
            counts, why, path = self._routed(info, endpoint)
            if counts is not True:
                why = f"{record.address} points {name} at {endpoint.address}, but {why}"
            return Served(service, zone.key, endpoint, counts, why,
                          (*evidence, endpoint.address, *path))
        return None

    def _routed(self, info: ClusterNetwork, endpoint: Endpoint
                ) -> tuple[bool | None, str, tuple[str, ...]]:
        """Whether every node subnet routes the endpoint's VPC through a TGW or peering."""
        net = self.net
        kind = net.graph.kind
        if len(endpoint.vpc.keys) != 1:
            return None, f"the VPC of {endpoint.address} is not known", ()
        hub = net.vpc(endpoint.vpc.keys[0])
        if hub is None or hub.resource is None:
            return None, (f"the CIDR block of {endpoint.vpc.keys[0]}, the VPC of "
                          f"{endpoint.address}, is not in the input"), ()
        if hub.cidr_unknown is not None or not hub.cidrs:
            why = (explain(hub.cidr_unknown, kind) if hub.cidr_unknown is not None
                   else "not known")
            return None, f"the CIDR block of {hub.key} is {why}", ()
        path: list[str] = []
        doubts: list[str] = []
        for subnet in sorted(info.node_subnets()):
            effective = net.effective_route_table(subnet)
            if effective.unknown is not None:
                doubts.append(f"the route table of {subnet} is not known: {effective.unknown}")
                continue
            hop = _transit_hop(net, effective.tables, hub.cidrs)
            if hop is None:
                return False, (f"the route table of node subnet {subnet} "
                               f"({', '.join(effective.tables)}) routes {hub.key} "
                               f"({', '.join(str(c) for c in hub.cidrs)}) through no transit "
                               "gateway or VPC peering connection"), ()
            path.append(hop)
        if doubts:
            return None, "; ".join(doubts), ()
        hops = list(dict.fromkeys(path))
        more = f" and {len(hops) - 1} more node route tables" if len(hops) > 1 else ""
        return True, (f"{endpoint.address} in {hub.key}, reached through {hops[0]}{more}"
                      if hops else f"{endpoint.address} in {hub.key}"), tuple(hops)


def _transit_hop(net: Network, tables: tuple[str, ...], cidrs: tuple[IPNetwork, ...]
                 ) -> str | None:
    """The route of the tables that sends the hub CIDR to a transit gateway or peering."""
    for table in tables:
        for route in net.route_table(table).routes:
            if route.kind not in (TRANSIT_GATEWAY, PEERING) or not isinstance(
                    route.destination, str):
                continue
            try:
                destination = ipaddress.ip_network(route.destination, strict=False)
            except ValueError:
                continue
            if all(covers(destination, c) for c in cidrs if c.version == destination.version
                   ) and any(c.version == destination.version for c in cidrs):
                return f"{route.hop} -> {route.target_label}"
    return None


def _fqdn(record: Resource, zone_name: str | None) -> str | None:
    name = _lower(record.get("name"))
    if name is None or zone_name is None:
        return name if zone_name is None else None  # a name not known names nothing
    if name in (None, "", zone_name) or name == zone_name + ".":
        return zone_name
    name = name.rstrip(".")
    return name if name.endswith("." + zone_name) else f"{name}.{zone_name}"


def _lower(value: Any) -> str | None:
    return value.lower().rstrip(".") if isinstance(value, str) else None


def centralised(ctx: ScanContext) -> Centralised:
    """The shared centralised-endpoint facts of this scan, computed once."""
    return ctx.fact(_build)


def _build(ctx: ScanContext) -> Centralised:
    net = network(ctx)
    graph = net.graph
    found = Centralised(net)
    zones: dict[str, _Zone] = {}
    by_vpc: dict[str, list[_Zone]] = defaultdict(list)

    def vpcs(resource: Resource, attribute: str, values: list[Any]) -> set[str]:
        keys = {r.address for r in graph.references(resource, attribute, *_VPC_TYPES)}
        for value in values:
            if isinstance(value, str) and value:
                keys.add(net.ids.get(value, value))
        return keys

    for zone in graph.managed(ZONE):
        name = _lower(zone.get("name"))
        entry = zones[zone.address] = _Zone(zone.address, zone, name, zone.address)
        blocks = zone.values.get("vpc")
        ids = [b.get("vpc_id") for b in blocks if isinstance(b, dict)] if isinstance(
            blocks, list) else []
        for vpc in vpcs(zone, "vpc.vpc_id", ids):
            by_vpc[vpc].append(entry)
    for association in graph.managed(ZONE_ASSOCIATION):
        targets = graph.references(association, "zone_id", ZONE)
        zone_id = association.get("zone_id")
        if targets:
            base = zones.get(targets[0].address)
            # a data source reads a zone managed elsewhere: its records are not here
            shared = (_Zone(base.key, base.resource, base.name, association.address,
                            base.records) if base is not None
                      else _Zone(targets[0].address, None, None, association.address))
        else:
            key = zone_id if isinstance(zone_id, str) else f"the zone of {association.address}"
            known = net.ids.get(key) if isinstance(zone_id, str) else None
            base = zones.get(known) if known else None
            shared = (_Zone(base.key, base.resource, base.name, association.address,
                            base.records)
                      if base is not None else _Zone(key, None, None, association.address))
        for vpc in vpcs(association, "vpc_id", [association.get("vpc_id")]):
            by_vpc[vpc].append(shared)
    for record in graph.managed(RECORD):
        kind = record.get("type")
        if isinstance(kind, str) and kind.upper() not in ("A", "AAAA", "CNAME"):
            continue
        for target in graph.references(record, "zone_id", ZONE):
            if target.address in zones:
                zones[target.address].records.append(record)
    found.zones_of_vpc = dict(by_vpc)
    return found

