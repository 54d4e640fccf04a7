"""Helpers shared by the workload policies (PC6xx, PC7xx): guides, regions, evidence.

One home for what more than one workload policy asks: which images belong to the EFS
CSI driver (PC606's, so PC601 stays silent), which come from the AWS Marketplace
(PC604's), the region to write into a remediation, and the clusters cited as evidence.
"""

from __future__ import annotations

from tfcheck.model import Resource, Unknown
from tfcheck.policy import ScanContext
from tfcheck.workloads import (
    MARKETPLACE_REGISTRY,
    ClusterRegion,
    HelmRelease,
    ImageUse,
    Workloads,
    clusters_of,
    component_of_container,
    parse_image,
    release_component,
)

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
IMAGE_COPY_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/copy-image-to-repository.html"
STS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/configure-sts-endpoint.html"
ACCESS_ENTRIES_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html"

EFS_CSI = "aws-efs-csi-driver"
# over a flag to add to a container's `args`: the snippet lists only the new ones
KEEP_OTHER_ARGUMENTS = "add to the container's args, keeping the others"


def known_region(regions: list[ClusterRegion]) -> str:
    for region in regions:
        if isinstance(region.region, str):
            return region.region
    return "<region>"


def cluster_evidence(ctx: ScanContext, resource: Resource) -> list[str]:
    clusters = clusters_of(ctx, resource)
    if clusters is None:
        return [c.address for c in ctx.graph.managed("aws_eks_cluster")]
    return list(clusters)


def efs_pod_ids(found: Workloads) -> set[int]:
    """Pods that run the EFS CSI driver: all their images are the driver's (PC606)."""
    return {id(obj) for obj in found.pods() if obj.pod is not None and any(
        component_of_container(c) == EFS_CSI for c in obj.pod.containers)}


def is_efs_image(use: ImageUse, efs_pods: set[int], found: Workloads) -> bool:
    if use.component == EFS_CSI:
        return True
    if use.obj is not None:
        return id(use.obj) in efs_pods
    release = release_of(found, use.resource)
    return release is not None and release_component(release) == EFS_CSI


def release_of(found: Workloads, resource: Resource) -> HelmRelease | None:
    for release in found.releases:
        if release.resource.address == resource.address:
            return release
    return None


def is_marketplace(image: str | Unknown) -> bool:
    return isinstance(image, str) and parse_image(image).registry == MARKETPLACE_REGISTRY
