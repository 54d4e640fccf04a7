"""The built-in policy pack for EKS private clusters, ordered by ID.

Installed as `tfcheck_policies` (the directory is `policies/`) and registered under the
`tfcheck.policies` entry-point group, like any third-party pack.
"""

from __future__ import annotations

from tfcheck.policy import Policy

from . import (
    aws_auth_in_vpc,
    cluster_autoscaler,
    cluster_private_endpoint,
    cluster_public_endpoint,
    efs_csi_region,
    endpoint_sg_ingress,
    image_registry,
    karpenter_isolated_vpc,
    lb_controller_flags,
    node_public_ip,
    node_subnet_internet_route,
    sts_regional,
    unsupported_in_private,
    vpc_dns,
)
from .node_sg_egress import POLICIES as NODE_SG_EGRESS_POLICIES
from .self_managed_bootstrap import POLICIES as NODE_POLICIES
from .vpc_endpoints import POLICIES as VPC_ENDPOINT_POLICIES

# one module per workload policy, each readable top to bottom as the rule
WORKLOAD_POLICIES: tuple[Policy, ...] = (
    *image_registry.POLICIES,
    *cluster_autoscaler.POLICIES,
    *lb_controller_flags.POLICIES,
    *unsupported_in_private.POLICIES,
    *sts_regional.POLICIES,
    *efs_csi_region.POLICIES,
    *karpenter_isolated_vpc.POLICIES,
    *aws_auth_in_vpc.POLICIES,
)

ALL_POLICIES: tuple[Policy, ...] = tuple(
    sorted(
        (
            *cluster_private_endpoint.POLICIES,
            *cluster_public_endpoint.POLICIES,
            *node_subnet_internet_route.POLICIES,
            *node_public_ip.POLICIES,
            *vpc_dns.POLICIES,
            *VPC_ENDPOINT_POLICIES,
            *endpoint_sg_ingress.POLICIES,
            *NODE_SG_EGRESS_POLICIES,
            *NODE_POLICIES,
            *WORKLOAD_POLICIES,
        ),
        key=lambda p: p.id,
    )
)

__all__ = ["ALL_POLICIES"]
