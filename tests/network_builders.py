"""Network test builders: plan graphs shaped as the plan loader builds them.

Values carry `Unknown` where a plan says "known after apply", `configured` paths come
from the plan's configuration block, and references are edges per attribute. `Plan` and
`private_cluster()` are the building blocks of tests/test_network.py and the PC1xx-PC4xx
policy tests in tests/policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tfcheck.config import Config
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Status, Unknown
from tfcheck.network import Network, network
from tfcheck.policy import Policy, Result, ScanContext

AFTER_APPLY = "known after apply"
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def unknown(*refs: str) -> Unknown:
    return Unknown(AFTER_APPLY, refs)


def _split(address: str) -> tuple[str, str, str, str, int | str | None]:
    """(module, type, name, mode, index) of an instance address."""
    module = ""
    rest = address
    while rest.startswith("module."):
        name_end = rest.index(".", len("module."))
        module = f"{module}.{rest[:name_end]}" if module else rest[:name_end]
        rest = rest[name_end + 1:]
    mode = "managed"
    if rest.startswith("data."):
        mode, rest = "data", rest[len("data."):]
    index: int | str | None = None
    if rest.endswith("]"):
        rest, raw = rest[:-1].split("[", 1)
        index = json.loads(raw) if raw.startswith('"') else int(raw)
    kind, name = rest.split(".", 1)
    return module, kind, name, mode, index


def _paths(values: dict[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                yield from _paths(item, path)


class Plan:
    """A `ResourceGraph` built the way the plan loader builds one."""

    def __init__(self, region: str | Unknown | None = "eu-west-1") -> None:
        self.region = region
        self.resources: dict[str, Resource] = {}
        self.edges: list[tuple[str, str, str]] = []

    def add(self, address: str, values: dict[str, Any] | None = None, *,
            refs: dict[str, str | list[str]] | None = None,
            computed: Iterable[str] = (), region: str | Unknown | None | bool = True
            ) -> Resource:
        """Add (or replace) a resource; `computed` paths show unknown without being set."""
        module, kind, name, mode, index = _split(address)
        values = dict(values or {})
        resource = Resource(
            address=address, type=kind, name=name, mode=mode, module=module, index=index,
            values=values, configured=frozenset(set(_paths(values)) - set(computed)),
            region=self.region if region is True else region,  # type: ignore[arg-type]
        )
        self.resources[address] = resource
        self.edges = [e for e in self.edges if e[0] != address]
        for attribute, targets in (refs or {}).items():
            for target in [targets] if isinstance(targets, str) else targets:
                self.edges.append((address, attribute, target))
        return resource

    def remove(self, *addresses: str) -> None:
        for address in addresses:
            self.resources.pop(address, None)

    def ref(self, source: str, attribute: str, *targets: str) -> None:
        for target in targets:
            self.edges.append((source, attribute, target))

    def build(self, link_ids: bool = False, source: str = "test.json") -> ResourceGraph:
        graph = ResourceGraph(source=source, kind="plan")
        for resource in self.resources.values():
            graph.add_resource(resource)
        for source, attribute, target in self.edges:
            graph.add_reference(source, attribute, target)
        if link_ids:
            graph.link_known_ids()
        return graph


SUBNETS = [f"aws_subnet.private[{i}]" for i in range(3)]
TABLES = [f"aws_route_table.private[{i}]" for i in range(3)]
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
CIDRS = ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
INTERFACE_SERVICES = ("ec2", "ecr.api", "ecr.dkr", "sts")
INTERFACES = [f'aws_vpc_endpoint.interface["{s}"]' for s in INTERFACE_SERVICES]
CLUSTER = "aws_eks_cluster.main"


def private_cluster(plan: Plan | None = None, *, services: Iterable[str] = INTERFACE_SERVICES,
                    region: str = "eu-west-1") -> Plan:
    """A correct private cluster, as a plan of new infrastructure shows it.

    VPC 10.0.0.0/16 with DNS on; three private subnets (one per AZ) each with its own
    route table holding only the local route; interface endpoints for `services` in all
    three subnets behind `aws_security_group.vpc_endpoints` (443 from the VPC CIDR); an
    S3 gateway endpoint on the three route tables; a cluster with private access; a
    managed node group whose launch template gives nodes `aws_security_group.node`
    (egress: everything to the VPC CIDR, 443 to the S3 prefix list).
    """
    p = plan or Plan(region=region)
    p.add("aws_vpc.main", {"cidr_block": "10.0.0.0/16", "enable_dns_support": True,
                           "enable_dns_hostnames": True, "id": unknown()})
    for i, subnet in enumerate(SUBNETS):
        p.add(subnet, {"vpc_id": unknown("aws_vpc.main"), "cidr_block": CIDRS[i],
                       "availability_zone": ZONES[i], "map_public_ip_on_launch": False},
              refs={"vpc_id": "aws_vpc.main"})
        p.add(TABLES[i], {"vpc_id": unknown("aws_vpc.main"), "route": unknown()},
              refs={"vpc_id": "aws_vpc.main"}, computed=["route"])
        p.add(f"aws_route_table_association.private[{i}]",
              {"subnet_id": unknown("aws_subnet.private"),
               "route_table_id": unknown("aws_route_table.private")},
              refs={"subnet_id": subnet, "route_table_id": TABLES[i]})
    p.add("aws_security_group.vpc_endpoints", {
        "vpc_id": unknown("aws_vpc.main"),
        "ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp",
                     "cidr_blocks": ["10.0.0.0/16"], "ipv6_cidr_blocks": [],
                     "prefix_list_ids": [], "security_groups": [], "self": False}],
        "egress": unknown(),
    }, refs={"vpc_id": "aws_vpc.main"}, computed=["egress"])
    for service in services:
        p.add(f'aws_vpc_endpoint.interface["{service}"]', {
            "vpc_id": unknown("aws_vpc.main"),
            "service_name": f"com.amazonaws.{region}.{service}",
            "vpc_endpoint_type": "Interface", "private_dns_enabled": True,
            "subnet_ids": unknown("aws_subnet.private"),
            "security_group_ids": unknown("aws_security_group.vpc_endpoints"),
            "route_table_ids": unknown(),
        }, refs={"vpc_id": "aws_vpc.main", "subnet_ids": SUBNETS,
                 "security_group_ids": "aws_security_group.vpc_endpoints"},
            computed=["route_table_ids"])
    p.add("aws_vpc_endpoint.s3", {
        "vpc_id": unknown("aws_vpc.main"), "service_name": f"com.amazonaws.{region}.s3",
        "vpc_endpoint_type": "Gateway", "route_table_ids": unknown("aws_route_table.private"),
        "prefix_list_id": unknown(), "private_dns_enabled": unknown(),
        "security_group_ids": unknown(), "subnet_ids": unknown(),
    }, refs={"vpc_id": "aws_vpc.main", "route_table_ids": TABLES},
        computed=["prefix_list_id", "private_dns_enabled", "security_group_ids", "subnet_ids"])
    p.add("aws_eks_cluster.main", {
        "name": "main",
        "vpc_config": [{"subnet_ids": unknown("aws_subnet.private"),
                        "endpoint_private_access": True, "endpoint_public_access": False,
                        "cluster_security_group_id": unknown()}],
    }, refs={"vpc_config.subnet_ids": SUBNETS}, computed=["vpc_config.cluster_security_group_id"])
    p.add("aws_security_group.node", {
        "vpc_id": unknown("aws_vpc.main"),
        "ingress": [],
        "egress": [
            {"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["10.0.0.0/16"],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
             "self": False},
            {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": [],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [unknown()], "security_groups": [],
             "self": False},
        ],
    }, refs={"vpc_id": "aws_vpc.main", "egress": "aws_vpc_endpoint.s3"})
    p.add("aws_launch_template.nodes", {
        "vpc_security_group_ids": unknown("aws_security_group.node"),
        "network_interfaces": [],
    }, refs={"vpc_security_group_ids": "aws_security_group.node"})
    p.add("aws_eks_node_group.default", {
        "cluster_name": unknown("aws_eks_cluster.main"), "node_group_name": "default",
        "subnet_ids": unknown("aws_subnet.private"),
        "launch_template": [{"id": unknown("aws_launch_template.nodes"), "version": "1"}],
    }, refs={"cluster_name": "aws_eks_cluster.main", "subnet_ids": SUBNETS,
             "launch_template.id": "aws_launch_template.nodes"})
    return p


def context(graph: ResourceGraph, **config: Any) -> ScanContext:
    return ScanContext(graph, Config(**config))


def facts(plan: Plan, link_ids: bool = False) -> Network:
    return network(context(plan.build(link_ids)))


def run(policy: Policy, plan: Plan | ResourceGraph, **config: Any) -> list[Result]:
    graph = plan.build() if isinstance(plan, Plan) else plan
    return list(policy.check(context(graph, **config)))


def verdicts(results: Iterable[Result]) -> list[tuple[str, str]]:
    """(status, subject address) pairs, sorted: what a finding list says at a glance."""
    return sorted((r.status.value, r.subject.address) for r in results)


def by_subject(results: Iterable[Result]) -> dict[str, Result]:
    """Results by subject address (for policies with one result per subject)."""
    return {r.subject.address: r for r in results}


def failing(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if r.status is not Status.PASS]


# -- shared by the PC1xx-PC4xx policy tests ------------------------------------------


def endpoint_cluster(**vpc_config: Any) -> Plan:
    """A lone cluster, private and public access on, for the PC1xx endpoint policies."""
    p = Plan()
    p.add("aws_eks_cluster.main", {"name": "main", "vpc_config": [
        {"endpoint_private_access": True, "endpoint_public_access": True, **vpc_config}]})
    return p


def endpoint(p: Plan, address: str, service: str, *, region: str = "eu-west-1",
             subnets: list[str] | None = None, **values: Any) -> None:
    """An interface endpoint in aws_vpc.main (override any attribute with `values`)."""
    body: dict[str, Any] = {
        "vpc_id": unknown(), "service_name": f"com.amazonaws.{region}.{service}",
        "vpc_endpoint_type": "Interface", "private_dns_enabled": True,
        "subnet_ids": unknown(), "security_group_ids": unknown(),
    }
    body.update(values)
    p.add(address, body, refs={"vpc_id": "aws_vpc.main",
                               "subnet_ids": SUBNETS if subnets is None else subnets,
                               "security_group_ids": "aws_security_group.vpc_endpoints"},
          computed=[k for k, v in values.items() if isinstance(v, Unknown)
                    and k in ("vpc_endpoint_type", "private_dns_enabled")])


def rule(**values: Any) -> dict[str, Any]:
    """An inline SG rule block as a plan shows it."""
    block = {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": [],
             "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
             "self": False}
    block.update(values)
    return block


def endpoint_ingress(p: Plan, *blocks: dict[str, Any], refs: list[str] | None = None) -> None:
    p.add("aws_security_group.vpc_endpoints", {"vpc_id": unknown(), "ingress": list(blocks),
                                               "egress": unknown()},
          refs={"vpc_id": "aws_vpc.main", "ingress": refs or []}, computed=["egress"])


def ipv6_cluster(*blocks: dict[str, Any]) -> Plan:
    """An IPv6 cluster whose subnets' IPv6 CIDRs AWS assigns from the VPC's /56."""
    p = private_cluster()
    p.resources["aws_eks_cluster.main"].values["kubernetes_network_config"] = [
        {"ip_family": "ipv6"}]
    for subnet in SUBNETS:
        resource = p.resources[subnet]
        resource.values["ipv6_cidr_block"] = unknown(
            "aws_vpc.main.ipv6_cidr_block", "aws_vpc.main")
        resource.configured = (resource.configured or frozenset()) | {"ipv6_cidr_block"}
    p.resources["aws_vpc.main"].values["ipv6_cidr_block"] = unknown()
    if blocks:
        endpoint_ingress(p, *blocks, refs=["aws_vpc.main"])
    return p


def shared_vpc(carved: bool) -> Any:
    """The VPC is a data source (HCL): its block is read from AWS."""
    p = private_cluster()
    p.remove("aws_vpc.main")
    p.add("data.aws_vpc.main", {"tags": {"Name": "shared"}})
    p.edges = [(s, a, "data.aws_vpc.main" if t == "aws_vpc.main" else t)
               for s, a, t in p.edges]
    for subnet in SUBNETS if carved else []:
        p.resources[subnet].values["cidr_block"] = Unknown(
            "data.aws_vpc.main is read at plan time: cidr_block is not known "
            "without a plan", ("data.aws_vpc.main",))
    endpoint_ingress(p, rule(cidr_blocks=[Unknown(
        "data.aws_vpc.main is read at plan time: cidr_block is not known without a "
        "plan", ("data.aws_vpc.main",))]))
    graph = p.build()
    graph.kind = "hcl"
    return graph
