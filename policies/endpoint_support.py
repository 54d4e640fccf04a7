"""Shared by the VPC endpoint policies (PC301-PC305): guides and wording helpers."""

from __future__ import annotations

from tfcheck.model import Unknown
from tfcheck.network import Network
from tfcheck.unknowns import explain

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
INTERFACE_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html"
)
GATEWAY_ENDPOINTS_GUIDE = (
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"
)


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
