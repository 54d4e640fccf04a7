"""Why a cluster needs a VPC endpoint: the vocabulary between feature detectors and PC301.

Detectors (AWS resources in `tfcheck.network`, in-cluster workloads in
`tfcheck.workloads`) say which service a resource needs and why; PC301 checks that the
cluster's VPC has an endpoint for each.
"""

from __future__ import annotations

import msgspec

from tfcheck.model import Resource


class EndpointNeed(msgspec.Struct, frozen=True):
    """`resource` needs an endpoint for `service` (`sts`, `elasticloadbalancing`, ...)."""

    service: str
    resource: Resource
    reason: str  # the feature, in words: "Cluster Autoscaler", "IAM roles for service accounts"
    clusters: tuple[str, ...] | None = None  # addresses of the clusters it belongs to; None: all
