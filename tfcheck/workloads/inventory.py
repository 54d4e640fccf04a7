"""Everything a scan deploys into clusters, read once per scan."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource
from tfcheck.policy import ScanContext

from .helm import HelmRelease, read_helm_release
from .kube import (
    MANIFEST_RESOURCES,
    TF_POD_RESOURCES,
    TF_SIMPLE_KINDS,
    KubeObject,
    manifest_objects,
    tf_pod_object,
    tf_simple_object,
)
from .safe_yaml import YamlRefused


class Workloads(msgspec.Struct, frozen=True):
    """Everything the scan deploys into clusters, read once."""

    objects: tuple[KubeObject, ...] = ()
    releases: tuple[HelmRelease, ...] = ()
    addons: tuple[Resource, ...] = ()
    problems: Mapping[str, tuple[str, ...]] = msgspec.field(default_factory=dict)  # address -> why

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [o for o in self.objects if o.kind in kinds]

    def pods(self) -> list[KubeObject]:
        return [o for o in self.objects if o.pod is not None]


def workloads(ctx: ScanContext) -> Workloads:
    """The scan's in-cluster workloads (memoised per scan)."""
    return ctx.fact(_read_workloads)


def _read_workloads(ctx: ScanContext) -> Workloads:
    return read_workloads(ctx.graph)


# the resource types read as workloads: looked up by type, not found among every resource
WORKLOAD_TYPES = tuple(dict.fromkeys((*TF_POD_RESOURCES, *TF_SIMPLE_KINDS, *MANIFEST_RESOURCES,
                                      "helm_release")))


def read_workloads(graph: ResourceGraph) -> Workloads:
    """Read every workload-shaped resource of a graph; never raises on odd values."""
    objects: list[KubeObject] = []
    releases: list[HelmRelease] = []
    problems: dict[str, tuple[str, ...]] = {}
    for resource in graph.managed(*WORKLOAD_TYPES):
        try:
            if resource.type in TF_POD_RESOURCES:
                objects.append(tf_pod_object(resource))
            elif resource.type in TF_SIMPLE_KINDS:
                objects.append(tf_simple_object(resource))
            elif resource.type in MANIFEST_RESOURCES:
                found, why = manifest_objects(resource)
                objects.extend(found)
                if why:
                    problems[resource.address] = why
            elif resource.type == "helm_release":
                release = read_helm_release(resource)
                releases.append(release)
                if release.problems:
                    problems[resource.address] = release.problems
        except YamlRefused as error:  # pragma: no cover - caught closer to the source
            problems[resource.address] = (str(error),)
    addons = tuple(graph.managed("aws_eks_addon"))
    return Workloads(tuple(objects), tuple(releases), addons, problems)
