"""The network builder: from a resource graph to the `Network` index, once per scan.

`network(ctx)` answers every network question of a scan from one index, built in a few
linear passes over the graph (VPCs, subnets, route tables, security groups, endpoints,
clusters and their node sources), resolving each attribute to the keys it names.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tfcheck.facts.records import (
    ClusterNetwork,
    EffectiveRouteTable,
    Endpoint,
    Network,
    NodeSource,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Vpc,
)
from tfcheck.facts.vocabulary import (
    _CLUSTER_TAG,
    _SERVICE_NAME,
    _SERVICE_SUFFIX,
    _WORD,
    CARRIER_GATEWAY,
    CLUSTER_SG,
    CLUSTER_SUBNETS,
    CORE_NETWORK,
    DEFAULT_SG,
    EGRESS_ONLY_GATEWAY,
    EMPTY,
    FARGATE_PROFILE,
    INSTANCE,
    INTERNET_GATEWAY,
    IPV6_SUFFIX,
    LOCAL,
    LOCAL_GATEWAY,
    MAIN_ROUTE_TABLE,
    MANAGED_NODE_GROUP,
    NAT_GATEWAY,
    NETWORK_INTERFACE,
    PEERING,
    PREFIX_LIST,
    REMOTE_ACCESS_SG,
    SELF_MANAGED,
    TRANSIT_GATEWAY,
    UNKNOWN_TARGET,
    VPC_ENDPOINT,
    VPN_GATEWAY,
    ZONE_ID_SUFFIX,
    IPNetwork,
    Link,
    _blocks,
    _carved_from,
    _decode_user_data,
    _first,
    _flag,
    _input,
    _int,
    _leaves,
    _network,
    _networks,
    _pseudo,
    _text,
    names_cluster,
)
from tfcheck.graph import ResourceGraph
from tfcheck.model import Provenance, Resource, Unknown, reveal, split_address
from tfcheck.policy import ScanContext
from tfcheck.unknowns import (
    explain,
    managed_elsewhere,
    one_of_instances,
    read_from_aws,
)


def network(ctx: ScanContext) -> Network:
    """The shared network facts of this scan, computed once."""
    return ctx.fact(_build_network)


def _build_network(ctx: ScanContext) -> Network:
    configuration = ctx.graph.configuration
    beside = None if configuration is None else (lambda: configuration)
    return _Builder(ctx.graph, beside).build()


# -- building ---------------------------------------------------------------------------

_VPC_TYPES = ("aws_vpc", "aws_default_vpc")
_SUBNET_TYPES = ("aws_subnet", "aws_default_subnet")
_ROUTE_TABLE_TYPES = ("aws_route_table", "aws_default_route_table")
_SG_TYPES = ("aws_security_group", "aws_default_security_group")
_SG_REF_TYPES = (*_SG_TYPES, "aws_eks_cluster", "aws_eks_node_group", *_VPC_TYPES)
_RT_REF_TYPES = (*_ROUTE_TABLE_TYPES, *_VPC_TYPES)
_PREFIX_LIST_TYPES = ("aws_vpc_endpoint", "aws_prefix_list", "aws_ec2_managed_prefix_list")

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
_ROUTE_TARGET_TYPES = tuple(t for _, _, types in _ROUTE_TARGETS for t in types)
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


class _Builder:
    """Builds a `Network` from a graph in a few linear passes, indexing as it goes."""

    def __init__(self, graph: ResourceGraph,
                 beside: Callable[[], ResourceGraph | None] | None = None) -> None:
        self.graph = graph
        self.beside = beside
        self.net = Network(graph)
        self.by_id: dict[str, str] = self.net.ids  # known id/arn -> key
        self.ids_of: dict[str, set[str]] = defaultdict(set)  # key -> known ids
        self.alias: dict[str, str] = {}  # pseudo key -> key of the resource that is it
        self.clusters = graph.managed("aws_eks_cluster")

    # -- entry ----------------------------------------------------------------------

    def build(self) -> Network:
        self._index_ids()
        self._vpcs()
        self._subnets()
        self._route_tables()
        self._security_groups()
        self._endpoints()
        self._effective_route_tables()
        self._clusters()
        return self.net

    # -- identities -----------------------------------------------------------------

    def _remember(self, identifier: Any, key: str) -> None:
        text = reveal(identifier)
        if isinstance(text, str) and text:
            self.by_id.setdefault(text, key)
            self.ids_of[key].add(text)

    def _index_ids(self) -> None:
        for resource in self.graph.resources():
            self._remember(resource.values.get("id"), resource.address)
            self._remember(resource.values.get("arn"), resource.address)
        for cluster in self.graph.resources("aws_eks_cluster"):
            if cluster.is_data:
                continue
            sg = _text(cluster.get("vpc_config.cluster_security_group_id"))
            if isinstance(sg, str):
                self._remember(sg, _pseudo(cluster.address, CLUSTER_SG))
        for vpc in self.graph.resources(*_VPC_TYPES):
            for attribute in ("main_route_table_id", "default_route_table_id"):
                self._remember(vpc.values.get(attribute), _pseudo(vpc.address, MAIN_ROUTE_TABLE))
            self._remember(vpc.values.get("default_security_group_id"),
                           _pseudo(vpc.address, DEFAULT_SG))
        for group in self.graph.managed("aws_eks_node_group"):
            for block in _blocks(group.values.get("resources")):
                self._remember(block.get("remote_access_security_group_id"),
                               _pseudo(group.address, REMOTE_ACCESS_SG))
        for endpoint in self.graph.resources("aws_vpc_endpoint"):
            self._remember(endpoint.values.get("prefix_list_id"),
                           _pseudo(endpoint.address, PREFIX_LIST))

    def canonical(self, key: str) -> str:
        seen = 0
        while key in self.alias and seen < 8:
            key = self.alias[key]
            seen += 1
        return key

    def link(
        self,
        resource: Resource,
        attribute: str,
        value: Any,
        mapping: Mapping[str, Callable[[Resource], str | None]],
    ) -> Link:
        """Resolve an ID-valued attribute to keys: references first, then known IDs."""
        refs = self.graph.references(resource, attribute, *mapping) if mapping else []
        known, unknown = _leaves(value)
        if refs and unknown:
            # where every unknown part names its own instances (an evaluated
            # `slice(aws_subnet.private[*].id, 0, 2)`), those are more precise than the
            # attribute's references, which a plan records per configuration block
            named = [self._resources_named(u.references, tuple(mapping)) for u in unknown]
            if all(named):
                refs = list({r.address: r for found in named for r in found}.values())
        keyed: list[tuple[str, Resource]] = []
        for target in refs:
            key = mapping[target.type](target)
            if key is not None:
                keyed.append((self.canonical(key), target))
                if self.graph.provenance(resource.address, target.address,
                                         attribute) is Provenance.GUESS:
                    self.net.guesses.setdefault(resource.address, (
                        f"guessed: the plan records its {attribute} only as "
                        f"{target.config_address} with an index expression; --source "
                        "decides it"))
        strings = [s for s in (reveal(k) for k in known) if isinstance(s, str) and s]
        if keyed and strings and not unknown:
            # every value is known: keep only the references that the values confirm
            confirmed = [(k, t) for k, t in keyed
                         if not self.ids_of.get(k) or self.ids_of[k] & set(strings)]
            keyed = confirmed or keyed
        keys: list[str] = [k for k, _ in keyed]
        covered = {i for k, _ in keyed for i in self.ids_of.get(k, ())}
        for text in strings:
            if text in covered:
                continue
            keys.append(self.canonical(self.by_id.get(text, text)))
        missing = unknown[0] if unknown and not keyed else None
        if missing is not None and not keys and self.beside is not None and mapping:
            # no reference at all (`each.value.sg` of a for_each over a map): the HCL
            # beside the plan evaluates the expression and names what it points at
            evaluated = self._narrow_with_hcl(resource, attribute, tuple(mapping))
            if evaluated:
                return Link(tuple(dict.fromkeys(
                    self.canonical(mapping[r.type](r) or r.address) for r in evaluated)))
        return Link(tuple(dict.fromkeys(keys)), missing)

    def _narrow_with_hcl(self, resource: Resource, attribute: str, types: tuple[str, ...]
                         ) -> list[Resource]:
        """The instances the HCL beside a plan names where the plan records no reference.

        `each.value.sg` of a for_each over a local map: the resolver finds no reference
        to settle; evaluating the configuration's copy of the instance names it.
        """
        assert self.beside is not None
        hcl = self.beside()
        twin = hcl.get(resource.address) if hcl is not None else None
        if twin is None:
            return []
        known, unknown = _leaves(twin.get(attribute))
        if known or not unknown:
            return []
        named = [self._resources_named(u.references, types) for u in unknown]
        if not all(named):
            return []
        return list({r.address: r for found in named for r in found}.values())

    def _read(self, resource: Resource, path: str) -> Any:
        """An attribute; for a data source in HCL that does not set it, `Unknown`.

        A data source's attributes are read from AWS at plan time (a plan holds them):
        absent from HCL is not absent, and no provider default applies.
        """
        value = resource.get(path)
        if value is None and resource.is_data and self.graph.kind == "hcl":
            return read_from_aws(resource, path)
        return value

    # mappings from a referenced resource type to the key it stands for

    def _vpc_map(self) -> dict[str, Callable[[Resource], str | None]]:
        return {t: (lambda r: r.address) for t in _VPC_TYPES}

    def _subnet_map(self) -> dict[str, Callable[[Resource], str | None]]:
        return {t: (lambda r: r.address) for t in _SUBNET_TYPES}

    def _route_table_map(self) -> dict[str, Callable[[Resource], str | None]]:
        mapping: dict[str, Callable[[Resource], str | None]] = {
            t: (lambda r: r.address) for t in _ROUTE_TABLE_TYPES
        }
        for vpc_type in _VPC_TYPES:
            # `aws_vpc.main.main_route_table_id` / `.default_route_table_id`
            mapping[vpc_type] = lambda r: _pseudo(r.address, MAIN_ROUTE_TABLE)
        return mapping

    def _sg_map(self) -> dict[str, Callable[[Resource], str | None]]:
        mapping: dict[str, Callable[[Resource], str | None]] = {
            t: (lambda r: r.address) for t in _SG_TYPES
        }
        mapping["aws_eks_cluster"] = self._cluster_sg_of
        mapping["aws_eks_node_group"] = lambda r: _pseudo(r.address, REMOTE_ACCESS_SG)
        for vpc_type in _VPC_TYPES:
            # `aws_vpc.main.default_security_group_id`
            mapping[vpc_type] = lambda r: _pseudo(r.address, DEFAULT_SG)
        return mapping

    def _cluster_sg_of(self, cluster: Resource) -> str | None:
        """The key of a cluster's EKS-created security group; None where not known.

        A `data "aws_eks_cluster"` reading a cluster of the input stands for that
        cluster's group (`vpc_config[0].cluster_security_group_id`, which managed nodes
        without a launch template carry); one reading another cluster by a known name
        stands for a group no node of the input carries.
        """
        if not cluster.is_data:
            return _pseudo(cluster.address, CLUSTER_SG)
        sg = _text(cluster.get("vpc_config.cluster_security_group_id"))
        if isinstance(sg, str):
            return self.by_id.get(sg, sg)
        read = [r for r in self.graph.references(cluster, "name", "aws_eks_cluster")
                if not r.is_data]
        name = _text(cluster.get("name"))
        if not read and isinstance(name, str):
            names = [_text(c.get("name")) for c in self.clusters]
            read = [c for c, n in zip(self.clusters, names, strict=True) if n == name]
            if not read and any(not isinstance(n, str) for n in names):
                return None  # it may be a cluster of the input whose name is not known
            if not read:
                return _pseudo(cluster.address, CLUSTER_SG)  # another cluster's group
        if len(read) == 1:
            return _pseudo(read[0].address, CLUSTER_SG)
        return None

    def _prefix_list_map(self) -> dict[str, Callable[[Resource], str | None]]:
        return {
            "aws_vpc_endpoint": lambda r: _pseudo(r.address, PREFIX_LIST),
            "aws_prefix_list": lambda r: r.address,
            "aws_ec2_managed_prefix_list": lambda r: r.address,
        }

    # -- VPCs -----------------------------------------------------------------------

    def _vpcs(self) -> None:
        secondary: dict[str, list[IPNetwork]] = defaultdict(list)
        secondary_unknown: dict[str, Unknown] = {}
        for association in self.graph.managed("aws_vpc_ipv4_cidr_block_association"):
            vpc = self.link(association, "vpc_id", association.get("vpc_id"), self._vpc_map())
            cidr = _network(association.get("cidr_block"))
            if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                for key in vpc.keys:
                    secondary[key].append(cidr)
                continue
            missing = cidr if isinstance(cidr, Unknown) else Unknown(
                f"{association.address} takes its CIDR block from an IPAM pool")
            for key in vpc.keys or ("",):  # "": the VPC cannot be told, it may be any
                secondary_unknown.setdefault(key, missing)
        for resource in self.graph.resources(*_VPC_TYPES):
            cidr = _network(self._read(resource, "cidr_block"))
            cidrs: list[IPNetwork] = []
            unknown = None
            if isinstance(cidr, Unknown):
                unknown = cidr
            elif cidr is not None:
                cidrs.append(cidr)
            for block in _blocks(resource.values.get("cidr_block_associations")):
                extra = _network(block.get("cidr_block"))
                if isinstance(extra, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                    cidrs.append(extra)
            cidrs.extend(secondary.get(resource.address, ()))
            self.net.vpcs[resource.address] = Vpc(
                resource.address, resource, tuple(dict.fromkeys(cidrs)), unknown,
                secondary_unknown.get(resource.address, secondary_unknown.get("")),
            )

    def _vpc_record(self, key: str) -> Vpc:
        found = self.net.vpcs.get(key)
        if found is None:
            found = Vpc(key, None)
            self.net.vpcs[key] = found
        return found

    # -- subnets --------------------------------------------------------------------

    def _subnets(self) -> None:
        for resource in self.graph.resources(*_SUBNET_TYPES):
            vpc = self.link(resource, "vpc_id", self._read(resource, "vpc_id"), self._vpc_map())
            zone = _text(self._read(resource, "availability_zone"))
            if not isinstance(zone, str):
                zone_id = _text(_input(resource, "availability_zone_id"))
                if isinstance(zone_id, str) and zone_id:
                    # zone IDs (use1-az1) and names (us-east-1a) map differently per account
                    zone = f"{zone_id}{ZONE_ID_SUFFIX}"
            cidr = _network(self._read(resource, "cidr_block"))
            public = _flag(self._read(resource, "map_public_ip_on_launch"))
            for key in vpc.keys:
                self._vpc_record(key)
            ipv6 = _network(_input(resource, "ipv6_cidr_block"))
            self.net.subnets[resource.address] = Subnet(
                resource.address, resource, vpc, zone, cidr, public, _carved_from(cidr, vpc),
                ipv6, _carved_from(ipv6, vpc))

    # -- route tables ---------------------------------------------------------------

    def _route_tables(self) -> None:
        net = self.net
        # the VPC's main route table: an explicit main association, else the default
        # route table resource, else the implicit main table (local routes only)
        for default in self.graph.managed("aws_default_route_table"):
            owners = self.link(default, "default_route_table_id",
                               default.get("default_route_table_id"), self._vpc_map()).keys
            vpc_id = _text(default.values.get("vpc_id"))
            if not owners and isinstance(vpc_id, str) and vpc_id in self.by_id:
                owners = (self.by_id[vpc_id],)
            for owner in owners:
                self.alias[_pseudo(owner, MAIN_ROUTE_TABLE)] = default.address
                net._main_tables[owner] = (default.address, ())
        for association in self.graph.managed("aws_main_route_table_association"):
            vpcs = self.link(association, "vpc_id", association.get("vpc_id"), self._vpc_map())
            chosen = self.link(association, "route_table_id", association.get("route_table_id"),
                               self._route_table_map())
            if len(chosen.keys) == 1:
                for owner in vpcs.keys:
                    self.alias[_pseudo(owner, MAIN_ROUTE_TABLE)] = chosen.keys[0]
                    net._main_tables[owner] = (chosen.keys[0], (association.address,))
        for resource in self.graph.resources(*_ROUTE_TABLE_TYPES):
            vpc_link = self.link(resource, "vpc_id", resource.get("vpc_id"), self._vpc_map())
            if resource.type == "aws_default_route_table" and not vpc_link:
                vpc_link = self.link(resource, "default_route_table_id", None, self._vpc_map())
            record = RouteTable(resource.address, resource, vpc_link,
                                complete=not resource.is_data)
            self._inline_routes(resource, record)
            net.route_tables[resource.address] = record
        for route in self.graph.managed("aws_route"):
            targets = self.link(route, "route_table_id", route.get("route_table_id"),
                                self._route_table_map())
            for key in targets.keys:
                parsed = self._route(route, key, route.values, inline=False)
                if parsed is not None:
                    net.route_table(key).routes.append(parsed)
        for vpc in list(net.vpcs.values()):
            # the implicit main table of a VPC in the input has only the local route
            key = _pseudo(vpc.key, MAIN_ROUTE_TABLE)
            if self.canonical(key) == key:
                implicit = net.route_table(key)
                implicit.vpc = Link((vpc.key,))
                implicit.complete = vpc.managed

    def _inline_routes(self, resource: Resource, table: RouteTable) -> None:
        attribute = "routes" if resource.is_data else "route"
        blocks = resource.get(attribute) if not resource.is_data else resource.values.get(
            attribute)
        blocks = reveal(blocks)
        if isinstance(blocks, Unknown):
            table.unknown = blocks
            return
        for block in _blocks(blocks):
            parsed = self._route(resource, resource.address, block, inline=True,
                                 attribute=attribute)
            if parsed is not None:
                table.routes.append(parsed)

    def _route(self, declared_by: Resource, table: str, values: Mapping[str, Any], *,
               inline: bool, attribute: str = "") -> Route | None:
        """One route from an `aws_route` or an inline block; None for an empty block."""
        def get(name: str) -> Any:
            if inline:
                return values.get(name)
            return _input(declared_by, name)

        destination: str | Unknown | None = None
        for name in ("destination_cidr_block", "destination_ipv6_cidr_block", "cidr_block",
                     "ipv6_cidr_block", "destination_prefix_list_id"):
            candidate = _text(get(name))
            if isinstance(candidate, Unknown) or (isinstance(candidate, str) and candidate):
                destination = candidate
                break
        if destination is None:
            return None
        for name, kind, types in _ROUTE_TARGETS:
            raw = get(name)
            value = _text(raw)
            if value is None or value == "":
                continue
            ref_attribute = attribute if inline else name
            refs = self.graph.references(declared_by, ref_attribute, *types) if types else []
            if isinstance(value, str):
                matched = self.by_id.get(value)
                target_resources = [self.graph.get(matched)] if matched else []
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
                return self._finish_route(declared_by, table, inline, destination, target_kind,
                                          matched or value, (), target_resource)
            # unknown value: the references say what it is
            if not refs:
                kind_guess = kind if name != "gateway_id" else UNKNOWN_TARGET
                return Route(table, declared_by, inline, destination, kind_guess, None)
            if name == "gateway_id":
                kinds = {_gateway_kind(None, r) for r in refs}
                kind = kinds.pop() if len(kinds) == 1 else UNKNOWN_TARGET
            if len(refs) == 1:
                return self._finish_route(declared_by, table, inline, destination, kind,
                                          refs[0].address, (), refs[0])
            return self._finish_route(declared_by, table, inline, destination, kind, None,
                                      tuple(r.address for r in refs), None, refs)
        return None

    def _finish_route(self, declared_by: Resource, table: str, inline: bool,
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
                value = _text(nat.get("connectivity_type"))
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

    def _effective_route_tables(self) -> None:
        net = self.net
        explicit: dict[str, list[tuple[str, str]]] = defaultdict(list)  # subnet -> (table, via)
        unresolved: list[tuple[Resource, Unknown | None, Link]] = []
        for association in self.graph.managed("aws_route_table_association"):
            if _input(association, "gateway_id") is not None and not association.sets(
                "subnet_id"
            ):
                continue  # an edge association (IGW / VGW ingress routing)
            subnets = self.link(association, "subnet_id", _input(association, "subnet_id"),
                                self._subnet_map())
            tables = self.link(association, "route_table_id",
                               association.get("route_table_id"), self._route_table_map())
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
        for data_table in self.graph.resources("aws_route_table"):
            if not data_table.is_data:
                continue
            for subnet in self.link(data_table, "subnet_id", data_table.get("subnet_id"),
                                    self._subnet_map()).keys:
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

    def _security_groups(self) -> None:
        net = self.net
        graph = self.graph
        for group in graph.resources("aws_default_security_group"):
            for owner in self.link(group, "vpc_id", group.get("vpc_id"), self._vpc_map()).keys:
                self.alias[_pseudo(owner, DEFAULT_SG)] = group.address
        for group in graph.resources(*_SG_TYPES):
            vpc_link = self.link(group, "vpc_id", group.get("vpc_id"), self._vpc_map())
            record = SecurityGroup(group.address, group, vpc_link, complete=not group.is_data)
            net.security_groups[group.address] = record
            if group.is_data:
                continue
            for direction in ("ingress", "egress"):
                blocks = group.get(direction)
                blocks = reveal(blocks)
                if isinstance(blocks, Unknown):
                    record.unknown = blocks
                    continue
                parsed = _blocks(blocks)
                for block in parsed:
                    rules = getattr(record, direction)
                    rules.append(self._inline_rule(group, direction, block, len(parsed)))
        # what AWS creates: the EKS cluster SG (all from itself in, all out), the VPC
        # default SG (all from itself in, all out) where no aws_default_security_group
        for cluster in self.clusters:
            key = _pseudo(cluster.address, CLUSTER_SG)
            record = SecurityGroup(key, None, EMPTY)
            record.ingress.append(_aws_rule("ingress", key, "created by EKS", peers=(key,)))
            record.egress.append(_aws_rule("egress", key, "created by EKS",
                                           cidrs=_ALL_ADDRESSES))
            net.security_groups[key] = record
        for vpc_record in list(net.vpcs.values()):
            key = _pseudo(vpc_record.key, DEFAULT_SG)
            if self.canonical(key) != key:
                continue
            record = SecurityGroup(key, None, Link((vpc_record.key,)),
                                   complete=vpc_record.managed)
            record.ingress.append(_aws_rule("ingress", key, "AWS default", peers=(key,)))
            record.egress.append(_aws_rule("egress", key, "AWS default", cidrs=_ALL_ADDRESSES))
            net.security_groups[key] = record
        for rule in graph.managed("aws_security_group_rule"):
            self._rule_resource(rule, _text(rule.get("type")), "protocol",
                                "source_security_group_id", "prefix_list_ids",
                                ("cidr_blocks", "ipv6_cidr_blocks"))
        for rule in graph.managed("aws_vpc_security_group_ingress_rule"):
            self._rule_resource(rule, "ingress", "ip_protocol", "referenced_security_group_id",
                                "prefix_list_id", ("cidr_ipv4", "cidr_ipv6"))
        for rule in graph.managed("aws_vpc_security_group_egress_rule"):
            self._rule_resource(rule, "egress", "ip_protocol", "referenced_security_group_id",
                                "prefix_list_id", ("cidr_ipv4", "cidr_ipv6"))

    def _inline_rule(self, group: Resource, direction: str, block: Mapping[str, Any],
                     siblings: int) -> Rule:
        protocol = _protocol(block.get("protocol"))
        cidrs: list[IPNetwork] = []
        blocks_of: list[str] = []
        unknown: Unknown | None = None
        for attribute, family in (("cidr_blocks", "cidr_block"),
                                  ("ipv6_cidr_blocks", "ipv6_cidr_block")):
            found, unknown_cidrs = _networks(block.get(attribute))
            cidrs.extend(found)
            if unknown_cidrs:
                inferred = self._cidrs_from_references(group, direction, unknown_cidrs,
                                                       siblings, family)
                if inferred is None:
                    unknown = _first(unknown, unknown_cidrs[0])
                else:
                    cidrs.extend(inferred[0])
                    blocks_of.extend(inferred[1])
        peers_link = self._inline_peers(group, direction, block.get("security_groups"), siblings)
        peers = list(peers_link.keys)
        if _flag(block.get("self")) is True:
            peers.append(group.address)
        prefix_known, prefix_unknown = _leaves(block.get("prefix_list_ids"))
        prefix_lists = [self._prefix_key(p) for p in prefix_known if isinstance(p, str) and p]
        if prefix_unknown:
            refs = self.graph.references(group, direction, *_PREFIX_LIST_TYPES)
            prefix_lists.extend(self._prefix_list_map()[r.type](r) or r.address for r in refs)
            if refs:
                prefix_unknown = []
        unknown = _first(peers_link.unknown, unknown)
        if prefix_unknown:
            unknown = _first(unknown, prefix_unknown[0])
        return Rule(direction, self.canonical(group.address), f"{group.address} {direction}",
                    protocol, _int(block.get("from_port")), _int(block.get("to_port")),
                    tuple(cidrs), tuple(dict.fromkeys(peers)), tuple(prefix_lists), unknown,
                    tuple(dict.fromkeys(blocks_of)))

    def _inline_peers(self, group: Resource, direction: str, value: Any, siblings: int) -> Link:
        known, unknown = _leaves(value)
        keys = [self.canonical(self.by_id.get(s, s)) for s in known if isinstance(s, str) and s]
        if not unknown:
            return Link(tuple(dict.fromkeys(keys)))
        # a plan records references per attribute, not per inline block: take the
        # unknown's own references where the loader has them, else the attribute's
        refs = self._resources_named(unknown[0].references, _SG_REF_TYPES)
        if not refs:
            # several blocks with unknown groups: each gets them all (over-approximates)
            refs = self.graph.references(group, direction, *_SG_REF_TYPES)
        mapping = self._sg_map()
        for ref in refs:
            key = mapping[ref.type](ref)
            if key is not None:
                keys.append(self.canonical(key))
        return Link(tuple(dict.fromkeys(keys)), None if refs else unknown[0])

    def _resources_named(self, references: Iterable[str], types: tuple[str, ...]
                         ) -> list[Resource]:
        """The instances an `Unknown`'s references name (`aws_x.y[0].id` -> `aws_x.y[0]`).

        Empty where any resource reference names no single instance (`aws_x.y` of a
        resource with `count`): then the references do not say which instances it is.
        """
        found: list[Resource] = []
        for text in references:
            if text.split(".", 1)[0] in _NOT_RESOURCE_REFERENCES:
                continue
            parts = split_address(text)
            resource = None
            for end in range(len(parts), 1, -1):
                resource = self.graph.get(".".join(parts[:end]))
                if resource is not None:
                    break
            if resource is None:
                return []
            if resource.type in types:
                found.append(resource)
        return found

    def _cidrs_from_references(self, source: Resource, attribute: str,
                               unknown: list[Unknown], siblings: int, family: str = "cidr_block"
                               ) -> tuple[list[IPNetwork], list[str]] | None:
        """CIDRs written as `aws_vpc.main.cidr_block` / `aws_subnet.x[*].cidr_block`.

        `family` is the attribute the references read (`ipv6_cidr_block` for IPv6
        sources). A VPC or subnet whose IPv4 CIDR the input cannot give is returned by
        key: the rule admits that VPC's primary block, that subnet, whatever it is.
        """
        refs = self._resources_named(unknown[0].references, (*_VPC_TYPES, *_SUBNET_TYPES))
        if not refs and siblings <= 1:
            refs = self.graph.references(source, attribute, *_VPC_TYPES, *_SUBNET_TYPES)
        found: list[IPNetwork] = []
        blocks: list[str] = []
        for ref in refs:
            cidr = _network(self._read(ref, family))
            if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                found.append(cidr)
            elif family == "cidr_block":
                blocks.append(ref.address)  # that VPC's primary block, that subnet's CIDR
            elif family == "ipv6_cidr_block" and isinstance(cidr, Unknown):
                blocks.append(ref.address + IPV6_SUFFIX)  # assigned by AWS at apply
            else:
                return None
        return (found, blocks) if found or blocks else None

    def _prefix_key(self, identifier: str) -> str:
        return self.canonical(self.by_id.get(identifier, identifier))

    def _rule_resource(self, rule: Resource, direction: str | Unknown | None,
                       protocol_attribute: str, peer_attribute: str, prefix_attribute: str,
                       cidr_attributes: tuple[str, ...]) -> None:
        groups = self.link(rule, "security_group_id", rule.get("security_group_id"),
                           self._sg_map())
        if not isinstance(direction, str) or direction not in ("ingress", "egress"):
            return
        if not groups.keys:
            self._rule_of_one_of(rule, direction)
        cidrs: list[IPNetwork] = []
        blocks_of: list[str] = []
        unknown: Unknown | None = None
        for attribute in cidr_attributes:
            found, missing = _networks(_input(rule, attribute))
            cidrs.extend(found)
            if missing:
                family = "ipv6_cidr_block" if "ipv6" in attribute else "cidr_block"
                inferred = self._cidrs_from_references(rule, attribute, missing, 1, family)
                if inferred is None:
                    unknown = _first(unknown, missing[0])
                else:
                    cidrs.extend(inferred[0])
                    blocks_of.extend(inferred[1])
        peers = self.link(rule, peer_attribute, _input(rule, peer_attribute), self._sg_map())
        prefixes = self.link(rule, prefix_attribute, _input(rule, prefix_attribute),
                             self._prefix_list_map())
        unknown = _first(unknown, peers.unknown, prefixes.unknown)
        peer_keys = list(peers.keys)
        if _flag(_input(rule, "self")) is True:
            peer_keys.extend(groups.keys)
        from_port = _int(_input(rule, "from_port"))
        to_port = _int(_input(rule, "to_port"))
        protocol = _protocol(rule.get(protocol_attribute))
        for key in groups.keys:
            record = self.net.security_group(key)
            parsed = Rule(direction, key, rule.address, protocol, from_port, to_port,
                          tuple(cidrs), tuple(dict.fromkeys(peer_keys)),
                          tuple(dict.fromkeys(self.canonical(p) for p in prefixes.keys)),
                          unknown, tuple(dict.fromkeys(blocks_of)))
            (record.ingress if direction == "ingress" else record.egress).append(parsed)

    def _rule_of_one_of(self, rule: Resource, direction: str) -> None:
        """Mark every group a rule may belong to (a block-level edge) as not fully read.

        Attaching the rule to one of them would be a guess, and to none a false `fail`:
        its candidates' `direction` rules stay undecided, once per rule block.
        """
        mapping = self._sg_map()
        for block, instances in self.graph.block_references(rule, "security_group_id"):
            why = one_of_instances(f"{rule.config_address}.security_group_id", block,
                                   self.graph.configuration is not None)
            for address in instances:
                target = self.graph.get(address)
                key = mapping[target.type](target) if (
                    target is not None and target.type in mapping) else None
                record = self.net.security_groups.get(self.canonical(key)) if key else None
                if record is not None:
                    record.open_rules.setdefault((direction, rule.config_address), why)

    # -- endpoints ------------------------------------------------------------------

    def _endpoints(self) -> None:
        net = self.net
        graph = self.graph
        extra_subnets: dict[str, Link] = defaultdict(lambda: EMPTY)
        extra_tables: dict[str, Link] = defaultdict(lambda: EMPTY)
        extra_groups: dict[str, Link] = defaultdict(lambda: EMPTY)
        replaces_default: set[str] = set()
        endpoint_map: dict[str, Callable[[Resource], str | None]] = {
            "aws_vpc_endpoint": lambda r: r.address
        }
        for kind, attribute, mapping, into in (
            ("aws_vpc_endpoint_subnet_association", "subnet_id", self._subnet_map(),
             extra_subnets),
            ("aws_vpc_endpoint_route_table_association", "route_table_id",
             self._route_table_map(), extra_tables),
            ("aws_vpc_endpoint_security_group_association", "security_group_id",
             self._sg_map(), extra_groups),
        ):
            for association in graph.managed(kind):
                targets = self.link(association, "vpc_endpoint_id",
                                    association.get("vpc_endpoint_id"), endpoint_map)
                found = self.link(association, attribute, association.get(attribute), mapping)
                found = Link(found.keys, found.unknown, (association.address,))
                for endpoint_key in targets.keys:
                    into[endpoint_key] = into[endpoint_key].merged(found)
                    if (kind == "aws_vpc_endpoint_security_group_association"
                            and _flag(association.get("replace_default_association")) is True):
                        replaces_default.add(endpoint_key)
        for resource in graph.managed("aws_vpc_endpoint"):
            vpc = self.link(resource, "vpc_id", resource.get("vpc_id"), self._vpc_map())
            service_name = _text(resource.get("service_name"))
            service, region = self._service_of(resource, service_name)
            raw_type = _text(resource.get("vpc_endpoint_type"))
            endpoint_type: str | Unknown = raw_type if raw_type is not None else "Gateway"
            subnets = self.link(resource, "subnet_ids", resource.get("subnet_ids"),
                                self._subnet_map())
            for block in _blocks(resource.values.get("subnet_configuration")):
                subnets = subnets.merged(Link(tuple(
                    self.canonical(self.by_id.get(s, s))
                    for s in _leaves(block.get("subnet_id"))[0] if isinstance(s, str) and s)))
            subnets = subnets.merged(extra_subnets.get(resource.address, EMPTY))
            tables = self.link(resource, "route_table_ids", resource.get("route_table_ids"),
                               self._route_table_map())
            tables = tables.merged(extra_tables.get(resource.address, EMPTY))
            groups = self.link(resource, "security_group_ids",
                               resource.get("security_group_ids"), self._sg_map())
            associated = extra_groups.get(resource.address, EMPTY)
            uses_default = (
                isinstance(endpoint_type, str) and endpoint_type.lower() == "interface"
                and not groups.keys and groups.unknown is None
                and resource.address not in replaces_default
            )
            groups = groups.merged(associated)
            if uses_default and len(vpc.keys) == 1:
                default = self.canonical(_pseudo(vpc.keys[0], DEFAULT_SG))
                groups = Link((default, *groups.keys), groups.unknown, groups.via)
            private_dns = _flag(resource.get("private_dns_enabled"))
            endpoint = Endpoint(
                resource, vpc, service_name, service, region, endpoint_type,
                not resource.sets("vpc_endpoint_type"), subnets, tables, groups,
                uses_default, private_dns,
            )
            net.endpoints.append(endpoint)
            for key in vpc.keys:
                self._vpc_record(key)
                net._endpoints_by_vpc.setdefault(key, []).append(endpoint)

    def _service_of(self, resource: Resource, name: str | Unknown | None
                    ) -> tuple[str | None, str | Unknown | None]:
        """(service suffix, region) of `com.amazonaws.<region>.<service>`."""
        if isinstance(name, str):
            match = _SERVICE_NAME.match(name.strip())
            if match:
                return match.group(2), match.group(1)
            if "${" in name:  # built from a region the input cannot give
                suffix = _SERVICE_SUFFIX.search(name.strip())
                region_unknown = Unknown(f"{resource.address}.service_name is {name!r}, "
                                         "built from a value the input does not give")
                return (suffix.group(1) if suffix else None), region_unknown
            return None, None
        if isinstance(name, Unknown):
            # terraform-aws-modules/vpc's endpoints read the name from a data source
            for source in self.graph.references(resource, "service_name",
                                                "aws_vpc_endpoint_service"):
                service = _text(source.get("service"))
                known = _text(source.get("service_name"))
                if isinstance(known, str):
                    return self._service_of(resource, known)
                if isinstance(service, str):
                    # the data source looks the service up in its provider's region
                    region = source.region
                    if isinstance(region, str):
                        return service, region
                    return service, Unknown(f"{source.address} reads the service name in "
                                            "a provider region the input does not give")
            template = re.search(r"com\.amazonaws\.\$\{[^}]*\}\.([a-z0-9.-]+)", name.reason)
            if template:
                return template.group(1), name
        return None, name

    # -- clusters and their nodes ---------------------------------------------------

    def _clusters(self) -> None:
        graph = self.graph
        net = self.net
        cluster_map = {"aws_eks_cluster": lambda r: r.address}
        names: dict[str, list[str]] = defaultdict(list)
        for cluster in self.clusters:
            name = _text(cluster.get("name"))
            if isinstance(name, str):
                names[name].append(cluster.address)

        def members(resource: Resource, attribute: str = "cluster_name") -> tuple[str, ...]:
            return self._cluster_members(resource, attribute, cluster_map, names)

        node_groups: dict[str, list[Resource]] = defaultdict(list)
        for group in graph.managed("aws_eks_node_group"):
            for owner in members(group):
                node_groups[owner].append(group)
        fargate: dict[str, list[Resource]] = defaultdict(list)
        for profile in graph.managed("aws_eks_fargate_profile"):
            for owner in members(profile):
                fargate[owner].append(profile)
        ec2_roles: dict[str, set[str]] = defaultdict(set)  # cluster -> role keys
        for entry in graph.managed("aws_eks_access_entry"):
            kind = _text(entry.get("type"))
            if not (isinstance(kind, str) and kind.upper() in ("EC2_LINUX", "EC2_WINDOWS")):
                continue
            roles = self._role_keys(entry, "principal_arn")
            for owner in members(entry):
                ec2_roles[owner].update(roles)
        self_managed = self._self_managed_members(
            graph.managed("aws_autoscaling_group"), names, ec2_roles)

        for cluster in self.clusters:
            info = self._cluster_network(cluster)
            for group in node_groups.get(cluster.address, ()):
                info.nodes.append(self._managed_node_group(group, info))
            for profile in fargate.get(cluster.address, ()):
                subnets = self.link(profile, "subnet_ids", profile.get("subnet_ids"),
                                    self._subnet_map())
                if not subnets.keys and subnets.unknown is None:
                    subnets = info.subnets  # no subnet_ids: the cluster's private subnets
                info.nodes.append(NodeSource(profile, FARGATE_PROFILE, subnets,
                                             Link((info.security_group,))))
            for asg, reason in self_managed.get(cluster.address, ()):
                info.nodes.append(self._self_managed(asg, reason))
            if not info.nodes:
                info.nodes.append(NodeSource(cluster, CLUSTER_SUBNETS, info.subnets,
                                             Link((info.security_group,))))
            self._settle_vpc(info)
            net.clusters.append(info)

    def _cluster_members(self, resource: Resource, attribute: str,
                         cluster_map: Mapping[str, Callable[[Resource], str | None]],
                         names: Mapping[str, list[str]]) -> tuple[str, ...]:
        """The clusters `resource.cluster_name` names; every cluster where it cannot tell."""
        refs = [r for r in self.graph.references(resource, attribute, "aws_eks_cluster")]
        found = [r.address for r in refs if not r.is_data]
        for data in (r for r in refs if r.is_data):
            name = _text(data.get("name"))
            if isinstance(name, str):
                found.extend(names.get(name, ()))
        if found:
            return tuple(dict.fromkeys(found))
        value = _text(resource.get(attribute))
        if isinstance(value, str):
            return tuple(names.get(value, ()))
        return tuple(c.address for c in self.clusters)

    def _cluster_network(self, cluster: Resource) -> ClusterNetwork:
        subnets = self.link(cluster, "vpc_config.subnet_ids",
                            cluster.get("vpc_config.subnet_ids"), self._subnet_map())
        name = _text(cluster.get("name"))
        family = _text(cluster.get("kubernetes_network_config.ip_family"))
        ipv6 = family if isinstance(family, Unknown) else family == "ipv6"
        return ClusterNetwork(cluster, name, cluster.region, None, (), None, subnets,
                              _pseudo(cluster.address, CLUSTER_SG), ipv6=ipv6)

    def _launch_templates(self, resource: Resource) -> list[Resource]:
        found = self.graph.references(resource, None, "aws_launch_template",
                                      "aws_launch_configuration")
        if found:
            return found
        for attribute in ("launch_template.id", "launch_template.name", "launch_configuration"):
            value = _text(resource.get(attribute))
            if isinstance(value, str) and value in self.by_id:
                target = self.graph.get(self.by_id[value])
                if target is not None:
                    return [target]
            if isinstance(value, str):
                by_name = [t for t in self.graph.resources("aws_launch_template",
                                                           "aws_launch_configuration")
                           if _text(t.get("name")) == value]
                if by_name:
                    return by_name
        return []

    def _launch_template_groups(self, template: Resource) -> Link:
        """The SGs a launch template (or launch configuration) gives its instances."""
        mapping = self._sg_map()
        if template.type == "aws_launch_configuration":
            return self.link(template, "security_groups", template.get("security_groups"),
                             mapping)
        groups = self.link(template, "vpc_security_group_ids",
                           template.get("vpc_security_group_ids"), mapping)
        for block in _blocks(template.get("network_interfaces")):
            value = block.get("security_groups")
            known, unknown = _leaves(value)
            if not known and not unknown:
                continue
            found = self.link(template, "network_interfaces.security_groups", value, mapping)
            groups = groups.merged(found)
        names = self.link(template, "security_group_names",
                          _input(template, "security_group_names"), {})
        if names.keys:
            groups = groups.merged(Link(tuple(
                self._sg_by_name(n) for n in names.keys)))
        return groups

    def _sg_by_name(self, name: str) -> str:
        for group in self.graph.resources("aws_security_group"):
            if _text(group.get("name")) == name:
                return group.address
        return name

    def _managed_node_group(self, group: Resource, info: ClusterNetwork) -> NodeSource:
        subnets = self.link(group, "subnet_ids", group.get("subnet_ids"), self._subnet_map())
        templates = [t for t in self._launch_templates(group)
                     if t.type == "aws_launch_template"]
        template = templates[0] if templates else None
        groups = EMPTY
        if template is not None:
            groups = self._launch_template_groups(template)
        elif _blocks(group.get("launch_template")):
            # a launch template the input cannot tell (`id = local.launch_template_id`,
            # which a plan does not record, or one managed elsewhere): its security
            # groups, not the cluster's, may be the nodes'
            groups = Link((), Unknown(f"the launch template of {group.address} is not "
                                      "known, so neither are the security groups it gives"))
        if not groups.keys and groups.unknown is None:
            # no security groups in the launch template (or none at all): EKS puts the
            # cluster security group on the nodes
            groups = Link((info.security_group,))
        sources: tuple[str, ...] = ()
        if template is None and _blocks(group.get("remote_access")):
            groups = groups.merged(Link((_pseudo(group.address, REMOTE_ACCESS_SG),)))
            sources = self.link(group, "remote_access.source_security_group_ids",
                                group.get("remote_access.source_security_group_ids"),
                                self._sg_map()).keys
        roles = self._role_keys(group, "node_role_arn")
        return NodeSource(group, MANAGED_NODE_GROUP, subnets, groups, template, roles=roles,
                          remote_access_sources=sources)

    def _self_managed_members(self, asgs: list[Resource], names: Mapping[str, list[str]],
                              ec2_roles: Mapping[str, set[str]]
                              ) -> dict[str, list[tuple[Resource, str]]]:
        """Cluster -> its self-managed Auto Scaling groups (in address order), and why.

        Each group's facts (launch templates, user data, tags, instance roles) are read
        once and matched to clusters through indexes, never group by cluster: the user
        data names a cluster (a reference, or its name as a whole word), the group carries
        `kubernetes.io/cluster/<name>`, or its instance role has an EC2 access entry.
        """
        by_role: dict[str, list[str]] = defaultdict(list)
        for owner, roles in ec2_roles.items():
            for role in roles:
                by_role[role].append(owner)
        odd_names = [n for n in names if _WORD.fullmatch(n) is None]
        unnamed = [c.address for c in self.clusters if not isinstance(_text(c.get("name")), str)]
        found: dict[str, list[tuple[Resource, str]]] = defaultdict(list)
        for asg in asgs:
            reasons: dict[str, str] = {}
            templates = self._launch_templates(asg)
            for template in templates:
                why = f"the user data of {template.address} names the cluster"
                named = [r.address for r in self.graph.references(
                    template, "user_data", "aws_eks_cluster")]
                text = _decode_user_data(template.get("user_data"))
                if text is not None:
                    words = set(_WORD.findall(text))
                    named.extend(a for n in names if n in words for a in names[n])
                    named.extend(a for n in odd_names if names_cluster(text, n)
                                 for a in names[n])
                for owner in named:
                    reasons.setdefault(owner, why)
            for key in self._asg_tag_keys(asg):
                if key.startswith(_CLUSTER_TAG):
                    for owner in names.get(key[len(_CLUSTER_TAG):], ()):
                        reasons.setdefault(owner, f"it carries the tag {key}")
            if unnamed:
                tagged = {r.address for r in self.graph.references(asg, "tag", "aws_eks_cluster")}
                for owner in unnamed:
                    if owner in tagged:
                        reasons.setdefault(
                            owner, "it carries the tag kubernetes.io/cluster/<name>")
            if by_role:
                for template in templates:
                    for role in self._instance_profile_roles(template):
                        for owner in by_role.get(role, ()):
                            reasons.setdefault(
                                owner, "its instance role has an EC2 access entry on the "
                                       "cluster")
            for owner, why in reasons.items():
                found[owner].append((asg, why))
        return found

    def _self_managed(self, asg: Resource, reason: str) -> NodeSource:
        templates = self._launch_templates(asg)
        roles: tuple[str, ...] = ()
        for template in templates:
            roles += self._instance_profile_roles(template)
        subnets = self.link(asg, "vpc_zone_identifier", asg.get("vpc_zone_identifier"),
                            self._subnet_map())
        first = templates[0] if templates else None
        groups = EMPTY
        if first is not None:
            groups = self._launch_template_groups(first)
        else:
            # every ASG launches from a template or configuration: one the input cannot
            # tell (a plan drops `local.launch_template_id`) gives groups not known
            groups = Link((), Unknown(f"the launch template of {asg.address} is not "
                                      "known, so neither are the security groups it gives"))
        if not groups.keys and groups.unknown is None:
            # an instance launched without security groups gets the VPC's default SG
            vpcs = {v for s in subnets.keys for v in self.net.subnet(s).vpc.keys}
            groups = Link(tuple(self.canonical(_pseudo(v, DEFAULT_SG)) for v in sorted(vpcs)))
        return NodeSource(asg, SELF_MANAGED, subnets, groups, first, reason, roles)

    def _asg_tag_keys(self, asg: Resource) -> list[str]:
        keys: list[str] = []
        for block in _blocks(asg.get("tag")):
            key = _text(block.get("key"))
            if isinstance(key, str):
                keys.append(key)
        tags = reveal(asg.get("tags"))
        if isinstance(tags, list):  # the old list-of-maps form
            for item in tags:
                item = reveal(item)
                if isinstance(item, dict):
                    key = _text(item.get("key"))
                    if isinstance(key, str):
                        keys.append(key)
        elif isinstance(tags, dict):
            keys.extend(str(k) for k in tags)
        return keys

    def _role_keys(self, resource: Resource, attribute: str) -> tuple[str, ...]:
        link = self.link(resource, attribute, resource.get(attribute),
                         {"aws_iam_role": lambda r: r.address})
        keys = []
        for key in link.keys:
            if key.startswith("arn:") and ":role/" in key:
                name = key.rsplit("/", 1)[-1]
                keys.append(self._role_by_name(name) or key)
            else:
                keys.append(key)
        return tuple(keys)

    def _role_by_name(self, name: str) -> str | None:
        for role in self.graph.resources("aws_iam_role"):
            if _text(role.get("name")) == name:
                return role.address
        return None

    def _instance_profile_roles(self, template: Resource) -> tuple[str, ...]:
        profiles = self.graph.references(template, "iam_instance_profile",
                                         "aws_iam_instance_profile")
        if not profiles:
            attribute = ("iam_instance_profile" if template.type == "aws_launch_configuration"
                         else "iam_instance_profile.name")
            value = _text(template.get(attribute))
            if not isinstance(value, str) and template.type == "aws_launch_template":
                value = _text(template.get("iam_instance_profile.arn"))
            if isinstance(value, str):
                profiles = [p for p in self.graph.resources("aws_iam_instance_profile")
                            if value in (_text(p.get("name")), _text(p.get("arn")))]
        roles: list[str] = []
        for profile in profiles:
            refs = self.graph.references(profile, "role", "aws_iam_role")
            if refs:
                roles.extend(r.address for r in refs)
                continue
            name = _text(profile.get("role"))
            if isinstance(name, str):
                roles.append(self._role_by_name(name) or name)
        return tuple(roles)

    def _settle_vpc(self, info: ClusterNetwork) -> None:
        """The cluster's VPC: through its subnets, else what shares its literal IDs."""
        net = self.net
        cluster = info.cluster
        candidates: dict[str, tuple[str, ...]] = {}
        for subnet_key in info.subnets.keys:
            subnet = net.subnet(subnet_key)
            for vpc in subnet.vpc.keys:
                candidates.setdefault(vpc, (cluster.address, subnet_key, vpc))
        if not candidates:
            vpc_id = _text(cluster.get("vpc_config.vpc_id"))
            if isinstance(vpc_id, str) and vpc_id:
                key = self.canonical(self.by_id.get(vpc_id, vpc_id))
                candidates[key] = (cluster.address, key)
        if not candidates:
            for source in info.nodes:
                for subnet_key in source.subnets.keys:
                    for vpc in net.subnet(subnet_key).vpc.keys:
                        candidates.setdefault(vpc, (cluster.address, source.address,
                                                    subnet_key, vpc))
        if not candidates:
            # a pre-existing VPC known only by ID: endpoints or security groups that name
            # the cluster's literal subnet IDs or security groups tell which one
            wanted = set(info.subnets.keys) | {
                k for s in info.nodes for k in s.subnets.keys
            }
            for endpoint in net.endpoints:
                if wanted & set(endpoint.subnets.keys):
                    for vpc in endpoint.vpc.keys:
                        candidates.setdefault(vpc, (cluster.address, endpoint.address, vpc))
            groups = self.link(cluster, "vpc_config.security_group_ids",
                               cluster.get("vpc_config.security_group_ids"), self._sg_map())
            for group in groups.keys:
                for vpc in net.security_group(group).vpc.keys:
                    candidates.setdefault(vpc, (cluster.address, group, vpc))
        if len(candidates) == 1:
            chosen = next(iter(candidates))
            info.vpc = chosen
            info.vpc_evidence = candidates[vpc]
            self._vpc_record(vpc)
            for subnet_key in info.subnets.keys:
                subnet = net.subnet(subnet_key)
                if not subnet.vpc.keys and subnet.resource is None:
                    subnet.vpc = Link((vpc,))
            for source in info.nodes:
                for subnet_key in source.subnets.keys:
                    subnet = net.subnet(subnet_key)
                    if not subnet.vpc.keys and subnet.resource is None:
                        subnet.vpc = Link((vpc,))
        elif len(candidates) > 1:
            info.vpc_unknown = (f"its subnets are in several VPCs "
                                f"({', '.join(sorted(candidates))})")
        else:
            unknown = info.subnets.unknown
            if unknown is not None:
                info.vpc_unknown = (f"vpc_config.subnet_ids is not known and refers to no "
                                    f"subnet in the input "
                                    f"({explain(unknown, self.graph.kind)})")
            elif in_input := [net.subnet(k) for k in info.subnets.keys
                              if net.subnet(k).resource is not None]:
                subnet = in_input[0]
                why = ("" if subnet.vpc.unknown is None else
                       f" ({explain(subnet.vpc.unknown, self.graph.kind)})")
                info.vpc_unknown = f"the vpc_id of its subnet {subnet.key} is not known{why}"
            elif info.subnets.keys:
                info.vpc_unknown = (f"its subnets ({', '.join(info.subnets.keys)}) are not in "
                                    "the input and nothing in the input names their VPC; "
                                    + managed_elsewhere("their VPC"))
            else:
                info.vpc_unknown = "vpc_config.subnet_ids names no subnet"
        if info.region is None or isinstance(info.region, Unknown):
            regions = {e.region for e in net.endpoints_in(info.vpc) if isinstance(e.region, str)}
            if len(regions) == 1:
                info.region = regions.pop()


_ALL_ADDRESSES: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("0.0.0.0/0"),
    ipaddress.ip_network("::/0"),
)


_NOT_RESOURCE_REFERENCES = frozenset(
    {"var", "local", "count", "each", "path", "terraform", "self", "module"})


def _aws_rule(direction: str, key: str, what: str, *, peers: tuple[str, ...] = (),
              cidrs: tuple[IPNetwork, ...] = ()) -> Rule:
    return Rule(direction, key, f"{key} rule {what}", "-1", None, None, cidrs, peers)


def _protocol(value: Any) -> str | Unknown:
    text = _text(value)
    if isinstance(text, Unknown):
        return text
    if text is None:
        return "-1"
    lowered = text.strip().lower()
    return {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6",
            "-1": "-1"}.get(lowered, lowered)


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
