"""The network model: what a scan knows about VPCs, subnets, routes, endpoints and SGs.

Plain records (`Vpc`, `Subnet`, `RouteTable`, `Endpoint`, `SecurityGroup`, `Rule`,
`NodeSource`, `ClusterNetwork`) and the `Network` index that holds them, with the
queries policies ask of it (which route table a subnet really uses, which CIDR blocks
hold it, whether a default route reaches the internet). Built by `tfcheck.facts.builder`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import msgspec

from tfcheck.facts.vocabulary import (
    DEFAULT_SG,
    EGRESS_ONLY_GATEWAY,
    EMPTY,
    INSTANCE,
    INTERNET_GATEWAY,
    MAIN_ROUTE_TABLE,
    NAT_GATEWAY,
    NETWORK_INTERFACE,
    PREFIX_LIST,
    UNKNOWN_TARGET,
    IPNetwork,
    Link,
    covers,
    ip_network_of,
    pseudo_key,
)
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Unknown
from tfcheck.unknowns import (
    explain,
    managed_elsewhere,
)

# -- facts ------------------------------------------------------------------------------


class Route(msgspec.Struct, frozen=True):
    """One route of a route table, from an `aws_route` or an inline `route` block."""

    table: str
    declared_by: Resource  # the aws_route, or the route table holding the inline block
    inline: bool
    destination: str | Unknown  # CIDR (v4/v6) or prefix list ID
    kind: str  # NAT_GATEWAY, INTERNET_GATEWAY, ...
    target: str | None  # key of the target (address or literal ID)
    candidates: tuple[str, ...] = ()  # several possible targets (inline blocks)
    connectivity: str | Unknown | None = None  # NAT gateways: "public" / "private"

    @property
    def is_default(self) -> bool | None:
        """A route for all IPv4 or all IPv6 destinations; None where not known."""
        if isinstance(self.destination, Unknown):
            return None
        network = ip_network_of(self.destination)
        if isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return network.prefixlen == 0
        return False

    @property
    def hop(self) -> str:
        """The route as an evidence step: `aws_route.nat (0.0.0.0/0)`."""
        destination = self.destination if isinstance(self.destination, str) else "?"
        if self.inline:
            return f"{self.declared_by.address} route ({destination})"
        return f"{self.declared_by.address} ({destination})"

    @property
    def target_label(self) -> str:
        if self.target is not None:
            return self.target
        if self.candidates:
            return " or ".join(self.candidates)
        return f"an unknown {self.kind}" if self.kind != UNKNOWN_TARGET else "an unknown target"


class RouteTable(msgspec.Struct):
    """A route table with its routes; `complete` is False where routes may exist unseen."""

    key: str
    resource: Resource | None
    vpc: Link
    routes: list[Route] = msgspec.field(default_factory=list)
    unknown: Unknown | None = None  # inline routes the input cannot give
    complete: bool = True


class EffectiveRouteTable(msgspec.Struct, frozen=True):
    """The route table a subnet's traffic uses, and how that was decided.

    `tables` normally holds one key; several where the input cannot tell which of them
    an association picks. `via` names the association that decided it (explicit
    association, `aws_main_route_table_association`, or nothing for the implicit main
    table). `unknown` says why it cannot be told at all.
    """

    tables: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    main: bool = False
    unknown: str | None = None


class Subnet(msgspec.Struct):
    """A subnet in the input (managed or data source) or known only by its ID."""

    key: str
    resource: Resource | None
    vpc: Link
    availability_zone: str | Unknown | None
    cidr: IPNetwork | Unknown | None
    map_public_ip: bool | Unknown | None
    # the VPC whose primary block the subnet is carved from (`cidrsubnet(X.cidr_block,
    # ...)`), where its CIDR is not known
    carved_from: str | None = None
    ipv6_cidr: IPNetwork | Unknown | None = None
    ipv6_carved_from: str | None = None  # likewise, `cidrsubnet(X.ipv6_cidr_block, ...)`

    @property
    def in_input(self) -> bool:
        return self.resource is not None


class Vpc(msgspec.Struct):
    """A VPC: `aws_vpc` / `aws_default_vpc` / `data.aws_vpc`, or an ID only."""

    key: str
    resource: Resource | None
    cidrs: tuple[IPNetwork, ...] = ()
    cidr_unknown: Unknown | None = None
    # a secondary CIDR association whose block the input cannot give
    secondary_unknown: Unknown | None = None

    @property
    def managed(self) -> bool:
        return self.resource is not None and not self.resource.is_data

    @property
    def main_route_table_key(self) -> str:
        return pseudo_key(self.key, MAIN_ROUTE_TABLE)

    @property
    def default_security_group_key(self) -> str:
        return pseudo_key(self.key, DEFAULT_SG)


class Endpoint(msgspec.Struct):
    """An `aws_vpc_endpoint` with everything attached to it, association resources too."""

    resource: Resource
    vpc: Link
    service_name: str | Unknown | None
    service: str | None  # "ecr.api"; None where not readable
    region: str | Unknown | None  # from the service name; Unknown where built from one
    type: str | Unknown  # "Interface", "Gateway", "GatewayLoadBalancer"
    type_is_default: bool
    subnets: Link
    route_tables: Link
    security_groups: Link
    uses_default_security_group: bool
    private_dns: bool | Unknown | None

    @property
    def address(self) -> str:
        return self.resource.address

    @property
    def is_interface(self) -> bool | None:
        if isinstance(self.type, Unknown):
            return None
        return self.type.lower() == "interface"

    @property
    def is_gateway(self) -> bool | None:
        if isinstance(self.type, Unknown):
            return None
        return self.type.lower() == "gateway"

    @property
    def prefix_list_key(self) -> str:
        """The key of the AWS-managed prefix list a gateway endpoint routes to."""
        return pseudo_key(self.resource.address, PREFIX_LIST)


class Rule(msgspec.Struct, frozen=True):
    """One security group rule, however it was written, normalised.

    `protocol` is "-1" (all), "tcp", "udp", "icmp", "icmpv6" or a protocol number;
    ports are inclusive and `None` where the rule covers all ports. `peers` are keys of
    security groups (including the group itself for `self = true`), `prefix_lists` keys
    of prefix lists (`pl-...`, or `<s3 gateway endpoint> (prefix list)`).
    """

    direction: str  # "ingress" | "egress"
    security_group: str  # key of the group the rule belongs to
    declared_by: str  # address, or a description of what AWS creates
    protocol: str | Unknown
    from_port: int | Unknown | None
    to_port: int | Unknown | None
    cidrs: tuple[IPNetwork, ...] = ()
    peers: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()
    unknown: Unknown | None = None  # a peer / CIDR / prefix list part the input cannot give
    # VPCs (their primary IPv4 block: `data.aws_vpc.x.cidr_block`) and subnets
    # (`module.vpc.private_subnets_cidr_blocks`) whose CIDR the rule names, though the
    # input cannot give the CIDR itself
    blocks_of: tuple[str, ...] = ()

    def allows_tcp(self, port: int) -> bool | None:
        """Whether the rule's protocol and ports admit TCP `port`; None where unknown."""
        if isinstance(self.protocol, Unknown):
            return None
        if self.protocol == "-1":
            return True
        if self.protocol != "tcp":
            return False
        low, high = self.from_port, self.to_port
        if isinstance(low, Unknown) or isinstance(high, Unknown):
            return None
        low = 0 if low is None else low
        high = 65535 if high is None else high
        if low == -1 and high == -1:
            return True
        return low <= port <= high

    @property
    def hop(self) -> str:
        ports: str
        if self.protocol == "-1":
            ports = "all traffic"
        elif isinstance(self.protocol, Unknown):
            ports = "unknown protocol"
        elif self.from_port == self.to_port:
            ports = f"{self.protocol}/{self.from_port}"
        else:
            ports = f"{self.protocol}/{self.from_port}-{self.to_port}"
        return f"{self.declared_by} ({self.direction} {ports})"


class SecurityGroup(msgspec.Struct):
    """A security group's rules; `complete` is False where rules may exist unseen."""

    key: str
    resource: Resource | None
    vpc: Link
    ingress: list[Rule] = msgspec.field(default_factory=list)
    egress: list[Rule] = msgspec.field(default_factory=list)
    complete: bool = True
    unknown: Unknown | None = None  # inline rules the input cannot give
    # rule blocks whose instances belong to *one of* several groups, this one among them
    # (`aws_security_group.bulk[floor(count.index / 3)]` in a plan): (direction, why)
    open_rules: dict[tuple[str, str], str] = msgspec.field(default_factory=dict)

    @property
    def in_input(self) -> bool:
        return self.resource is not None

    def undecided(self, direction: str) -> list[str]:
        """Why rules of `direction` the input holds may belong to this group, unread."""
        return [why for (d, _), why in self.open_rules.items() if d == direction]


class NodeSource(msgspec.Struct, frozen=True):
    """One place nodes of a cluster come from, with the subnets and SGs they get."""

    resource: Resource  # node group / Fargate profile / ASG / the cluster itself
    kind: str  # MANAGED_NODE_GROUP, FARGATE_PROFILE, SELF_MANAGED, CLUSTER_SUBNETS
    subnets: Link
    security_groups: Link
    launch_template: Resource | None = None  # launch template or launch configuration
    membership: str = ""  # why a self-managed group belongs to the cluster
    roles: tuple[str, ...] = ()  # keys of the IAM roles the nodes run as
    # `remote_access.source_security_group_ids`: groups allowed to SSH *to* the nodes;
    # the nodes themselves carry the remote access group EKS creates, not these
    remote_access_sources: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return self.resource.address


class ClusterNetwork(msgspec.Struct):
    """An EKS cluster with its VPC, node subnets and node security groups."""

    cluster: Resource
    name: str | Unknown | None
    region: str | Unknown | None
    vpc: str | None  # key of the VPC; None where it cannot be told
    vpc_evidence: tuple[str, ...]
    vpc_unknown: str | None  # why the VPC cannot be told
    subnets: Link  # vpc_config.subnet_ids
    security_group: str  # key of the EKS-created cluster security group
    # a tuple of frozen records, set by the builder (`place_nodes`)
    nodes: tuple[NodeSource, ...] = ()
    # `kubernetes_network_config.ip_family = "ipv6"`: pods call the endpoints from the
    # subnets' IPv6 addresses
    ipv6: bool | Unknown = False
    # `node_subnets`, and the `nodes` it was computed from (set by `place_nodes` only)
    _placement: tuple[tuple[NodeSource, ...], Mapping[str, tuple[NodeSource, ...]]] = (
        (), MappingProxyType({}))

    @property
    def address(self) -> str:
        return self.cluster.address

    def place_nodes(self, nodes: Iterable[NodeSource]) -> None:
        """Set the node sources, and compute the subnets they place nodes in, once."""
        self.nodes = tuple(nodes)
        self._placement = (self.nodes, _placement(self.nodes))

    def node_subnets(self) -> Mapping[str, tuple[NodeSource, ...]]:
        """Subnet key -> the node sources that place nodes in it, in input order.

        Computed once, when the builder places the nodes: five policies ask, per cluster.
        It cannot go stale: `nodes` is a tuple of frozen records, so only assigning a new
        tuple changes it, and that is noticed here.
        """
        placed_from, placement = self._placement
        if placed_from is not self.nodes:
            self.place_nodes(self.nodes)
            placement = self._placement[1]
        return placement

    def node_subnets_unknown(self) -> list[tuple[NodeSource, Unknown]]:
        """Node sources whose subnets the input cannot (fully) give."""
        return [(s, s.subnets.unknown) for s in self.nodes if s.subnets.unknown is not None]


class Network(msgspec.Struct):
    """The network index of one scan. Build it with `network(ctx)`."""

    graph: ResourceGraph
    clusters: list[ClusterNetwork] = msgspec.field(default_factory=list)
    vpcs: dict[str, Vpc] = msgspec.field(default_factory=dict)
    subnets: dict[str, Subnet] = msgspec.field(default_factory=dict)
    route_tables: dict[str, RouteTable] = msgspec.field(default_factory=dict)
    endpoints: list[Endpoint] = msgspec.field(default_factory=list)
    security_groups: dict[str, SecurityGroup] = msgspec.field(default_factory=dict)
    ids: dict[str, str] = msgspec.field(default_factory=dict)  # known id/arn -> key
    # resources whose link to a target is a guess (resolver `Provenance.GUESS`) -> the doubt
    guesses: dict[str, str] = msgspec.field(default_factory=dict)
    _effective: dict[str, EffectiveRouteTable] = msgspec.field(default_factory=dict)
    _endpoints_by_vpc: dict[str, list[Endpoint]] = msgspec.field(default_factory=dict)
    _clusters_by_address: dict[str, ClusterNetwork] = msgspec.field(default_factory=dict)
    _endpoints_by_service: dict[str | None, list[Endpoint]] = msgspec.field(default_factory=dict)
    _endpoints_by_address: dict[str, Endpoint] = msgspec.field(default_factory=dict)
    _endpoints_by_subnet: dict[str, list[Endpoint]] = msgspec.field(default_factory=dict)
    _endpoint_positions: dict[str, int] = msgspec.field(default_factory=dict)  # in `endpoints`
    _main_tables: dict[str, tuple[str, tuple[str, ...]]] = msgspec.field(default_factory=dict)
    # route table associations whose subnet cannot be told, with their tables' VPCs
    _unresolved: list[tuple[str, frozenset[str]]] = msgspec.field(default_factory=list)

    # -- lookups ---------------------------------------------------------------------

    def add_cluster(self, info: ClusterNetwork) -> None:
        """Record a cluster in the list and in the index `cluster` answers from."""
        self.clusters.append(info)
        self._clusters_by_address.setdefault(info.address, info)

    def cluster(self, address: str) -> ClusterNetwork | None:
        return self._clusters_by_address.get(address)

    def subnet(self, key: str) -> Subnet:
        """The subnet with this key; a placeholder for an ID that nothing in the input has."""
        found = self.subnets.get(key)
        if found is None:
            found = Subnet(key, None, EMPTY, None, None, None)
            self.subnets[key] = found
        return found

    def vpc(self, key: str | None) -> Vpc | None:
        return None if key is None else self.vpcs.get(key)

    def route_table(self, key: str) -> RouteTable:
        found = self.route_tables.get(key)
        if found is None:
            found = RouteTable(key, None, EMPTY, complete=False)
            self.route_tables[key] = found
        return found

    def security_group(self, key: str) -> SecurityGroup:
        found = self.security_groups.get(key)
        if found is None:
            found = SecurityGroup(key, None, EMPTY, complete=False)
            self.security_groups[key] = found
        return found

    def endpoints_in(self, vpc: str | None) -> list[Endpoint]:
        """The VPC endpoints whose `vpc_id` is this VPC, sorted by address."""
        if vpc is None:
            return []
        return self._endpoints_by_vpc.get(vpc, [])

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Record an endpoint in the list and in the indexes that answer the lookups."""
        self._endpoint_positions[endpoint.address] = len(self.endpoints)
        self.endpoints.append(endpoint)
        self._endpoints_by_address[endpoint.address] = endpoint
        self._endpoints_by_service.setdefault(endpoint.service, []).append(endpoint)
        for key in endpoint.vpc.keys:
            self._endpoints_by_vpc.setdefault(key, []).append(endpoint)
        for key in dict.fromkeys(endpoint.subnets.keys):
            self._endpoints_by_subnet.setdefault(key, []).append(endpoint)

    def endpoint(self, address: str) -> Endpoint | None:
        """The VPC endpoint of the input at this address, if there is one."""
        return self._endpoints_by_address.get(address)

    def endpoints_in_subnets(self, subnets: Iterable[str]) -> list[Endpoint]:
        """The endpoints with a subnet among `subnets`, in input order (an index, no scan)."""
        found = {id(e): e for key in subnets for e in self._endpoints_by_subnet.get(key, ())}
        return sorted(found.values(), key=lambda e: self._endpoint_positions[e.address])

    def endpoints_serving(self, service: str | None) -> list[Endpoint]:
        """Every endpoint of the input whose service is `service`, in any VPC, in order."""
        return self._endpoints_by_service.get(service, [])

    def endpoints_for(self, vpc: str | None, service: str) -> list[Endpoint]:
        """The VPC's endpoints whose service name ends in `service` (any region, type)."""
        return [e for e in self.endpoints_in(vpc) if e.service == service]

    def effective_route_table(self, subnet: str) -> EffectiveRouteTable:
        found = self._effective.get(subnet)
        if found is None:
            found = self._main_route_table_of(self.subnet(subnet))
            self._effective[subnet] = found
        return found

    def _main_route_table_of(self, subnet: Subnet) -> EffectiveRouteTable:
        doubtful = [address for address, vpcs in self._unresolved
                    if not vpcs or not subnet.vpc.keys or set(subnet.vpc.keys) & vpcs]
        if doubtful:
            return EffectiveRouteTable(unknown=(
                f"the subnet_id of {', '.join(doubtful)} is not known before apply and "
                f"refers to no subnet in the input, so it may be {subnet.key}'s association"))
        if subnet.resource is None or subnet.resource.is_data:
            # a pre-existing subnet may have an association outside the input
            return EffectiveRouteTable(unknown=(
                f"no route table association in the input names subnet {subnet.key}; "
                + managed_elsewhere(f"subnet {subnet.key}")))
        if len(subnet.vpc.keys) != 1:
            return EffectiveRouteTable(unknown=(
                f"{subnet.key} has no route table association and its vpc_id is not known, "
                "so its VPC's main route table cannot be told"))
        vpc = subnet.vpc.keys[0]
        table, via = self._main_tables.get(vpc, (pseudo_key(vpc, MAIN_ROUTE_TABLE), ()))
        return EffectiveRouteTable((table,), via, main=True)

    def noted(self, address: str) -> str:
        """An evidence item: the address, with the doubt where its link is a guess."""
        doubt = self.guesses.get(address)
        return f"{address} ({doubt})" if doubt else address

    def vpc_cidrs(self, vpc: str | None) -> tuple[IPNetwork, ...]:
        found = self.vpc(vpc)
        return found.cidrs if found else ()

    def blocks_holding(self, subnet: Subnet) -> tuple[tuple[IPNetwork, ...], str | None]:
        """The CIDR blocks of its VPC that a subnet is carved from; else why not known.

        A subnet's CIDR lies in one CIDR block of its VPC, so a rule admitting every
        block that may hold it admits the subnet, whatever its own CIDR turns out to be
        (`count = length(data.aws_availability_zones...)` subnets). Which block: the one
        holding a known subnet CIDR, else any of them (a secondary association's block
        must be admitted too).
        """
        kind = self.graph.kind
        if len(subnet.vpc.keys) != 1:
            return (), (f"the VPC of {subnet.key} is not known" if subnet.vpc.unknown is None
                        else f"the VPC of {subnet.key} is not known: "
                             f"{explain(subnet.vpc.unknown, kind)}")
        vpc = self.vpc(subnet.vpc.keys[0])
        if vpc is None or vpc.resource is None:
            return (), f"the CIDR blocks of VPC {subnet.vpc.keys[0]} are not in the input"
        if vpc.cidr_unknown is not None:
            return (), (f"the CIDR block of {vpc.key} is not known: "
                        f"{explain(vpc.cidr_unknown, kind)}")
        if isinstance(subnet.cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            holding = tuple(b for b in vpc.cidrs if covers(b, subnet.cidr))
            return holding, None if holding else f"{subnet.key} lies in no CIDR block of {vpc.key}"
        if vpc.secondary_unknown is not None:
            return (), (f"{vpc.key} has a secondary CIDR block that is not known: "
                        f"{explain(vpc.secondary_unknown, kind)}")
        return vpc.cidrs, None if vpc.cidrs else f"{vpc.key} has no known CIDR block"


def _placement(nodes: tuple[NodeSource, ...]) -> Mapping[str, tuple[NodeSource, ...]]:
    """Subnet key -> the node sources placing nodes in it, read-only (shared by policies)."""
    found: dict[str, list[NodeSource]] = {}
    for source in nodes:
        for key in source.subnets.keys:
            found.setdefault(key, []).append(source)
    return MappingProxyType({key: tuple(sources) for key, sources in found.items()})


# -- routes that reach the internet ---------------------------------------------------


INTERNET_KINDS = frozenset({NAT_GATEWAY, INTERNET_GATEWAY, EGRESS_ONLY_GATEWAY,
                            NETWORK_INTERFACE, INSTANCE})


def internet_verdict(route: Route) -> bool | None:
    """Whether a default route leads to the internet; None where the input cannot tell.

    NAT gateways, internet gateways, egress-only internet gateways, and instances or
    network interfaces acting as NAT are internet paths; a private NAT gateway
    (`connectivity_type = "private"`), transit gateways, peering connections, VPN
    gateways and VPC (firewall) endpoints are not.
    """
    if route.kind == UNKNOWN_TARGET:
        return None
    if route.kind not in INTERNET_KINDS:
        return False
    if route.kind == NAT_GATEWAY:
        if isinstance(route.connectivity, Unknown):
            return None
        return route.connectivity != "private"
    return True


def cluster_vpcs(net: Network) -> dict[str, list[ClusterNetwork]]:
    """VPC key -> the clusters in it (clusters whose VPC cannot be told are left out)."""
    found: dict[str, list[ClusterNetwork]] = {}
    for info in net.clusters:
        if info.vpc is not None:
            found.setdefault(info.vpc, []).append(info)
    return found


def iter_node_subnets(net: Network) -> Iterator[tuple[str, list[ClusterNetwork]]]:
    """Every node subnet key once, with the clusters whose nodes use it."""
    owners: dict[str, list[ClusterNetwork]] = {}
    for info in net.clusters:
        for key in info.node_subnets():
            owners.setdefault(key, []).append(info)
    for key in sorted(owners):
        yield key, owners[key]
