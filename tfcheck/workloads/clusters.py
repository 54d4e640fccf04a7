"""Which cluster a workload is deployed to, and which region that cluster runs in.

Kubernetes and Helm resources belong to the cluster their provider configuration
points at; add-ons to the cluster they name. Where the cluster is not in the input,
the root module's aws provider gives the region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Unknown
from tfcheck.policy import ScanContext

from .inventory import workloads
from .values import as_text, blocks, leaves, plain, walk_values


def clusters_of(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    """Addresses of the `aws_eks_cluster`s a workload is deployed to; None: cannot tell.

    An `aws_eks_addon` belongs to the cluster its `cluster_name` names. Kubernetes and
    Helm resources belong to the cluster their provider configuration points at: the
    provider's `host`, `cluster_ca_certificate`, token or `exec` arguments referring to
    an `aws_eks_cluster` (directly or through `data.aws_eks_cluster[_auth]`), or naming
    it literally. An empty tuple means a cluster that is not in the input.
    """
    return ctx.fact(_cluster_index).get(resource.address, _cluster_default(ctx, resource))


def _cluster_default(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    return _attribute_clusters(ctx, resource)


def _cluster_index(ctx: ScanContext) -> dict[str, tuple[str, ...] | None]:
    index: dict[str, tuple[str, ...] | None] = {}
    by_provider: dict[int, tuple[str, ...] | None] = {}  # one answer per provider block
    found = workloads(ctx)
    resources = [*{o.resource.address: o.resource for o in found.objects}.values(),
                 *(r.resource for r in found.releases), *found.addons]
    for resource in resources:
        provider = _provider_of(ctx.graph, resource) if resource.type != "aws_eks_addon" else None
        if provider is not None and id(provider) in by_provider:
            index[resource.address] = by_provider[id(provider)]
            continue
        index[resource.address] = _attribute_clusters(ctx, resource)
        if provider is not None:
            by_provider[id(provider)] = index[resource.address]
    return index


def _clusters_by_name(graph: ResourceGraph) -> dict[str, list[Resource]]:
    names: dict[str, list[Resource]] = {}
    for cluster in graph.managed("aws_eks_cluster"):
        name = as_text(cluster.values.get("name"))
        if isinstance(name, str):
            names.setdefault(name, []).append(cluster)
    return names


def _attribute_clusters(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    graph = ctx.graph
    clusters = graph.managed("aws_eks_cluster")
    if resource.type == "aws_eks_addon":
        targets = graph.references(resource, "cluster_name")
        resolved = _resolve_cluster_targets(graph, targets)
        if resolved is not None:
            return resolved
        name = as_text(resource.values.get("cluster_name"))
        if isinstance(name, str):
            return tuple(c.address for c in _clusters_by_name(graph).get(name, []))
        return None
    provider = _provider_of(graph, resource)
    if provider is None:
        return None
    references = [r for ref in _provider_references(provider)
                  for r in _resolve_reference(graph, ref)]
    resolved = _resolve_cluster_targets(graph, references)
    if resolved is not None:
        return resolved
    # literal cluster names or endpoints in the provider block (exec args, host)
    literals = {v for _, v in leaves(getattr(provider, "values", None)) if isinstance(v, str)}
    by_name = _clusters_by_name(graph)
    matched = {c.address for name, found in by_name.items() for c in found
               if name in literals or any(_names_cluster(text, name) for text in literals)}
    for cluster in clusters:
        endpoint = cluster.values.get("endpoint")
        if isinstance(endpoint, str) and endpoint in literals:
            matched.add(cluster.address)
    if matched:
        return tuple(sorted(matched))
    return None


def _names_cluster(text: str, name: str) -> bool:
    return f"--cluster-name {name}" in text or f"--cluster-name={name}" in text


def _resolve_cluster_targets(graph: ResourceGraph, targets: list[Resource]
                             ) -> tuple[str, ...] | None:
    """Clusters among referenced resources, following `data.aws_eks_cluster[_auth]`."""
    found: set[str] = set()
    external = False
    for target in targets:
        if target.type == "aws_eks_cluster" and not target.is_data:
            found.add(target.address)
        elif target.type in ("aws_eks_cluster", "aws_eks_cluster_auth") and target.is_data:
            behind = graph.references(target, "name", "aws_eks_cluster")
            managed = [c for c in behind if not c.is_data]
            if managed:
                found.update(c.address for c in managed)
                continue
            name = as_text(target.values.get("name"))
            if isinstance(name, str):
                named = _clusters_by_name(graph).get(name, [])
                found.update(c.address for c in named)
                external = external or not named
    if found:
        return tuple(sorted(found))
    if external:
        return ()
    return None


def _provider_of(graph: ResourceGraph, resource: Resource) -> Any:
    """The provider configuration a resource uses, by the keys a plan or HCL writes."""
    key = resource.provider
    candidates = [key]
    if ":" in key:
        candidates.append(key.rsplit(":", 1)[1])
    if resource.module:
        candidates.insert(0, f"{resource.module}:{key}")
    for candidate in candidates:
        provider = graph.providers.get(candidate)
        if provider is not None:
            return provider
    return None


def _provider_references(provider: Any) -> list[str]:
    """What a provider block refers to, as written (needs `ProviderConfig.references`).

    Accepts a mapping of attribute -> references or a flat collection; also collects
    the references of `Unknown` values in `ProviderConfig.values` (HCL evaluation).
    """
    references = getattr(provider, "references", None)
    out: list[str] = []
    if isinstance(references, Mapping):
        for refs in references.values():
            out.extend(str(r) for r in blocks(refs) if isinstance(r, str))
    elif isinstance(references, (list, tuple, set, frozenset)):
        out.extend(str(r) for r in references)
    for _, value in walk_values(getattr(provider, "values", None) or {}):
        bare = plain(value)
        if isinstance(bare, Unknown):
            out.extend(bare.references)
    return sorted(set(out))


def _resolve_reference(graph: ResourceGraph, reference: str) -> list[Resource]:
    """Resources a reference names: `data.aws_eks_cluster.x.endpoint` -> the data source.

    Trailing attributes and index keys are dropped until an address matches; a module
    output (`module.eks.cluster_endpoint`) that matches nothing stands for the clusters
    inside that module.
    """
    parts = reference.split(".")
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        found = graph.get(candidate)
        if found is not None:
            return [found]
        bare = re.sub(r"\[[^\]]*\]$", "", candidate)
        if bare != candidate:
            found = graph.get(bare)
            if found is not None:
                return [found]
        instances = [r for r in graph.resources() if r.config_address == bare
                     and r.address.startswith(bare)]
        if instances:
            return instances
    match = re.match(r"^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)+)", reference + ".")
    if match:
        prefix = re.sub(r"\[[^\]]*\]", "", match.group(1))
        return [c for c in graph.resources("aws_eks_cluster")
                if re.sub(r"\[[^\]]*\]", "", c.address).startswith(prefix)]
    return []


@dataclass(frozen=True)
class ClusterRegion:
    """The region a workload's cluster runs in, and where that came from."""

    region: str | Unknown
    source: str  # "aws_eks_cluster.main", "provider aws"


def cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    """The cluster resources a workload runs in: managed clusters, else data sources.

    Managed `aws_eks_cluster`s it belongs to (every one where that cannot be told);
    where the input has none, the `data.aws_eks_cluster` its provider reads, or the
    input's only `data.aws_eks_cluster` (a workloads-only root module reads its cluster
    that way). Empty where the cluster is not in the input at all.
    """
    cache = ctx.fact(_cluster_resource_cache)
    if resource.address not in cache:
        cache[resource.address] = _cluster_resources(ctx, resource)
    return cache[resource.address]


def _cluster_resource_cache(ctx: ScanContext) -> dict[str, list[Resource]]:
    return {}


def _cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    graph = ctx.graph
    addresses = clusters_of(ctx, resource)
    if addresses is None:
        chosen = graph.managed("aws_eks_cluster")
    else:
        chosen = [c for a in addresses if (c := graph.get(a)) is not None]
    if chosen or graph.managed("aws_eks_cluster"):
        return chosen
    data = [r for r in _provider_targets(graph, resource)
            if r.type == "aws_eks_cluster" and r.is_data]
    if not data:
        every = [r for r in graph.resources("aws_eks_cluster") if r.is_data]
        data = every if len(every) == 1 else []
    return data


def regions_of(ctx: ScanContext, resource: Resource) -> list[ClusterRegion]:
    """The region(s) of the cluster(s) a workload runs in.

    The clusters it belongs to give their regions (a data source's region is its aws
    provider's); a workload whose cluster is not in the input takes the root module's
    aws provider region; where that is unknown too, the region is `Unknown` and
    region-specific checks answer `unknown`.
    """
    graph = ctx.graph
    regions: list[ClusterRegion] = []
    for cluster in cluster_resources(ctx, resource):
        region = cluster.region
        if region is None:
            region = _provider_region(graph)
        regions.append(ClusterRegion(region, cluster.address))
    if regions:
        return regions
    return [ClusterRegion(_provider_region(graph), "provider aws")]


def _provider_targets(graph: ResourceGraph, resource: Resource) -> list[Resource]:
    provider = _provider_of(graph, resource)
    if provider is None:
        return []
    return [r for ref in _provider_references(provider) for r in _resolve_reference(graph, ref)]


def _provider_region(graph: ResourceGraph) -> str | Unknown:
    provider = graph.providers.get("aws")
    if provider is not None and provider.region is not None:
        return provider.region
    if provider is None:
        return Unknown("no aws provider region in the input (no cluster and no provider "
                       "\"aws\" block)")
    return Unknown("the aws provider sets no region (it comes from the environment)")
