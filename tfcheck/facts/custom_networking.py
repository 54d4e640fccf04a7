"""VPC CNI custom networking: pods on ENIConfig subnets call the endpoints from there.

With `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true` in the vpc-cni add-on's
`configuration_values` (its `env` map), the CNI gives pods secondary network interfaces
in the subnets of `ENIConfig` objects, with the ENIConfig's `securityGroups` (else the
node's primary interface groups). Pods then call the VPC endpoints from those subnets,
so the endpoints' security groups must admit them too (catalog: PC401, issue 12).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tfcheck.facts.builder import network
from tfcheck.facts.membership import clusters_of_workload
from tfcheck.facts.records import ClusterNetwork, Network, NodeSource
from tfcheck.facts.vocabulary import Link
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.policy import ScanContext
from tfcheck.unknowns import explain
from tfcheck.workloads.inventory import workloads
from tfcheck.workloads.kube import KubeObject

CUSTOM_NETWORK = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"
POD_SUBNETS = "pod subnets (ENIConfig)"


class PodNetworking(msgspec.Struct, frozen=True):
    """Per cluster: the ENIConfig pod sources, and why it cannot be told where not."""

    sources: dict[str, list[NodeSource]]
    doubts: dict[str, list[str]]


def pod_networking(ctx: ScanContext) -> PodNetworking:
    """The custom-networking pod sources of this scan, computed once."""
    return ctx.fact(_build)


def custom_networking(addon: Resource, kind: str) -> bool | str:
    """Whether a vpc-cni add-on turns custom networking on; a str says why not known."""
    raw = reveal(addon.get("configuration_values"))
    if raw is None or not addon.sets("configuration_values"):
        return False  # unset: AWS's defaults, which leave custom networking off
    if isinstance(raw, Unknown):
        return f"the configuration_values of {addon.address} are not known ({explain(raw, kind)})"
    if not isinstance(raw, str):
        return False
    try:
        config = json.loads(raw)
    except ValueError:
        return False  # the add-on API rejects it: no custom networking either
    env = config.get("env") if isinstance(config, dict) else None
    value = env.get(CUSTOM_NETWORK) if isinstance(env, dict) else None
    return isinstance(value, (str, bool)) and str(value).lower() == "true"


def _build(ctx: ScanContext) -> PodNetworking:
    net = network(ctx)
    kind = net.graph.kind
    sources: dict[str, list[NodeSource]] = {}
    doubts: dict[str, list[str]] = {}
    enabled: dict[str, list[str]] = {}  # cluster -> add-on addresses (or doubts)
    for addon in ctx.graph.managed("aws_eks_addon"):
        if reveal(addon.get("addon_name")) != "vpc-cni":
            continue
        verdict = custom_networking(addon, kind)
        if verdict is False:
            continue
        owners = clusters_of_workload(ctx, addon)
        for owner in owners if owners is not None else tuple(c.address for c in net.clusters):
            if isinstance(verdict, str):
                doubts.setdefault(owner, []).append(
                    f"{verdict}, so neither is whether pods use ENIConfig subnets")
            else:
                enabled.setdefault(owner, []).append(addon.address)
    if not enabled:
        return PodNetworking(sources, doubts)
    # each cluster's ENIConfigs (all of them where their cluster cannot be told), in
    # input order: grouped once, not looked for among every ENIConfig per cluster
    eniconfigs: dict[str, list[KubeObject]] = {address: [] for address in enabled}
    for obj in workloads(ctx).of_kind("ENIConfig"):
        owners = clusters_of_workload(ctx, obj.resource)
        for owner in eniconfigs if owners is None else dict.fromkeys(owners):
            if owner in eniconfigs:
                eniconfigs[owner].append(obj)
    for info in net.clusters:
        if info.address not in enabled:
            continue
        mine = eniconfigs[info.address]
        if not mine:
            doubts.setdefault(info.address, []).append(
                f"{', '.join(enabled[info.address])} turns on custom networking, but no "
                "ENIConfig is in the input, so not which subnets pods use")
        for obj in mine:
            source = _pod_source(net, info, obj)
            if source.subnets.unknown is not None:
                doubts.setdefault(info.address, []).append(source.subnets.unknown.reason)
            sources.setdefault(info.address, []).append(source)
    return PodNetworking(sources, doubts)


def _pod_source(net: Network, info: ClusterNetwork, obj: KubeObject) -> NodeSource:
    spec = reveal(obj.raw.get("spec"))
    spec = spec if isinstance(spec, dict) else {}
    subnets = _keys(net, obj.resource, reveal(spec.get("subnet")), ("aws_subnet",),
                    f"spec.subnet of ENIConfig {obj.name}")
    groups_value = reveal(spec.get("securityGroups"))
    if groups_value is None:
        # the secondary interfaces get the node's primary interface groups
        carried = {s.security_groups.keys for s in info.nodes}
        groups = (Link(next(iter(carried))) if len(carried) == 1 else Link((), Unknown(
            f"ENIConfig {obj.name} sets no securityGroups, so its pods carry the groups of "
            "whichever node they run on")))
    else:
        values = groups_value if isinstance(groups_value, list) else [groups_value]
        groups = EMPTY_LINK
        for value in values:
            groups = groups.merged(_keys(net, obj.resource, reveal(value),
                                         ("aws_security_group",),
                                         f"spec.securityGroups of ENIConfig {obj.name}"))
    return NodeSource(obj.resource, POD_SUBNETS, subnets, groups,
                      membership=f"ENIConfig {obj.name}")


EMPTY_LINK = Link()


def _keys(net: Network, resource: Resource, value: Any, types: tuple[str, ...],
          what: str) -> Link:
    """A literal ID (known or not) or the instances an unknown value's references name."""
    if isinstance(value, str) and value:
        return Link((net.ids.get(value, value),))
    if isinstance(value, Unknown):
        found = [r for r in value.references
                 if (target := net.graph.get(r)) is not None and target.type in types]
        if found:
            return Link(tuple(dict.fromkeys(found)))
        return Link((), Unknown(f"{what} is not known: {explain(value, net.graph.kind)}",
                                value.references))
    return Link((), Unknown(f"{what} is not set", ()))
