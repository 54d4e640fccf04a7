"""Reference resolution for the network builder: which resources an attribute names.

`Linker` holds what every pass of the builder shares (the graph, the `Network` being
filled, the index of known IDs and aliases) and resolves each attribute (`vpc_id`,
`subnet_ids`, `route_table_id`, `security_group_ids`, ...) to keys in one way (`link`):

1. the graph's reference edges from that attribute to resources of the expected types,
   as `tfcheck.resolve` made them (plan references, the configuration beside a plan,
   which also settles `each.value.sg` of a for_each over a map; an edge the resolver
   could only guess is noted in `Network.guesses`); where every unknown part of the
   value names its own instances (`slice(aws_subnet.private[*].id, 0, 2)`), those, as a
   plan records references per configuration block;
2. known literal IDs, matched against the known `id`/`arn` of resources in the input
   (a pre-existing VPC in `prior_state`, a data source), or kept as an *external* ID
   (`"vpc-0abc"`) when nothing in the input has it;
3. what is left stays `Unknown`, so a policy can say which value was missing.

In a plan of new infrastructure nearly every ID is "known after apply", so values cannot
say which VPC an endpoint is in; the configuration's references can. The passes
(`routing`, `security_groups`, `endpoints`, `membership`) are functions of a `Linker`.
Nothing here reaches into networkx: only `ResourceGraph` queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

from tfcheck.facts.records import (
    Network,
)
from tfcheck.facts.vocabulary import (
    CLUSTER_SG,
    DEFAULT_SG,
    MAIN_ROUTE_TABLE,
    PREFIX_LIST,
    REMOTE_ACCESS_SG,
    Link,
    leaves_of,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.graph import ResourceGraph
from tfcheck.model import Provenance, Resource, Unknown, reveal, split_address
from tfcheck.unknowns import (
    read_from_aws,
)

VPC_TYPES = ("aws_vpc", "aws_default_vpc")
SUBNET_TYPES = ("aws_subnet", "aws_default_subnet")
ROUTE_TABLE_TYPES = ("aws_route_table", "aws_default_route_table")
SG_TYPES = ("aws_security_group", "aws_default_security_group")


class Linker:
    """What the builder's passes share, and how they resolve references."""

    def __init__(self, graph: ResourceGraph) -> None:
        self.graph = graph
        self.net = Network(graph)
        self.by_id: dict[str, str] = self.net.ids  # known id/arn -> key
        self.ids_of: dict[str, set[str]] = defaultdict(set)  # key -> known ids
        self.alias: dict[str, str] = {}  # pseudo key -> key of the resource that is it
        self.clusters = graph.managed("aws_eks_cluster")
        # `_resources_named` by (references, types): a fleet's modules repeat a handful
        self._named: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Resource, ...]] = {}

    # -- identities -----------------------------------------------------------------

    def _remember(self, identifier: Any, key: str) -> None:
        text = reveal(identifier)
        if isinstance(text, str) and text:
            self.by_id.setdefault(text, key)
            self.ids_of[key].add(text)

    def _index_ids(self) -> None:
        for resource in self.graph.resources():
            values = resource.values
            for attribute in ("id", "arn"):
                identifier = values.get(attribute)
                if identifier is not None and not isinstance(identifier, Unknown):
                    self._remember(identifier, resource.address)  # most are after apply
        for cluster in self.graph.resources("aws_eks_cluster"):
            if cluster.is_data:
                continue
            sg = text_value(cluster.get("vpc_config.cluster_security_group_id"))
            if isinstance(sg, str):
                self._remember(sg, pseudo_key(cluster.address, CLUSTER_SG))
        for vpc in self.graph.resources(*VPC_TYPES):
            for attribute in ("main_route_table_id", "default_route_table_id"):
                self._remember(vpc.values.get(attribute), pseudo_key(vpc.address, MAIN_ROUTE_TABLE))
            self._remember(vpc.values.get("default_security_group_id"),
                           pseudo_key(vpc.address, DEFAULT_SG))
        for group in self.graph.managed("aws_eks_node_group"):
            for block in read_blocks(group.values.get("resources")):
                self._remember(block.get("remote_access_security_group_id"),
                               pseudo_key(group.address, REMOTE_ACCESS_SG))
        for endpoint in self.graph.resources("aws_vpc_endpoint"):
            self._remember(endpoint.values.get("prefix_list_id"),
                           pseudo_key(endpoint.address, PREFIX_LIST))

    @cached_property
    def security_groups_by_name(self) -> dict[str, str]:
        """Security groups by known name (the first by address), read when asked.

        For launch templates that name their groups (`security_group_names`).
        """
        return _by_name(self.graph, "aws_security_group")

    @cached_property
    def roles_by_name(self) -> dict[str, str]:
        """IAM roles by known name (the first by address), for roles given by ARN."""
        return _by_name(self.graph, "aws_iam_role")

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
        known, unknown = leaves_of(value)
        if refs and unknown:
            # where every unknown part names its own instances (an evaluated
            # `slice(aws_subnet.private[*].id, 0, 2)`), those are more precise than the
            # attribute's references, which a plan records per configuration block
            types = tuple(mapping)
            named = [self._resources_named(u.references, types) for u in unknown]
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
        strings = [s for k in known if isinstance(s := reveal(k), str) and s]
        if keyed and strings and not unknown:
            # every value is known: keep only the references that the values confirm
            confirmed = [(k, t) for k, t in keyed
                         if not self.ids_of.get(k) or self.ids_of[k] & set(strings)]
            keyed = confirmed or keyed
        keys: list[str] = [k for k, _ in keyed]
        if strings:
            covered = {i for k, _ in keyed for i in self.ids_of.get(k, ())}
            keys.extend(self.canonical(self.by_id.get(text, text))
                        for text in strings if text not in covered)
        missing = unknown[0] if unknown and not keyed else None
        return Link(tuple(dict.fromkeys(keys)), missing)

    def _read(self, resource: Resource, path: str) -> Any:
        """An attribute; for a data source in HCL that does not set it, `Unknown`.

        A data source's attributes are read from AWS at plan time (a plan holds them):
        absent from HCL is not absent, and no provider default applies.
        """
        value = resource.get(path)
        if value is None and resource.is_data and self.graph.kind == "hcl":
            return read_from_aws(resource, path)
        return value

    # mappings from a referenced resource type to the key it stands for (made once: every
    # link of a scan passes one)

    @cached_property
    def vpc_map(self) -> Mapping[str, Callable[[Resource], str | None]]:
        return {t: (lambda r: r.address) for t in VPC_TYPES}

    @cached_property
    def subnet_map(self) -> Mapping[str, Callable[[Resource], str | None]]:
        return {t: (lambda r: r.address) for t in SUBNET_TYPES}

    @cached_property
    def route_table_map(self) -> Mapping[str, Callable[[Resource], str | None]]:
        mapping: dict[str, Callable[[Resource], str | None]] = {
            t: (lambda r: r.address) for t in ROUTE_TABLE_TYPES
        }
        for vpc_type in VPC_TYPES:
            # `aws_vpc.main.main_route_table_id` / `.default_route_table_id`
            mapping[vpc_type] = lambda r: pseudo_key(r.address, MAIN_ROUTE_TABLE)
        return mapping

    @cached_property
    def sg_map(self) -> Mapping[str, Callable[[Resource], str | None]]:
        mapping: dict[str, Callable[[Resource], str | None]] = {
            t: (lambda r: r.address) for t in SG_TYPES
        }
        mapping["aws_eks_cluster"] = self._cluster_sg_of
        mapping["aws_eks_node_group"] = lambda r: pseudo_key(r.address, REMOTE_ACCESS_SG)
        for vpc_type in VPC_TYPES:
            # `aws_vpc.main.default_security_group_id`
            mapping[vpc_type] = lambda r: pseudo_key(r.address, DEFAULT_SG)
        return mapping

    def _cluster_sg_of(self, cluster: Resource) -> str | None:
        """The key of a cluster's EKS-created security group; None where not known.

        A `data "aws_eks_cluster"` reading a cluster of the input stands for that
        cluster's group (`vpc_config[0].cluster_security_group_id`, which managed nodes
        without a launch template carry); one reading another cluster by a known name
        stands for a group no node of the input carries.
        """
        if not cluster.is_data:
            return pseudo_key(cluster.address, CLUSTER_SG)
        sg = text_value(cluster.get("vpc_config.cluster_security_group_id"))
        if isinstance(sg, str):
            return self.by_id.get(sg, sg)
        read = [r for r in self.graph.references(cluster, "name", "aws_eks_cluster")
                if not r.is_data]
        name = text_value(cluster.get("name"))
        if not read and isinstance(name, str):
            names = [text_value(c.get("name")) for c in self.clusters]
            read = [c for c, n in zip(self.clusters, names, strict=True) if n == name]
            if not read and any(not isinstance(n, str) for n in names):
                return None  # it may be a cluster of the input whose name is not known
            if not read:
                return pseudo_key(cluster.address, CLUSTER_SG)  # another cluster's group
        if len(read) == 1:
            return pseudo_key(read[0].address, CLUSTER_SG)
        return None

    @cached_property
    def prefix_list_map(self) -> Mapping[str, Callable[[Resource], str | None]]:
        return {
            "aws_vpc_endpoint": lambda r: pseudo_key(r.address, PREFIX_LIST),
            "aws_prefix_list": lambda r: r.address,
            "aws_ec2_managed_prefix_list": lambda r: r.address,
        }

    def _resources_named(self, references: Iterable[str], types: tuple[str, ...]
                             ) -> Sequence[Resource]:
        """The instances an `Unknown`'s references name (`aws_x.y[0].id` -> `aws_x.y[0]`).

        An instance inside a module (`module.vpc.aws_subnet.private[0]`, as the HCL of a
        module-based configuration names it) counts like any other; a module's output
        (`module.vpc.private_subnets`) names none. Empty where any resource reference names
        no single instance (`aws_x.y` of a resource with `count`): then the references
        do not say which instances it is.
        """
        key = (tuple(references), types)
        found = self._named.get(key)
        if found is None:
            found = self._named[key] = tuple(self._find_named(key[0], types))
        return found

    def _find_named(self, references: tuple[str, ...], types: tuple[str, ...]
                    ) -> list[Resource]:
        found: list[Resource] = []
        for text in references:
            head = text.split(".", 1)[0]
            if head in _NOT_RESOURCE_REFERENCES:
                continue
            parts = split_address(text)
            resource = None
            for end in range(len(parts), 1, -1):
                resource = self.graph.get(".".join(parts[:end]))
                if resource is not None:
                    break
            if resource is None and head == "module":
                continue  # a module's output (`module.vpc.private_subnets`), not an instance
            if resource is None:
                return []
            if resource.type in types:
                found.append(resource)
        return found


def _by_name(graph: ResourceGraph, kind: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for resource in graph.resources(kind):
        name = text_value(resource.get("name"))
        if isinstance(name, str):
            found.setdefault(name, resource.address)
    return found


_NOT_RESOURCE_REFERENCES = frozenset(
    {"var", "local", "count", "each", "path", "terraform", "self"})


