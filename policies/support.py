"""Helpers shared by more than one policy module: guides, node subnets, endpoints, workloads.

One home for what more than one policy asks: the AWS guides they cite, the node subnets
PC201 and PC202 cannot read, the subnet CIDR PC401 and PC402 compare rules with, the
wording of the VPC endpoint policies (PC301-PC305), and for the workload policies
(PC6xx, PC7xx) which images belong to the EFS CSI driver (PC606's, so PC601 stays
silent), which come from the AWS Marketplace (PC604's), the region to write into a
remediation, and the clusters cited as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.membership import clusters_of_workload
from tfcheck.model import Resource, Unknown
from tfcheck.network import (
    FARGATE_PROFILE,
    ClusterNetwork,
    IPNetwork,
    Network,
    Subnet,
    about,
)
from tfcheck.policy import Result, ScanContext
from tfcheck.unknowns import explain
from tfcheck.workloads import (
    MARKETPLACE_REGISTRY,
    ClusterRegion,
    HelmRelease,
    ImageUse,
    Workloads,
    component_of_container,
    parse_image,
    release_component,
)

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
IMAGE_COPY_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/copy-image-to-repository.html"
STS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/configure-sts-endpoint.html"
ACCESS_ENTRIES_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html"
INTERFACE_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html"
)
GATEWAY_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"
)

HTTPS = 443

EFS_CSI = "aws-efs-csi-driver"
# over a flag to add to a container's `args`: the snippet lists only the new ones
KEEP_OTHER_ARGUMENTS = "add to the container's args, keeping the others"


# node subnets (PC201, PC202)

def unknown_node_subnets(net: Network, what: str, *, fargate: bool = True
                         ) -> Iterator[Result]:
    """Node groups whose subnets the input cannot give: unknown, on the node group."""
    for info in net.clusters:
        for source, unknown in info.node_subnets_unknown():
            if source.kind == FARGATE_PROFILE and not fargate:
                continue
            yield about(Result.unknown(
                source.resource, f"the subnets of {source.kind} {source.address} are not "
                                 f"known ({explain(unknown, net.graph.kind)}): cannot tell "
                                 f"{what}",
                evidence=(info.address, source.address)), [info])


def node_subnet_subjects(subnet: Subnet, owners: list[ClusterNetwork]) -> list[Resource]:
    """A subnet in the input is its own subject; one known only by ID reports on its clusters."""
    if subnet.resource is not None:
        return [subnet.resource]
    return [info.cluster for info in owners]


# security groups (PC401, PC402)

def known_cidr(subnet: Subnet) -> IPNetwork | None:
    return None if isinstance(subnet.cidr, Unknown) else subnet.cidr


# VPC endpoints (PC301-PC305)

def slug(key: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in key.split(".", 1)[-1])
    return "_".join(part for part in cleaned.split("_") if part)


def explain_value(value: Unknown | str | None, net: Network) -> str:
    """The missing value named, and what decides it (`tfcheck.unknowns.explain`)."""
    return explain(value, net.graph.kind) if isinstance(value, Unknown) else str(value)


def zone_why(net: Network, keys: list[str]) -> str:
    """Why the first of these subnets' Availability Zones is not known, if the input says."""
    for key in keys:
        zone = net.subnets[key].availability_zone if key in net.subnets else None
        if isinstance(zone, Unknown):
            return f" ({explain(zone, net.graph.kind)})"
    return ""


# workloads (PC6xx, PC7xx)

def known_region(regions: list[ClusterRegion]) -> str:
    for region in regions:
        if isinstance(region.region, str):
            return region.region
    return "<region>"


def cluster_evidence(ctx: ScanContext, resource: Resource) -> list[str]:
    clusters = clusters_of_workload(ctx, resource)
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
