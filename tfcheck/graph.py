"""The resource graph: resources as nodes, references between them as edges.

In a plan of new infrastructure almost every ID is "known after apply", so values
cannot tell which VPC an endpoint lives in. The configuration's references can: each
edge records that `source` names `target` in the attribute `attribute`
(`vpc_config.subnet_ids -> aws_subnet.private[1]`) and where the edge comes from
(`Provenance`: plan reference, HCL evaluation, known ID, guess). Where the input says
only "one of these instances", the edge goes to the block (`aws_security_group.bulk`)
once, not to every instance; where it names a whole block (`aws_subnet.x[*].id`), the
edge goes to the block's `[*]` node, which the queries read as an edge to each
instance. Either way edges stay linear in the resources: a `count = 1000` block naming
a 500-instance block is 1,000 edges, not 500,000. `tfcheck.resolve` decides which
edges there are; this module only keeps them.

Policies use the typed queries below, never networkx itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from tfcheck.model import Provenance, Resource, Unknown

if TYPE_CHECKING:
    import networkx as nx


def _new_graph() -> nx.MultiDiGraph[str]:
    """A new networkx graph; imported on first use, never by `tfcheck --version`."""
    import networkx

    return networkx.MultiDiGraph()


class ProviderConfig(msgspec.Struct, frozen=True):
    """One provider configuration: its key (`aws`, `aws.west`, `kubernetes`) and region."""

    key: str
    name: str = "aws"
    alias: str | None = None
    region: str | Unknown | None = None
    module: str = ""
    # What the block sets and refers to: a kubernetes/helm provider's `host` names the
    # cluster its workloads run in.
    values: Mapping[str, Any] = msgspec.field(default_factory=dict)
    references: tuple[str, ...] = ()


class ResourceGraph(msgspec.Struct):
    """Resources of one scanned root module (with all its child modules)."""

    source: str = ""  # the path the graph was loaded from
    kind: str = "plan"  # "plan" or "hcl"
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    notes: list[str] = msgspec.field(default_factory=list)
    # Texts that must never be printed: those of values derived from sensitive ones
    # (e.g. HCL variables declared `sensitive = true`) and, where the loader records
    # them as it wraps them (`sensitive_values_complete`), those of every `Sensitive`
    # value of the resources.
    sensitive_values: set[str] = msgspec.field(default_factory=set)
    # Whether `sensitive_values` holds the text of every `Sensitive` value of the
    # resources (the plan loader's masks say where they are); if not, whoever needs them
    # all walks the values (`tfcheck.engine`).
    sensitive_values_complete: bool = False
    # A plan's configuration (the .tf files it was made from), evaluated: it gives plan
    # findings their file and line, and tells which instances a reference means where
    # the plan records only the whole block. Never a source of values or verdicts.
    configuration: ResourceGraph | None = None
    # The decoded plan the graph was built from. Its values are shared with the
    # resources; the rest lives as long as the graph, so that it is freed with it, in
    # one go or never (`tfcheck.cli` ends the process first), not as loading returns
    # (~0.025 s for a 10,000-resource plan).
    document: Mapping[str, Any] | None = None
    _graph: nx.MultiDiGraph[str] = msgspec.field(default_factory=_new_graph)
    _resources: dict[str, Resource] = msgspec.field(default_factory=dict)
    _by_type: dict[str, list[Resource]] = msgspec.field(default_factory=dict)
    _blocks: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)  # block -> instances
    # `block[*]` node -> every instance of the block; instance -> the `[*]` nodes it is in
    _every: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    _every_of: dict[str, list[str]] = msgspec.field(default_factory=dict)
    # (source, attribute) whose plan references leave the instances open (a guess, a
    # block-level edge, a local the plan does not record) -> the blocks they may pick
    # from ("" means any); the configuration beside a plan settles them (resolve).
    open_references: dict[tuple[str, str], frozenset[str]] = msgspec.field(default_factory=dict)

    # -- building -----------------------------------------------------------------

    def add_resource(self, resource: Resource) -> None:
        if resource.address in self._resources:
            return
        self._resources[resource.address] = resource
        self._by_type.setdefault(resource.type, []).append(resource)
        self._graph.add_node(resource.address)

    def add_reference(self, source: str, attribute: str, target: str,
                      provenance: Provenance | None = None) -> None:
        """Record that `source` refers to `target` from `attribute` (dotted, no indices).

        Without a provenance, the graph's own kind tells it (a plan reference, or an HCL
        evaluation). A fact replaces a guess on the same edge, never the other way round.
        """
        if provenance is None:
            provenance = Provenance.HCL if self.kind == "hcl" else Provenance.PLAN
        if source == target or target not in self._resources or source not in self._resources:
            return
        edges = self._succ[source].get(target)
        if edges is not None and attribute in edges:
            if provenance.is_fact and not edges[attribute]["provenance"].is_fact:
                edges[attribute]["provenance"] = provenance
            return
        self._graph.add_edge(source, target, key=attribute, provenance=provenance)

    def add_block_reference(self, source: str, attribute: str, block: str,
                            instances: Iterable[str],
                            provenance: Provenance = Provenance.PLAN) -> None:
        """Record that `source` refers to *one of* `instances` of `block`, not which.

        One edge, however many instances the block has: `aws_security_group.bulk` +
        `count.index` read without the expression is a block-level edge, expanded only
        by a fact that asks (`candidates`).
        """
        if source not in self._resources or block in self._resources:
            return
        known = self._blocks.get(block)
        if known is None or all(i == source for i in known):  # else: the same instances
            chosen = tuple(i for i in instances if i in self._resources and i != source)
            if not chosen:
                return
            if known is None:
                self._blocks[block] = chosen
                self._graph.add_node(block, instances=chosen)
        if not self._graph.has_edge(source, block, key=attribute):
            self._graph.add_edge(source, block, key=attribute, provenance=provenance)

    def add_every_reference(self, source: str, attribute: str, block: str,
                            instances: Iterable[str],
                            provenance: Provenance = Provenance.PLAN) -> None:
        """Record that `source` refers to *every one* of `instances`, the whole `block`.

        One edge to the node `block[*]` instead of one per instance; `references`,
        `referrers`, `provenance` and `edges` answer as if each instance had its own.
        `instances` are all of the block's, the same whoever refers to it.
        """
        if source not in self._resources:
            return
        node = block + "[*]"
        members = self._every.get(node)
        if members is None:
            members = tuple(i for i in instances if i in self._resources)
            if not members:
                return
            self._every[node] = members
            self._graph.add_node(node, instances=members)
            for member in members:
                self._every_of.setdefault(member, []).append(node)
        if all(member == source for member in members):
            return
        edges = self._succ[source].get(node)
        if edges is None or attribute not in edges:
            self._graph.add_edge(source, node, key=attribute, provenance=provenance)

    def drop_references(self, source: str, attribute: str) -> None:
        """Forget what `source` refers to from `attribute` (to replace it by a better answer)."""
        doomed = [(source, target, key)
                  for _, target, key in self._graph.out_edges(source, keys=True)
                  if key == attribute]
        self._graph.remove_edges_from(doomed)

    def link_known_ids(self) -> None:
        """Edges for literal IDs that equal a resource's known `id`/`arn` (see resolve)."""
        from tfcheck.resolve import link_known_ids

        link_known_ids(self)

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
        """What `resource` refers to, optionally only from `attribute` (or below it).

        Exact instances only (guesses included: ask `provenance` to tell them apart);
        a block-level edge ("one of these instances") is in `candidates`.
        """
        resources = self._resources
        targets = self._succ.get(resource.address, {})
        found = [
            resources[target]
            for target, keys in targets.items()
            if target in resources and _any_under(keys, attribute)
        ]
        if self._every:
            wholes = [self._every[target] for target, keys in targets.items()
                      if target in self._every and _any_under(keys, attribute)]
            if wholes:
                named = {r.address for r in found}
                for members in wholes:
                    found.extend(resources[m] for m in members
                                 if m not in named and m != resource.address)
                    named.update(members)
        return _chosen(found, types)

    def referrers(
        self, resource: Resource, attribute: str | None = None, *types: str
    ) -> list[Resource]:
        """Who refers to `resource`, optionally only from `attribute` (or below it)."""
        resources = self._resources
        found = [
            resources[source]
            for source, keys in self._pred.get(resource.address, {}).items()
            if _any_under(keys, attribute)
        ]
        wholes = self._every_of.get(resource.address)
        if wholes:
            named = {r.address for r in found} | {resource.address}
            for node in wholes:
                for source, keys in self._pred[node].items():
                    if source not in named and _any_under(keys, attribute):
                        named.add(source)
                        found.append(resources[source])
        return _chosen(found, types)

    def candidates(
        self, resource: Resource, attribute: str | None = None, *types: str
    ) -> list[Resource]:
        """The instances `resource` refers to *one of* (block-level edges), expanded."""
        found: set[str] = set()
        for _, target, key in self._graph.out_edges(resource.address, keys=True):
            if target in self._blocks and _under(key, attribute):
                found.update(self._blocks[target])
        return self._select(found, types)

    def block_references(
        self, resource: Resource, attribute: str | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        """(block, its instances) for each block-level edge of `resource`, unexpanded."""
        return sorted({
            (target, self._blocks[target])
            for _, target, key in self._graph.out_edges(resource.address, keys=True)
            if target in self._blocks and _under(key, attribute)
        })

    def provenance(self, source: str, target: str, attribute: str) -> Provenance | None:
        """Where the edge `source -attribute-> target` comes from; None if there is none."""
        targets = self._succ.get(source, {})  # no networkx view per call
        found = _provenance(targets.get(target), attribute)
        if (found is None or not found.is_fact) and source != target:
            for node in self._every_of.get(target, ()):  # a fact replaces a guess
                whole = _provenance(targets.get(node), attribute)
                if whole is not None and (found is None or whole.is_fact):
                    found = whole
        return found

    def is_block(self, address: str) -> bool:
        """Whether `address` is a block-level node (`aws_security_group.bulk`)."""
        return address in self._blocks

    def edges(self) -> Iterator[tuple[str, str, str]]:
        """Every (source, target, attribute) edge between resources, sorted."""
        resources, every = self._resources, self._every
        found: set[tuple[str, str, str]] = set()
        for source, target, attribute in self._graph.edges(keys=True):
            if target in resources:
                found.add((source, target, attribute))
            elif target in every:  # a whole block: an edge to each of its instances
                found.update((source, member, attribute) for member in every[target]
                             if member != source)
        yield from sorted(found)

    def block_edges(self) -> Iterator[tuple[str, str, str]]:
        """Every block-level (source, block, attribute) edge, sorted (see `candidates`)."""
        blocks = self._blocks
        yield from sorted(e for e in self._graph.edges(keys=True) if e[1] in blocks)

    def _select(self, addresses: Iterable[str], types: tuple[str, ...]) -> list[Resource]:
        return _chosen([self._resources[a] for a in addresses], types)

    @property
    def _succ(self) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
        """Per source, its targets and the attributes naming them (networkx adjacency)."""
        return self._graph._succ  # type: ignore[attr-defined,no-any-return]

    @property
    def _pred(self) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
        return self._graph._pred  # type: ignore[attr-defined,no-any-return]


def _provenance(edges: Mapping[str, Mapping[str, Any]] | None, attribute: str
                ) -> Provenance | None:
    if edges is None or attribute not in edges:
        return None
    value = edges[attribute].get("provenance")
    return value if isinstance(value, Provenance) else None


def _under(key: str, attribute: str | None) -> bool:
    return attribute is None or key == attribute or key.startswith(attribute + ".")


def _any_under(keys: Iterable[str], attribute: str | None) -> bool:
    if attribute is None or attribute in keys:  # the edge keys: one lookup, mostly
        return True
    below = attribute + "."
    return any(key.startswith(below) for key in keys)


def _chosen(found: list[Resource], types: tuple[str, ...]) -> list[Resource]:
    if types:
        found = [r for r in found if r.type in types]
    if len(found) > 1:
        found.sort(key=_address)
    return found


def _address(resource: Resource) -> str:
    return resource.address
