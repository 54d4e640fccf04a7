"""VPCs, subnets, route tables and routes: where each subnet's traffic goes.

Records every VPC and subnet, every route table with its inline and separate routes
(target kind, known or unknown), and the route table each subnet effectively uses
(explicit association, or the VPC's main route table).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from tfcheck.facts.linking import (
    ROUTE_TABLE_TYPES,
    SUBNET_TYPES,
    VPC_TYPES,
    Linker,
)
from tfcheck.facts.records import (
    EffectiveRouteTable,
    Route,
    RouteTable,
    Subnet,
    Vpc,
)
from tfcheck.facts.vocabulary import (
    CARRIER_GATEWAY,
    CORE_NETWORK,
    EGRESS_ONLY_GATEWAY,
    INSTANCE,
    INTERNET_GATEWAY,
    LOCAL,
    LOCAL_GATEWAY,
    MAIN_ROUTE_TABLE,
    NAT_GATEWAY,
    NETWORK_INTERFACE,
    PEERING,
    TRANSIT_GATEWAY,
    UNKNOWN_TARGET,
    VPC_ENDPOINT,
    VPN_GATEWAY,
    ZONE_ID_SUFFIX,
    IPNetwork,
    Link,
    flag_value,
    input_value,
    ip_network_of,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.model import Resource, Unknown, reveal

_ID_PREFIX_KINDS = {
    "igw-": INTERNET_GATEWAY,
    "vgw-": VPN_GATEWAY,
    "nat-": NAT_GATEWAY,
    "eigw-": EGRESS_ONLY_GATEWAY,
    "tgw-": TRANSIT_GATEWAY,
    "pcx-": PEERING,
    "vpce-": VPC_ENDPOINT,
    "eni-": NETWORK_INTERFACE,
    "i-": INSTANCE,
    "cagw-": CARRIER_GATEWAY,
    "lgw-": LOCAL_GATEWAY,
}

# Route attribute -> (target kind, resource types it may reference)
_ROUTE_TARGETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nat_gateway_id", NAT_GATEWAY, ("aws_nat_gateway",)),
    # `gateway_id = aws_nat_gateway.x.id` is a slip AWS accepts: a NAT route all the same
    ("gateway_id", INTERNET_GATEWAY, ("aws_internet_gateway", "aws_vpn_gateway",
                                      "aws_nat_gateway")),
    ("egress_only_gateway_id", EGRESS_ONLY_GATEWAY, ("aws_egress_only_internet_gateway",)),
    ("network_interface_id", NETWORK_INTERFACE, ("aws_network_interface", "aws_instance")),
    ("instance_id", INSTANCE, ("aws_instance",)),
    ("transit_gateway_id", TRANSIT_GATEWAY, ("aws_ec2_transit_gateway",)),
    ("vpc_peering_connection_id", PEERING, ("aws_vpc_peering_connection",)),
    ("vpc_endpoint_id", VPC_ENDPOINT, ("aws_vpc_endpoint",)),
    ("carrier_gateway_id", CARRIER_GATEWAY, ("aws_ec2_carrier_gateway",)),
    ("local_gateway_id", LOCAL_GATEWAY, ()),
    ("core_network_arn", CORE_NETWORK, ()),
)


def add_vpcs(b: Linker) -> None:
    secondary: dict[str, list[IPNetwork]] = defaultdict(list)
    secondary_unknown: dict[str, Unknown] = {}
    for association in b.graph.managed("aws_vpc_ipv4_cidr_block_association"):
        vpc = b.link(association, "vpc_id", association.get("vpc_id"), b.vpc_map)
        cidr = ip_network_of(association.get("cidr_block"))
        if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            for key in vpc.keys:
                secondary[key].append(cidr)
            continue
        missing = cidr if isinstance(cidr, Unknown) else Unknown(
            f"{association.address} takes its CIDR block from an IPAM pool")
        for key in vpc.keys or ("",):  # "": the VPC cannot be told, it may be any
            secondary_unknown.setdefault(key, missing)
    for resource in b.graph.resources(*VPC_TYPES):
        cidr = ip_network_of(b._read(resource, "cidr_block"))
        cidrs: list[IPNetwork] = []
        unknown = None
        if isinstance(cidr, Unknown):
            unknown = cidr
        elif cidr is not None:
            cidrs.append(cidr)
        for block in read_blocks(resource.values.get("cidr_block_associations")):
            extra = ip_network_of(block.get("cidr_block"))
            if isinstance(extra, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                cidrs.append(extra)
        cidrs.extend(secondary.get(resource.address, ()))
        b.net.vpcs[resource.address] = Vpc(
            resource.address, resource, tuple(dict.fromkeys(cidrs)), unknown,
            secondary_unknown.get(resource.address, secondary_unknown.get("")),
        )

def ensure_vpc(b: Linker, key: str) -> Vpc:
    found = b.net.vpcs.get(key)
    if found is None:
        found = Vpc(key, None)
        b.net.vpcs[key] = found
    return found

# -- subnets --------------------------------------------------------------------

def add_subnets(b: Linker) -> None:
    for resource in b.graph.resources(*SUBNET_TYPES):
        vpc = b.link(resource, "vpc_id", b._read(resource, "vpc_id"), b.vpc_map)
        zone = text_value(b._read(resource, "availability_zone"))
        if not isinstance(zone, str):
            zone_id = text_value(input_value(resource, "availability_zone_id"))
            if isinstance(zone_id, str) and zone_id:
                # zone IDs (use1-az1) and names (us-east-1a) map differently per account
                zone = f"{zone_id}{ZONE_ID_SUFFIX}"
        cidr = ip_network_of(b._read(resource, "cidr_block"))
        public = flag_value(b._read(resource, "map_public_ip_on_launch"))
        for key in vpc.keys:
            ensure_vpc(b, key)
        ipv6 = ip_network_of(input_value(resource, "ipv6_cidr_block"))
        b.net.subnets[resource.address] = Subnet(
            resource.address, resource, vpc, zone, cidr, public, _carved_from(cidr, vpc),
            ipv6, _carved_from(ipv6, vpc))

# -- route tables ---------------------------------------------------------------

def add_route_tables(b: Linker) -> None:
    net = b.net
    # the VPC's main route table: an explicit main association, else the default
    # route table resource, else the implicit main table (local routes only)
    for default in b.graph.managed("aws_default_route_table"):
        owners = b.link(default, "default_route_table_id",
                           default.get("default_route_table_id"), b.vpc_map).keys
        vpc_id = text_value(default.values.get("vpc_id"))
        if not owners and isinstance(vpc_id, str) and vpc_id in b.by_id:
            owners = (b.by_id[vpc_id],)
        for owner in owners:
            b.alias[pseudo_key(owner, MAIN_ROUTE_TABLE)] = default.address
            net._main_tables[owner] = (default.address, ())
    for association in b.graph.managed("aws_main_route_table_association"):
        vpcs = b.link(association, "vpc_id", association.get("vpc_id"), b.vpc_map)
        chosen = b.link(association, "route_table_id", association.get("route_table_id"),
                           b.route_table_map)
        if len(chosen.keys) == 1:
            for owner in vpcs.keys:
                b.alias[pseudo_key(owner, MAIN_ROUTE_TABLE)] = chosen.keys[0]
                net._main_tables[owner] = (chosen.keys[0], (association.address,))
    for resource in b.graph.resources(*ROUTE_TABLE_TYPES):
        vpc_link = b.link(resource, "vpc_id", resource.get("vpc_id"), b.vpc_map)
        if resource.type == "aws_default_route_table" and not vpc_link:
            vpc_link = b.link(resource, "default_route_table_id", None, b.vpc_map)
        record = RouteTable(resource.address, resource, vpc_link,
                            complete=not resource.is_data)
        _inline_routes(b, resource, record)
        net.route_tables[resource.address] = record
    for route in b.graph.managed("aws_route"):
        targets = b.link(route, "route_table_id", route.get("route_table_id"),
                            b.route_table_map)
        for key in targets.keys:
            parsed = _route(b, route, key, route.values, inline=False)
            if parsed is not None:
                net.route_table(key).routes.append(parsed)
    for vpc in list(net.vpcs.values()):
        # the implicit main table of a VPC in the input has only the local route
        key = pseudo_key(vpc.key, MAIN_ROUTE_TABLE)
        if b.canonical(key) == key:
            implicit = net.route_table(key)
            implicit.vpc = Link((vpc.key,))
            implicit.complete = vpc.managed

def _inline_routes(b: Linker, resource: Resource, table: RouteTable) -> None:
    attribute = "routes" if resource.is_data else "route"
    blocks = resource.get(attribute) if not resource.is_data else resource.values.get(
        attribute)
    blocks = reveal(blocks)
    if isinstance(blocks, Unknown):
        table.unknown = blocks
        return
    for block in read_blocks(blocks):
        parsed = _route(b, resource, resource.address, block, inline=True,
                             attribute=attribute)
        if parsed is not None:
            table.routes.append(parsed)

def _route(b: Linker, declared_by: Resource, table: str, values: Mapping[str, Any], *,
           inline: bool, attribute: str = "") -> Route | None:
    """One route from an `aws_route` or an inline block; None for an empty block."""
    def get(name: str) -> Any:
        if inline:
            return values.get(name)
        return input_value(declared_by, name)

    destination: str | Unknown | None = None
    for name in ("destination_cidr_block", "destination_ipv6_cidr_block", "cidr_block",
                 "ipv6_cidr_block", "destination_prefix_list_id"):
        candidate = text_value(get(name))
        if isinstance(candidate, Unknown) or (isinstance(candidate, str) and candidate):
            destination = candidate
            break
    if destination is None:
        return None
    for name, kind, types in _ROUTE_TARGETS:
        raw = get(name)
        value = text_value(raw)
        if value is None or value == "":
            continue
        ref_attribute = attribute if inline else name
        refs = b.graph.references(declared_by, ref_attribute, *types) if types else []
        if isinstance(value, str):
            matched = b.by_id.get(value)
            target_resources = [b.graph.get(matched)] if matched else []
            target_kind = kind
            if name == "gateway_id":
                target_kind = _gateway_kind(value, None)
            elif value.split("-")[0] + "-" in _ID_PREFIX_KINDS and name in (
                "network_interface_id", "instance_id"
            ):
                target_kind = _ID_PREFIX_KINDS[value.split("-")[0] + "-"]
            target_resource = next((r for r in target_resources if r is not None), None)
            if target_resource is not None and name == "gateway_id":
                target_kind = _gateway_kind(value, target_resource)
            return _finish_route(b, declared_by, table, inline, destination, target_kind,
                                      matched or value, (), target_resource)
        # unknown value: the references say what it is
        if not refs:
            kind_guess = kind if name != "gateway_id" else UNKNOWN_TARGET
            return Route(table, declared_by, inline, destination, kind_guess, None)
        if name == "gateway_id":
            kinds = {_gateway_kind(None, r) for r in refs}
            kind = kinds.pop() if len(kinds) == 1 else UNKNOWN_TARGET
        if len(refs) == 1:
            return _finish_route(b, declared_by, table, inline, destination, kind,
                                      refs[0].address, (), refs[0])
        return _finish_route(b, declared_by, table, inline, destination, kind, None,
                                  tuple(r.address for r in refs), None, refs)
    return None

def _finish_route(b: Linker, declared_by: Resource, table: str, inline: bool,
                  destination: str | Unknown, kind: str, target: str | None,
                  candidates: tuple[str, ...], target_resource: Resource | None,
                  candidate_resources: list[Resource] | None = None) -> Route:
    connectivity: str | Unknown | None = None
    if kind == NAT_GATEWAY:
        nats = [target_resource] if target_resource else (candidate_resources or [])
        kinds = set()
        for nat in nats:
            if nat is None:
                continue
            value = text_value(nat.get("connectivity_type"))
            kinds.add(value if isinstance(value, str) else "?")
        if not nats:
            connectivity = None  # a NAT gateway known only by its ID
        elif len(kinds) == 1 and "?" not in kinds:
            connectivity = kinds.pop()
        elif kinds == {"private"}:
            connectivity = "private"
        else:
            connectivity = Unknown(
                f"connectivity_type of {', '.join(n.address for n in nats if n)} "
                "is not known before apply"
            )
    return Route(table, declared_by, inline, destination, kind, target, candidates,
                 connectivity)

# -- effective route tables -----------------------------------------------------

def add_effective_route_tables(b: Linker) -> None:
    net = b.net
    explicit: dict[str, list[tuple[str, str]]] = defaultdict(list)  # subnet -> (table, via)
    unresolved: list[tuple[Resource, Unknown | None, Link]] = []
    for association in b.graph.managed("aws_route_table_association"):
        if input_value(association, "gateway_id") is not None and not association.sets(
            "subnet_id"
        ):
            continue  # an edge association (IGW / VGW ingress routing)
        subnets = b.link(association, "subnet_id", input_value(association, "subnet_id"),
                            b.subnet_map)
        tables = b.link(association, "route_table_id",
                           association.get("route_table_id"), b.route_table_map)
        if not tables.keys:
            tables = Link(unknown=tables.unknown)
        if subnets.unknown is not None or not subnets.keys:
            unresolved.append((association, subnets.unknown, tables))
            continue
        for subnet in subnets.keys:
            if not tables.keys:
                explicit[subnet].append(("", association.address))
            for table in tables.keys:
                explicit[subnet].append((table, association.address))
    for data_table in b.graph.resources("aws_route_table"):
        if not data_table.is_data:
            continue
        for subnet in b.link(data_table, "subnet_id", data_table.get("subnet_id"),
                                b.subnet_map).keys:
            explicit.setdefault(subnet, []).append((data_table.address, data_table.address))
    for subnet_key, pairs in explicit.items():
        chosen = tuple(dict.fromkeys(t for t, _ in pairs if t))
        via = tuple(dict.fromkeys(v for _, v in pairs))
        if not chosen:
            net._effective[subnet_key] = EffectiveRouteTable(
                via=via, unknown=f"the route_table_id of {', '.join(via)} is not known "
                                 "before apply and refers to no route table in the input")
        else:
            net._effective[subnet_key] = EffectiveRouteTable(chosen, via)
        net.subnet(subnet_key)
    for association, _, candidates in unresolved:
        vpcs = {v for t in candidates.keys for v in net.route_table(t).vpc.keys}
        net._unresolved.append((association.address, frozenset(vpcs)))

# -- security groups ------------------------------------------------------------


def _carved_from(cidr: IPNetwork | Unknown | None, vpc: Link) -> str | None:
    """The subnet's VPC, where its CIDR is not known but is computed from that VPC's block.

    `cidrsubnet(data.aws_vpc.x.cidr_block, 4, 1)`: whatever the block is, the subnet
    lies in it. (Not where a secondary association's block is named.)
    """
    if not isinstance(cidr, Unknown) or len(vpc.keys) != 1:
        return None
    if any("aws_vpc_ipv4_cidr_block_association" in r for r in cidr.references):
        return None
    key = vpc.keys[0]
    return key if any(r == key or r.startswith(key + ".") for r in cidr.references) else None


def _gateway_kind(value: str | None, resource: Resource | None) -> str:
    if resource is not None:
        if resource.type == "aws_internet_gateway":
            return INTERNET_GATEWAY
        if resource.type == "aws_vpn_gateway":
            return VPN_GATEWAY
        if resource.type == "aws_vpc_endpoint":
            return VPC_ENDPOINT
        if resource.type == "aws_nat_gateway":
            return NAT_GATEWAY
    if value is None:
        return UNKNOWN_TARGET
    if value == "local":
        return LOCAL
    for prefix, kind in _ID_PREFIX_KINDS.items():
        if value.startswith(prefix):
            return kind
    return UNKNOWN_TARGET
