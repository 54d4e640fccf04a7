"""VPC endpoints: every service the cluster needs, in its region, with private DNS, in every AZ.

One module per policy (PC301-PC305); this module gathers them for the pack.
"""

from __future__ import annotations

from .endpoint_private_dns import endpoint_private_dns
from .endpoint_region import endpoint_region
from .endpoint_subnet_coverage import endpoint_subnet_coverage
from .missing_vpc_endpoint import missing_vpc_endpoint
from .s3_gateway_route_tables import s3_gateway_route_tables

POLICIES = (
    missing_vpc_endpoint,
    endpoint_region,
    endpoint_private_dns,
    endpoint_subnet_coverage,
    s3_gateway_route_tables,
)

__all__ = [
    "POLICIES",
    "endpoint_private_dns",
    "endpoint_region",
    "endpoint_subnet_coverage",
    "missing_vpc_endpoint",
    "s3_gateway_route_tables",
]
