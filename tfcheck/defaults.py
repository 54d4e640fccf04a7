"""Provider defaults for the attributes tfcheck reasons about.

An attribute the configuration does not set takes the provider's documented default,
also where a plan shows it as "known after apply" because the provider marks it
Optional+Computed. Encoded once, here, so that no policy has to know it.
Values are from `terraform providers schema -json` and the hashicorp/aws 5.x docs.
"""

from __future__ import annotations

from typing import Any

PROVIDER_DEFAULTS: dict[tuple[str, str], Any] = {
    ("aws_eks_cluster", "vpc_config.endpoint_private_access"): False,
    ("aws_eks_cluster", "vpc_config.endpoint_public_access"): True,
    ("aws_eks_cluster", "vpc_config.public_access_cidrs"): ["0.0.0.0/0"],
    ("aws_eks_cluster", "vpc_config.security_group_ids"): [],
    ("aws_eks_cluster", "access_config.authentication_mode"): "CONFIG_MAP",
    ("aws_vpc", "enable_dns_support"): True,
    ("aws_vpc", "enable_dns_hostnames"): False,
    ("aws_vpc_endpoint", "vpc_endpoint_type"): "Gateway",
    ("aws_vpc_endpoint", "private_dns_enabled"): False,
    ("aws_vpc_endpoint", "security_group_ids"): [],
    ("aws_vpc_endpoint", "subnet_ids"): [],
    ("aws_vpc_endpoint", "route_table_ids"): [],
    ("aws_subnet", "map_public_ip_on_launch"): False,
    ("aws_subnet", "assign_ipv6_address_on_creation"): False,
    ("aws_nat_gateway", "connectivity_type"): "public",
    ("aws_route_table", "route"): [],
    ("aws_default_route_table", "route"): [],
    ("aws_security_group", "ingress"): [],
    ("aws_security_group", "egress"): [],
    ("aws_default_security_group", "ingress"): [],
    ("aws_default_security_group", "egress"): [],
    ("aws_launch_template", "vpc_security_group_ids"): [],
    ("aws_launch_template", "network_interfaces"): [],
    ("aws_eks_node_group", "launch_template"): [],
    ("aws_eks_node_group", "remote_access"): [],
    ("aws_autoscaling_group", "vpc_zone_identifier"): [],
    ("aws_vpc_dhcp_options", "domain_name_servers"): [],
}

MISSING = object()


def provider_default(resource_type: str, path: str) -> Any:
    """The documented default, or `MISSING` where the provider documents none."""
    return PROVIDER_DEFAULTS.get((resource_type, path), MISSING)
