"""How network findings are worded: cluster attribution, names, references in snippets.

Policies present what the network facts found; these helpers keep that presentation
in one place: which cluster a finding concerns (`about`), how a node subnet is named
(`node_subnet`), and references in remediation snippets (`tfcheck.facts.hcl_snippets`)
written as a user would write them (`hcl_reference`, `hcl_id_list`).
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec.structs import replace

from tfcheck.facts.hcl_snippets import ListOf, Literal, Reference, Value
from tfcheck.facts.records import (
    ClusterNetwork,
    Network,
    Subnet,
)
from tfcheck.facts.vocabulary import (
    CLUSTER_SG,
    DEFAULT_SG,
    MAIN_ROUTE_TABLE,
    PREFIX_LIST,
    REMOTE_ACCESS_SG,
)
from tfcheck.policy import Result


def about(result: Result, clusters: Iterable[ClusterNetwork]) -> Result:
    """The result with `data["cluster"]` set to the cluster it concerns.

    A finding on a subnet, endpoint or security group names the cluster (the first,
    where several share it) so that reports can group it and draw its network path.
    """
    owners = list(dict.fromkeys(c.address for c in clusters))
    if not owners or "cluster" in result.data or result.subject.address in owners:
        return result
    return replace(result, data={**result.data, "cluster": owners[0]})


def node_subnet(subnet: Subnet) -> str:
    """How a message names a node subnet: a stand-in says that it is every instance.

    HCL gives a block whose count is not known one resource without a key
    (`module.vpc.aws_subnet.private`); a finding on it is about all its instances.
    """
    if subnet.resource is not None and subnet.resource.every_instance:
        return f"every instance of node subnet {subnet.key}"
    return f"node subnet {subnet.key}"


# -- remediation snippets: referring to things by reference, as a user would ----------

# Output names of terraform-aws-modules, for resources that live inside a module.
_MODULE_OUTPUTS = {
    ("aws_vpc", "id"): "vpc_id",
    ("aws_vpc", "cidr_block"): "vpc_cidr_block",
    ("aws_subnet", "id"): "private_subnets",
    ("aws_subnet", "cidr_block"): "private_subnets_cidr_blocks",
    ("aws_security_group", "id"): "security_group_id",
    ("aws_route_table", "id"): "private_route_table_ids",
}


def hcl_reference(net: Network, key: str, attribute: str = "id") -> Value:
    """An HCL expression for `key`'s attribute, the way the user's code would write it.

    Resources of the root module are referred to directly (`aws_vpc.main.id`); the
    implicit things AWS creates through their owner (`aws_vpc.main.main_route_table_id`,
    `aws_eks_cluster.main.vpc_config[0].cluster_security_group_id`); things known only
    by ID as the literal ID; resources inside a module through the output name that
    terraform-aws-modules uses, with the resource it stands for as the comment.
    """
    for suffix, owner_attribute in (
        (f" ({CLUSTER_SG})", "vpc_config[0].cluster_security_group_id"),
        (f" ({DEFAULT_SG})", "default_security_group_id"),
        (f" ({MAIN_ROUTE_TABLE})", "main_route_table_id"),
        (f" ({PREFIX_LIST})", "prefix_list_id"),
        (f" ({REMOTE_ACCESS_SG})", "resources[0].remote_access_security_group_id"),
    ):
        if key.endswith(suffix):
            return hcl_reference(net, key[: -len(suffix)], owner_attribute)
    resource = net.graph.get(key)
    if resource is None:
        return Literal(key)
    if resource.module:
        output = _MODULE_OUTPUTS.get((resource.type, attribute), attribute)
        call = resource.module.split(".")[1].split("[")[0]
        if output.endswith("s") and isinstance(resource.index, int):
            output = f"{output}[{resource.index}]"  # one element of a list output
        return Reference(f"module.{call}.{output}", comment=key)
    return Reference(f"{key}.{attribute}")


def hcl_id_list(net: Network, keys: Iterable[str], attribute: str = "id") -> Value:
    """An HCL list expression of several keys: a splat where it is every instance."""
    keys = list(dict.fromkeys(keys))
    resources = [net.graph.get(k) for k in keys]
    if keys and all(r is not None and not r.module for r in resources):
        configs = {r.config_address for r in resources if r is not None}
        if len(configs) == 1:
            config = configs.pop()
            sample = next(r for r in resources if r is not None)
            siblings = [r for r in net.graph.resources(sample.type)
                        if r.config_address == config]
            if len(siblings) == len(keys) and len(keys) > 1:
                if all(isinstance(r.index, int) for r in siblings):
                    return Reference(f"{config}[*].{attribute}")
                return Reference(f"[for item in {config} : item.{attribute}]")
    modules = {r.module.split(".")[1].split("[")[0] for r in resources
               if r is not None and r.module}
    if modules and len(modules) == 1 and all(r is not None and r.module for r in resources):
        sample = next(r for r in resources if r is not None)
        output = _MODULE_OUTPUTS.get((sample.type, attribute), attribute)
        if output.endswith("s"):
            return Reference(f"module.{modules.pop()}.{output}")
    return ListOf(tuple(hcl_reference(net, k, attribute) for k in keys))


def one_subnet_per_zone(net: Network, keys: Iterable[str]) -> list[str]:
    """Interface endpoints take one subnet per Availability Zone: pick the first of each."""
    chosen: list[str] = []
    zones: set[str] = set()
    for key in keys:
        zone = net.subnet(key).availability_zone
        if isinstance(zone, str):
            if zone in zones:
                continue
            zones.add(zone)
        chosen.append(key)
    return chosen
