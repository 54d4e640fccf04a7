"""The resource graph: resources as nodes, references between them as edges.

In a plan of new infrastructure almost every ID is "known after apply", so values
cannot tell which VPC an endpoint lives in. The configuration's references can: each
edge records that `source` names `target` in the attribute `attribute`
(`vpc_config.subnet_ids -> aws_subnet.private[1]`). Known values refine this where
they exist (a literal `vpc_id = "vpc-0abc"` matching a resource's known `id`).

Policies use the typed queries below, never networkx itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from tfcheck.model import Resource, Sensitive, Unknown


@dataclass(frozen=True)
class ProviderConfig:
    """One provider configuration: its key (`aws`, `aws.west`, `kubernetes`) and region."""

    key: str
    name: str = "aws"
    alias: str | None = None
    region: str | Unknown | None = None
    module: str = ""
    # What the block sets and refers to: a kubernetes/helm provider's `host` names the
    # cluster its workloads run in.
    values: Mapping[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()


@dataclass
class ResourceGraph:
    """Resources of one scanned root module (with all its child modules)."""

    source: str = ""  # the path the graph was loaded from
    kind: str = "plan"  # "plan" or "hcl"
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Texts that must never be printed beyond those wrapped in `Sensitive` values
    # (e.g. HCL variables declared `sensitive = true`).
    sensitive_values: set[str] = field(default_factory=set)
    # A plan's configuration (the .tf files it was made from), evaluated: it gives plan
    # findings their file and line, and tells which instances a reference means where
    # the plan records only the whole block. Never a source of values or verdicts.
    configuration: ResourceGraph | None = None
    _graph: nx.MultiDiGraph[str] = field(default_factory=nx.MultiDiGraph)
    _resources: dict[str, Resource] = field(default_factory=dict)
    _by_type: dict[str, list[Resource]] = field(default_factory=dict)

    # -- building -----------------------------------------------------------------

    def add_resource(self, resource: Resource) -> None:
        if resource.address in self._resources:
            return
        self._resources[resource.address] = resource
        self._by_type.setdefault(resource.type, []).append(resource)
        self._graph.add_node(resource.address)

    def add_reference(self, source: str, attribute: str, target: str) -> None:
        """Record that `source` refers to `target` from `attribute` (dotted, no indices)."""
        if source == target or target not in self._resources or source not in self._resources:
            return
        if self._graph.has_edge(source, target, key=attribute):
            return
        self._graph.add_edge(source, target, key=attribute)

    def link_known_ids(self) -> None:
        """Add edges for literal IDs that name a resource whose `id`/`arn` is known.

        This is how a configuration that writes `vpc_id = "vpc-0abc"` reaches a VPC that
        a plan's prior state (or an import) knows by that ID.
        """
        by_id: dict[str, str] = {}
        for resource in self._resources.values():
            for key in ("id", "arn"):
                value = resource.values.get(key)
                if isinstance(value, str) and value:
                    by_id.setdefault(value, resource.address)
        if not by_id:
            return
        for resource in self._resources.values():
            for path, value in _string_leaves(resource.values):
                target = by_id.get(value)
                if target is not None and path not in ("id", "arn") and not path.startswith(
                    ("tags.", "tags_all.")
                ):
                    self.add_reference(resource.address, path, target)

    # -- queries ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._resources)

    def __contains__(self, address: object) -> bool:
        return address in self._resources

    def get(self, address: str) -> Resource | None:
        return self._resources.get(address)

    def resources(self, *types: str) -> list[Resource]:
        """Managed resources and data sources of the given types, sorted by address."""
        if not types:
            found: Iterable[Resource] = self._resources.values()
        else:
            found = (r for t in types for r in self._by_type.get(t, ()))
        return sorted(found, key=lambda r: r.address)

    def managed(self, *types: str) -> list[Resource]:
        """Like `resources`, without data sources."""
        return [r for r in self.resources(*types) if not r.is_data]

    def references(
        self, resource: Resource, attribute: str | None = None, *types: str
    ) -> list[Resource]:
        """What `resource` refers to, optionally only from `attribute` (or below it)."""
        found = {
            target
            for _, target, key in self._graph.out_edges(resource.address, keys=True)
            if _under(key, attribute)
        }
        return self._select(found, types)

    def referrers(
        self, resource: Resource, attribute: str | None = None, *types: str
    ) -> list[Resource]:
        """Who refers to `resource`, optionally only from `attribute` (or below it)."""
        found = {
            source
            for source, _, key in self._graph.in_edges(resource.address, keys=True)
            if _under(key, attribute)
        }
        return self._select(found, types)

    def edges(self) -> Iterator[tuple[str, str, str]]:
        """Every (source, target, attribute) edge, sorted."""
        yield from sorted(self._graph.edges(keys=True))

    def _select(self, addresses: Iterable[str], types: tuple[str, ...]) -> list[Resource]:
        chosen = [self._resources[a] for a in addresses]
        if types:
            chosen = [r for r in chosen if r.type in types]
        return sorted(chosen, key=lambda r: r.address)


def _under(key: str, attribute: str | None) -> bool:
    return attribute is None or key == attribute or key.startswith(attribute + ".")


def _string_leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, string) for every plain string in a value tree; never sensitive ones."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item, path)
    elif isinstance(value, (Sensitive, Unknown)):
        return
