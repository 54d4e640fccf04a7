"""The network vocabulary: keys, route-target kinds, value readers and `Link`.

Every network fact names things by a *key* (a resource address, a literal AWS ID, or a
pseudo-address for what AWS creates implicitly) and reads values that may be `Unknown`
or `Sensitive`. This module holds those words and readers once, so the records, the
builder and the policies agree on what "a NAT gateway" or "an unknown subnet" is.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, Union

import msgspec

from tfcheck.marks import MarkedIPv4Network, MarkedIPv6Network, is_marked_scalar
from tfcheck.model import Resource, Unknown, reveal

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # noqa: UP007 - runtime alias

# -- vocabulary -------------------------------------------------------------------------

CLUSTER_SG = "cluster security group"
DEFAULT_SG = "default security group"
MAIN_ROUTE_TABLE = "main route table"
REMOTE_ACCESS_SG = "remote access security group"
PREFIX_LIST = "prefix list"

# Route target kinds.
NAT_GATEWAY = "NAT gateway"
INTERNET_GATEWAY = "internet gateway"
EGRESS_ONLY_GATEWAY = "egress-only internet gateway"
NETWORK_INTERFACE = "network interface"
INSTANCE = "instance"
TRANSIT_GATEWAY = "transit gateway"
PEERING = "VPC peering connection"
VPC_ENDPOINT = "VPC endpoint"
VPN_GATEWAY = "virtual private gateway"
LOCAL = "local"
CARRIER_GATEWAY = "carrier gateway"
LOCAL_GATEWAY = "local gateway"
CORE_NETWORK = "core network"
UNKNOWN_TARGET = "unknown target"

# Marks an Availability Zone given by ID (`availability_zone_id`), not by name.
ZONE_ID_SUFFIX = " (zone ID)"
# Marks the IPv6 block of a VPC or subnet in `Rule.blocks_of` (`aws_vpc.x (IPv6)`).
IPV6_SUFFIX = " (IPv6)"

# Where nodes come from.
MANAGED_NODE_GROUP = "managed node group"
FARGATE_PROFILE = "Fargate profile"
SELF_MANAGED = "self-managed Auto Scaling group"
CLUSTER_SUBNETS = "cluster subnets"

# Services reachable through a gateway endpoint as well as an interface endpoint.
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})


def pseudo_key(base: str, what: str) -> str:
    return f"{base} ({what})"


# -- value helpers ----------------------------------------------------------------------


def text_value(value: Any) -> str | Unknown | None:
    value = reveal(value)
    if isinstance(value, (Unknown, str)):
        return value
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return None


def flag_value(value: Any) -> bool | Unknown | None:
    """A boolean, also where a provider stores it as "true"/"false" (launch templates)."""
    value = reveal(value)
    if isinstance(value, (bool, Unknown)) or value is None:
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False if lowered != "" else None
    return None


def int_value(value: Any) -> int | Unknown | None:
    value = reveal(value)
    if isinstance(value, Unknown) or value is None:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def leaves_of(value: Any) -> tuple[list[Any], list[Unknown]]:
    """Known scalar leaves and unknown parts of a scalar-or-list value."""
    if isinstance(value, Unknown):  # the usual cases, without the walk
        return [], [value]
    if isinstance(value, str):
        return [value], []
    if type(value) is list and all(type(item) is str for item in value):
        return list(value), []  # a list of plain texts (CIDRs, ids): nothing to reveal
    known: list[Any] = []
    unknown: list[Unknown] = []

    def walk(item: Any) -> None:
        item = reveal(item)
        if isinstance(item, Unknown):
            unknown.append(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            for element in item:
                walk(element)
        elif item is not None:
            known.append(item)

    walk(value)
    return known, unknown


def input_value(resource: Resource, path: str) -> Any:
    """An argument's effective value: `None` where the configuration leaves it unset.

    Optional+Computed arguments that the configuration never sets show as "known after
    apply" in a plan (`aws_route.network_interface_id`, `source_security_group_id`);
    that is absence, not an unknown value.
    """
    value = resource.get(path)
    if isinstance(value, Unknown) and not resource.sets(path):
        return None
    return value


def ip_network_of(value: Any) -> IPNetwork | Unknown | None:
    """A CIDR as a network; one parsed from a sensitive value stays marked (below)."""
    if type(value) is str:  # not marked: the parse is shared (networks are immutable)
        return _plain_network(value)
    value = reveal(value)
    if isinstance(value, Unknown):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    if is_marked_scalar(value):
        marked = MarkedIPv4Network if network.version == 4 else MarkedIPv6Network
        return marked(network.with_prefixlen)
    return network


@functools.lru_cache(maxsize=1 << 16)
def _plain_network(text: str) -> IPNetwork | None:
    """A plain CIDR parsed once per scan process, however many rules list it.

    A rule block fanned out over a subnet block lists every subnet's CIDR in each of
    its instances: 1,000 rules x 500 subnets is 500,000 texts and 500 networks.
    """
    try:
        return ipaddress.ip_network(text.strip(), strict=False) if text.strip() else None
    except ValueError:
        return None


def ip_networks_of(value: Any) -> tuple[list[IPNetwork], list[Unknown]]:
    known, unknown = leaves_of(value)
    found: list[IPNetwork] = []
    for item in known:
        network = ip_network_of(item)
        if isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            found.append(network)
    return found, unknown


def covers(outer: IPNetwork, inner: IPNetwork) -> bool:
    """Whether `outer` contains all of `inner` (same IP version)."""
    if outer.version != inner.version:
        return False
    return inner.subnet_of(outer)  # type: ignore[arg-type]




def first_unknown(*candidates: Unknown | None) -> Unknown | None:
    """The first candidate that is not None (`or` would ask an `Unknown` for its truth)."""
    return next((c for c in candidates if c is not None), None)


def read_blocks(value: Any) -> list[dict[str, Any]]:
    value = reveal(value)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [reveal(item) for item in value if isinstance(reveal(item), dict)]
    return []




NAME_WORD = re.compile(r"[\w-]+")
CLUSTER_TAG = "kubernetes.io/cluster/"


def names_cluster(text: str, name: str) -> bool:
    """Whether user data names the cluster as a whole word (`bootstrap.sh main`)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


# -- links ------------------------------------------------------------------------------


class Link(msgspec.Struct, frozen=True):
    """What an attribute points at: keys of things in or outside the input.

    `keys` are resource addresses, pseudo-addresses of implicit things, or literal AWS
    IDs of things outside the input. `unknown` is set where part of the value can be
    neither followed through a reference nor read (say which value, and why).
    `via` are the resources that contributed keys without being the target themselves
    (association resources), for evidence.
    """

    keys: tuple[str, ...] = ()
    unknown: Unknown | None = None
    via: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keys)

    def merged(self, other: Link) -> Link:
        keys = tuple(dict.fromkeys((*self.keys, *other.keys)))
        via = tuple(dict.fromkeys((*self.via, *other.via)))
        return Link(keys, first_unknown(self.unknown, other.unknown), via)


EMPTY = Link()
