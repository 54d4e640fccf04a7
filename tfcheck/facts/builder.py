"""The network builder: from a resource graph to the `Network` index, once per scan.

`network(ctx)` answers every network question of a scan from one index, built in a few
linear passes over the graph: the known IDs (`linking`), VPCs, subnets and route tables
(`routing`), security groups and rules (`security_groups`), endpoints (`endpoints`),
the route table each subnet really uses (`routing`), then each cluster's node sources
(`node_sources`, owned as `membership` decides).
"""

from __future__ import annotations

from tfcheck.facts.endpoints import (
    add_endpoints,
)
from tfcheck.facts.linking import (
    Linker,
)
from tfcheck.facts.membership import (
    Membership,
    node_membership,
)
from tfcheck.facts.node_sources import (
    add_clusters,
)
from tfcheck.facts.records import (
    Network,
)
from tfcheck.facts.routing import (
    add_effective_route_tables,
    add_route_tables,
    add_subnets,
    add_vpcs,
)
from tfcheck.facts.security_groups import (
    add_security_groups,
)
from tfcheck.policy import ScanContext


def network(ctx: ScanContext) -> Network:
    """The shared network facts of this scan, computed once."""
    return ctx.fact(_build_network)


def _build_network(ctx: ScanContext) -> Network:
    return build(Linker(ctx.graph), node_membership(ctx))


def build(b: Linker, members: Membership | None = None) -> Network:
    """Fill `b.net` in a few linear passes, indexing as it goes."""
    b._index_ids()
    add_vpcs(b)
    add_subnets(b)
    add_route_tables(b)
    add_security_groups(b)
    add_endpoints(b)
    add_effective_route_tables(b)
    add_clusters(b, members)
    return b.net
