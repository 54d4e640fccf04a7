"""Each cluster's node sources in the network: their subnets and security groups.

Which cluster owns each node group, Fargate profile and self-managed Auto Scaling group
is `tfcheck.facts.membership`'s answer; this pass reads, for each, the subnets and
security groups its nodes get (through launch templates), and settles the cluster's VPC.
"""

from __future__ import annotations

from collections import defaultdict

from tfcheck.facts.linking import (
    Linker,
)
from tfcheck.facts.membership import Membership
from tfcheck.facts.records import (
    ClusterNetwork,
    NodeSource,
)
from tfcheck.facts.routing import (
    ensure_vpc,
)
from tfcheck.facts.vocabulary import (
    CLUSTER_SG,
    CLUSTER_SUBNETS,
    DEFAULT_SG,
    EMPTY,
    FARGATE_PROFILE,
    MANAGED_NODE_GROUP,
    REMOTE_ACCESS_SG,
    SELF_MANAGED,
    Link,
    input_value,
    leaves_of,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.model import Resource, Unknown
from tfcheck.unknowns import (
    explain,
    managed_elsewhere,
)


def add_clusters(b: Linker, members: Membership | None = None) -> None:
    """Each cluster's node sources, in the order of the graph, and its VPC."""
    graph = b.graph
    members = members if members is not None else Membership(graph)
    every = tuple(c.address for c in b.clusters)
    sources: dict[str, list[tuple[Resource, str]]] = defaultdict(list)
    for resource in graph.managed("aws_eks_node_group", "aws_eks_fargate_profile"):
        owners = members.owners(resource).clusters
        for owner in every if owners is None else owners:
            sources[owner].append((resource, ""))
    for asg in graph.managed("aws_autoscaling_group"):
        joins = members.owners(asg)
        for owner in joins.clusters or ():
            sources[owner].append((asg, joins.reason(owner)))

    for cluster in b.clusters:
        info = _cluster_network(b, cluster)
        mine = sources.get(cluster.address, [])
        nodes: list[NodeSource] = []
        for group, _ in (s for s in mine if s[0].type == "aws_eks_node_group"):
            nodes.append(_managed_node_group(b, members, group, info))
        for profile, _ in (s for s in mine if s[0].type == "aws_eks_fargate_profile"):
            subnets = b.link(profile, "subnet_ids", profile.get("subnet_ids"),
                             b.subnet_map)
            if not subnets.keys and subnets.unknown is None:
                subnets = info.subnets  # no subnet_ids: the cluster's private subnets
            nodes.append(NodeSource(profile, FARGATE_PROFILE, subnets,
                                    Link((info.security_group,))))
        for asg, reason in (s for s in mine if s[0].type == "aws_autoscaling_group"):
            nodes.append(_self_managed(b, members, asg, reason))
        if not nodes:
            nodes.append(NodeSource(cluster, CLUSTER_SUBNETS, info.subnets,
                                    Link((info.security_group,))))
        info.place_nodes(nodes)
        _settle_vpc(b, info)
        b.net.add_cluster(info)


def _cluster_network(b: Linker, cluster: Resource) -> ClusterNetwork:
    subnets = b.link(cluster, "vpc_config.subnet_ids",
                        cluster.get("vpc_config.subnet_ids"), b.subnet_map)
    name = text_value(cluster.get("name"))
    family = text_value(cluster.get("kubernetes_network_config.ip_family"))
    ipv6 = family if isinstance(family, Unknown) else family == "ipv6"
    return ClusterNetwork(cluster, name, cluster.region, None, (), None, subnets,
                          pseudo_key(cluster.address, CLUSTER_SG), ipv6=ipv6)

def _launch_template_groups(b: Linker, template: Resource) -> Link:
    """The SGs a launch template (or launch configuration) gives its instances."""
    mapping = b.sg_map
    if template.type == "aws_launch_configuration":
        return b.link(template, "security_groups", template.get("security_groups"),
                         mapping)
    groups = b.link(template, "vpc_security_group_ids",
                       template.get("vpc_security_group_ids"), mapping)
    for block in read_blocks(template.get("network_interfaces")):
        value = block.get("security_groups")
        known, unknown = leaves_of(value)
        if not known and not unknown:
            continue
        found = b.link(template, "network_interfaces.security_groups", value, mapping)
        groups = groups.merged(found)
    names = b.link(template, "security_group_names",
                      input_value(template, "security_group_names"), {})
    if names.keys:
        groups = groups.merged(Link(tuple(
            _sg_by_name(b, n) for n in names.keys)))
    return groups

def _sg_by_name(b: Linker, name: str) -> str:
    return b.security_groups_by_name.get(name, name)

def _managed_node_group(b: Linker, members: Membership, group: Resource,
                        info: ClusterNetwork) -> NodeSource:
    subnets = b.link(group, "subnet_ids", group.get("subnet_ids"), b.subnet_map)
    templates = [t for t in members.templates_of(group) if t.type == "aws_launch_template"]
    template = templates[0] if templates else None
    groups = EMPTY
    if template is not None:
        groups = _launch_template_groups(b, template)
    elif read_blocks(group.get("launch_template")):
        # a launch template the input cannot tell (`id = local.launch_template_id`,
        # which a plan does not record, or one managed elsewhere): its security
        # groups, not the cluster's, may be the nodes'
        groups = Link((), Unknown(f"the launch template of {group.address} is not "
                                  "known, so neither are the security groups it gives"))
    if not groups.keys and groups.unknown is None:
        # no security groups in the launch template (or none at all): EKS puts the
        # cluster security group on the nodes
        groups = Link((info.security_group,))
    sources: tuple[str, ...] = ()
    if template is None and read_blocks(group.get("remote_access")):
        groups = groups.merged(Link((pseudo_key(group.address, REMOTE_ACCESS_SG),)))
        sources = b.link(group, "remote_access.source_security_group_ids",
                            group.get("remote_access.source_security_group_ids"),
                            b.sg_map).keys
    roles = _role_keys(b, group, "node_role_arn")
    return NodeSource(group, MANAGED_NODE_GROUP, subnets, groups, template, roles=roles,
                      remote_access_sources=sources)

def _self_managed(b: Linker, members: Membership, asg: Resource, reason: str) -> NodeSource:
    templates = members.templates_of(asg)
    roles: tuple[str, ...] = ()
    for template in templates:
        roles += members.instance_roles(template)
    subnets = b.link(asg, "vpc_zone_identifier", asg.get("vpc_zone_identifier"),
                        b.subnet_map)
    first = templates[0] if templates else None
    groups = EMPTY
    if first is not None:
        groups = _launch_template_groups(b, first)
    else:
        # every ASG launches from a template or configuration: one the input cannot
        # tell (a plan drops `local.launch_template_id`) gives groups not known
        groups = Link((), Unknown(f"the launch template of {asg.address} is not "
                                  "known, so neither are the security groups it gives"))
    if not groups.keys and groups.unknown is None:
        # an instance launched without security groups gets the VPC's default SG
        vpcs = {v for s in subnets.keys for v in b.net.subnet(s).vpc.keys}
        groups = Link(tuple(b.canonical(pseudo_key(v, DEFAULT_SG)) for v in sorted(vpcs)))
    return NodeSource(asg, SELF_MANAGED, subnets, groups, first, reason, roles)

def _role_keys(b: Linker, resource: Resource, attribute: str) -> tuple[str, ...]:
    link = b.link(resource, attribute, resource.get(attribute),
                     {"aws_iam_role": lambda r: r.address})
    keys = []
    for key in link.keys:
        if key.startswith("arn:") and ":role/" in key:
            name = key.rsplit("/", 1)[-1]
            keys.append(_role_by_name(b, name) or key)
        else:
            keys.append(key)
    return tuple(keys)

def _role_by_name(b: Linker, name: str) -> str | None:
    return b.roles_by_name.get(name)

def _settle_vpc(b: Linker, info: ClusterNetwork) -> None:
    """The cluster's VPC: through its subnets, else what shares its literal IDs."""
    net = b.net
    cluster = info.cluster
    candidates: dict[str, tuple[str, ...]] = {}
    for subnet_key in info.subnets.keys:
        subnet = net.subnet(subnet_key)
        for vpc in subnet.vpc.keys:
            candidates.setdefault(vpc, (cluster.address, subnet_key, vpc))
    if not candidates:
        vpc_id = text_value(cluster.get("vpc_config.vpc_id"))
        if isinstance(vpc_id, str) and vpc_id:
            key = b.canonical(b.by_id.get(vpc_id, vpc_id))
            candidates[key] = (cluster.address, key)
    if not candidates:
        for source in info.nodes:
            for subnet_key in source.subnets.keys:
                for vpc in net.subnet(subnet_key).vpc.keys:
                    candidates.setdefault(vpc, (cluster.address, source.address,
                                                subnet_key, vpc))
    if not candidates:
        # a pre-existing VPC known only by ID: endpoints or security groups that name
        # the cluster's literal subnet IDs or security groups tell which one
        wanted = set(info.subnets.keys) | {
            k for s in info.nodes for k in s.subnets.keys
        }
        for endpoint in net.endpoints_in_subnets(sorted(wanted)):
            for vpc in endpoint.vpc.keys:
                candidates.setdefault(vpc, (cluster.address, endpoint.address, vpc))
        groups = b.link(cluster, "vpc_config.security_group_ids",
                           cluster.get("vpc_config.security_group_ids"), b.sg_map)
        for group in groups.keys:
            for vpc in net.security_group(group).vpc.keys:
                candidates.setdefault(vpc, (cluster.address, group, vpc))
    if len(candidates) == 1:
        chosen = next(iter(candidates))
        info.vpc = chosen
        info.vpc_evidence = candidates[chosen]
        ensure_vpc(b, chosen)
        for subnet_key in info.subnets.keys:
            subnet = net.subnet(subnet_key)
            if not subnet.vpc.keys and subnet.resource is None:
                subnet.vpc = Link((chosen,))
        for source in info.nodes:
            for subnet_key in source.subnets.keys:
                subnet = net.subnet(subnet_key)
                if not subnet.vpc.keys and subnet.resource is None:
                    subnet.vpc = Link((chosen,))
    elif len(candidates) > 1:
        info.vpc_unknown = (f"its subnets are in several VPCs "
                            f"({', '.join(sorted(candidates))})")
    else:
        unknown = info.subnets.unknown
        if unknown is not None:
            info.vpc_unknown = (f"vpc_config.subnet_ids is not known and refers to no "
                                f"subnet in the input "
                                f"({explain(unknown, b.graph.kind)})")
        elif in_input := [net.subnet(k) for k in info.subnets.keys
                          if net.subnet(k).resource is not None]:
            subnet = in_input[0]
            why = ("" if subnet.vpc.unknown is None else
                   f" ({explain(subnet.vpc.unknown, b.graph.kind)})")
            info.vpc_unknown = f"the vpc_id of its subnet {subnet.key} is not known{why}"
        elif info.subnets.keys:
            info.vpc_unknown = (f"its subnets ({', '.join(info.subnets.keys)}) are not in "
                                "the input and nothing in the input names their VPC; "
                                + managed_elsewhere("their VPC"))
        else:
            info.vpc_unknown = "vpc_config.subnet_ids names no subnet"
    if info.region is None or isinstance(info.region, Unknown):
        regions = {e.region for e in net.endpoints_in(info.vpc) if isinstance(e.region, str)}
        if len(regions) == 1:
            info.region = regions.pop()
