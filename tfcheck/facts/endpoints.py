"""VPC endpoints: which service each endpoint serves, in which VPC and subnets."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

from tfcheck.facts.linking import (
    Linker,
)
from tfcheck.facts.records import (
    Endpoint,
)
from tfcheck.facts.routing import (
    ensure_vpc,
)
from tfcheck.facts.vocabulary import (
    DEFAULT_SG,
    EMPTY,
    Link,
    flag_value,
    leaves_of,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.model import Resource, Unknown

_SERVICE_NAME = re.compile(r"^(?:[a-z]{2,3}\.)?com\.amazonaws\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(.+)$")

_SERVICE_SUFFIX = re.compile(r"(?:^|})\.?([a-z0-9][a-z0-9.-]*)$")



def add_endpoints(b: Linker) -> None:
    net = b.net
    graph = b.graph
    extra_subnets: dict[str, Link] = defaultdict(lambda: EMPTY)
    extra_tables: dict[str, Link] = defaultdict(lambda: EMPTY)
    extra_groups: dict[str, Link] = defaultdict(lambda: EMPTY)
    replaces_default: set[str] = set()
    endpoint_map: dict[str, Callable[[Resource], str | None]] = {
        "aws_vpc_endpoint": lambda r: r.address
    }
    for kind, attribute, mapping, into in (
        ("aws_vpc_endpoint_subnet_association", "subnet_id", b.subnet_map,
         extra_subnets),
        ("aws_vpc_endpoint_route_table_association", "route_table_id",
         b.route_table_map, extra_tables),
        ("aws_vpc_endpoint_security_group_association", "security_group_id",
         b.sg_map, extra_groups),
    ):
        for association in graph.managed(kind):
            targets = b.link(association, "vpc_endpoint_id",
                                association.get("vpc_endpoint_id"), endpoint_map)
            found = b.link(association, attribute, association.get(attribute), mapping)
            found = Link(found.keys, found.unknown, (association.address,))
            for endpoint_key in targets.keys:
                into[endpoint_key] = into[endpoint_key].merged(found)
                if (kind == "aws_vpc_endpoint_security_group_association"
                        and flag_value(association.get("replace_default_association")) is True):
                    replaces_default.add(endpoint_key)
    for resource in graph.managed("aws_vpc_endpoint"):
        vpc = b.link(resource, "vpc_id", resource.get("vpc_id"), b.vpc_map)
        service_name = text_value(resource.get("service_name"))
        service, region = _service_of(b, resource, service_name)
        raw_type = text_value(resource.get("vpc_endpoint_type"))
        endpoint_type: str | Unknown = raw_type if raw_type is not None else "Gateway"
        subnets = b.link(resource, "subnet_ids", resource.get("subnet_ids"),
                            b.subnet_map)
        for block in read_blocks(resource.values.get("subnet_configuration")):
            subnets = subnets.merged(Link(tuple(
                b.canonical(b.by_id.get(s, s))
                for s in leaves_of(block.get("subnet_id"))[0] if isinstance(s, str) and s)))
        subnets = subnets.merged(extra_subnets.get(resource.address, EMPTY))
        tables = b.link(resource, "route_table_ids", resource.get("route_table_ids"),
                           b.route_table_map)
        tables = tables.merged(extra_tables.get(resource.address, EMPTY))
        groups = b.link(resource, "security_group_ids",
                           resource.get("security_group_ids"), b.sg_map)
        associated = extra_groups.get(resource.address, EMPTY)
        uses_default = (
            isinstance(endpoint_type, str) and endpoint_type.lower() == "interface"
            and not groups.keys and groups.unknown is None
            and resource.address not in replaces_default
        )
        groups = groups.merged(associated)
        if uses_default and len(vpc.keys) == 1:
            default = b.canonical(pseudo_key(vpc.keys[0], DEFAULT_SG))
            groups = Link((default, *groups.keys), groups.unknown, groups.via)
        private_dns = flag_value(resource.get("private_dns_enabled"))
        endpoint = Endpoint(
            resource, vpc, service_name, service, region, endpoint_type,
            not resource.sets("vpc_endpoint_type"), subnets, tables, groups,
            uses_default, private_dns,
        )
        net.add_endpoint(endpoint)
        for key in vpc.keys:
            ensure_vpc(b, key)

def _service_of(b: Linker, resource: Resource, name: str | Unknown | None
                ) -> tuple[str | None, str | Unknown | None]:
    """(service suffix, region) of `com.amazonaws.<region>.<service>`."""
    if isinstance(name, str):
        match = _SERVICE_NAME.match(name.strip())
        if match:
            return match.group(2), match.group(1)
        if "${" in name:  # built from a region the input cannot give
            suffix = _SERVICE_SUFFIX.search(name.strip())
            region_unknown = Unknown(f"{resource.address}.service_name is {name!r}, "
                                     "built from a value the input does not give")
            return (suffix.group(1) if suffix else None), region_unknown
        return None, None
    if isinstance(name, Unknown):
        # terraform-aws-modules/vpc's endpoints read the name from a data source
        for source in b.graph.references(resource, "service_name",
                                            "aws_vpc_endpoint_service"):
            service = text_value(source.get("service"))
            known = text_value(source.get("service_name"))
            if isinstance(known, str):
                return _service_of(b, resource, known)
            if isinstance(service, str):
                # the data source looks the service up in its provider's region
                region = source.region
                if isinstance(region, str):
                    return service, region
                return service, Unknown(f"{source.address} reads the service name in "
                                        "a provider region the input does not give")
        template = re.search(r"com\.amazonaws\.\$\{[^}]*\}\.([a-z0-9.-]+)", name.reason)
        if template:
            return template.group(1), name
    return None, name

# -- clusters and their nodes ---------------------------------------------------
