"""Membership: which cluster owns each node source, and where those nodes run.

Decides once, for every cluster, its managed node groups, Fargate profiles and
self-managed Auto Scaling groups (by cluster name, tags, user data, node role), their
subnets and security groups (through launch templates), and settles the cluster's VPC.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from tfcheck.facts.linking import (
    Linker,
)
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
    CLUSTER_TAG,
    DEFAULT_SG,
    EMPTY,
    FARGATE_PROFILE,
    MANAGED_NODE_GROUP,
    NAME_WORD,
    REMOTE_ACCESS_SG,
    SELF_MANAGED,
    Link,
    input_value,
    leaves_of,
    names_cluster,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.unknowns import (
    explain,
    managed_elsewhere,
)


def add_clusters(b: Linker) -> None:
    graph = b.graph
    net = b.net
    cluster_map = {"aws_eks_cluster": lambda r: r.address}
    names: dict[str, list[str]] = defaultdict(list)
    for cluster in b.clusters:
        name = text_value(cluster.get("name"))
        if isinstance(name, str):
            names[name].append(cluster.address)

    def members(resource: Resource, attribute: str = "cluster_name") -> tuple[str, ...]:
        return _cluster_members(b, resource, attribute, cluster_map, names)

    node_groups: dict[str, list[Resource]] = defaultdict(list)
    for group in graph.managed("aws_eks_node_group"):
        for owner in members(group):
            node_groups[owner].append(group)
    fargate: dict[str, list[Resource]] = defaultdict(list)
    for profile in graph.managed("aws_eks_fargate_profile"):
        for owner in members(profile):
            fargate[owner].append(profile)
    ec2_roles: dict[str, set[str]] = defaultdict(set)  # cluster -> role keys
    for entry in graph.managed("aws_eks_access_entry"):
        kind = text_value(entry.get("type"))
        if not (isinstance(kind, str) and kind.upper() in ("EC2_LINUX", "EC2_WINDOWS")):
            continue
        roles = _role_keys(b, entry, "principal_arn")
        for owner in members(entry):
            ec2_roles[owner].update(roles)
    self_managed = _self_managed_members(b, 
        graph.managed("aws_autoscaling_group"), names, ec2_roles)

    for cluster in b.clusters:
        info = _cluster_network(b, cluster)
        for group in node_groups.get(cluster.address, ()):
            info.nodes.append(_managed_node_group(b, group, info))
        for profile in fargate.get(cluster.address, ()):
            subnets = b.link(profile, "subnet_ids", profile.get("subnet_ids"),
                                b._subnet_map())
            if not subnets.keys and subnets.unknown is None:
                subnets = info.subnets  # no subnet_ids: the cluster's private subnets
            info.nodes.append(NodeSource(profile, FARGATE_PROFILE, subnets,
                                         Link((info.security_group,))))
        for asg, reason in self_managed.get(cluster.address, ()):
            info.nodes.append(_self_managed(b, asg, reason))
        if not info.nodes:
            info.nodes.append(NodeSource(cluster, CLUSTER_SUBNETS, info.subnets,
                                         Link((info.security_group,))))
        _settle_vpc(b, info)
        net.clusters.append(info)

def _cluster_members(b: Linker, resource: Resource, attribute: str,
                     cluster_map: Mapping[str, Callable[[Resource], str | None]],
                     names: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The clusters `resource.cluster_name` names; every cluster where it cannot tell."""
    refs = [r for r in b.graph.references(resource, attribute, "aws_eks_cluster")]
    found = [r.address for r in refs if not r.is_data]
    for data in (r for r in refs if r.is_data):
        name = text_value(data.get("name"))
        if isinstance(name, str):
            found.extend(names.get(name, ()))
    if found:
        return tuple(dict.fromkeys(found))
    value = text_value(resource.get(attribute))
    if isinstance(value, str):
        return tuple(names.get(value, ()))
    return tuple(c.address for c in b.clusters)

def _cluster_network(b: Linker, cluster: Resource) -> ClusterNetwork:
    subnets = b.link(cluster, "vpc_config.subnet_ids",
                        cluster.get("vpc_config.subnet_ids"), b._subnet_map())
    name = text_value(cluster.get("name"))
    family = text_value(cluster.get("kubernetes_network_config.ip_family"))
    ipv6 = family if isinstance(family, Unknown) else family == "ipv6"
    return ClusterNetwork(cluster, name, cluster.region, None, (), None, subnets,
                          pseudo_key(cluster.address, CLUSTER_SG), ipv6=ipv6)

def _launch_templates(b: Linker, resource: Resource) -> list[Resource]:
    found = b.graph.references(resource, None, "aws_launch_template",
                                  "aws_launch_configuration")
    if found:
        return found
    for attribute in ("launch_template.id", "launch_template.name", "launch_configuration"):
        value = text_value(resource.get(attribute))
        if isinstance(value, str) and value in b.by_id:
            target = b.graph.get(b.by_id[value])
            if target is not None:
                return [target]
        if isinstance(value, str):
            by_name = [t for t in b.graph.resources("aws_launch_template",
                                                       "aws_launch_configuration")
                       if text_value(t.get("name")) == value]
            if by_name:
                return by_name
    return []

def _launch_template_groups(b: Linker, template: Resource) -> Link:
    """The SGs a launch template (or launch configuration) gives its instances."""
    mapping = b._sg_map()
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
    for group in b.graph.resources("aws_security_group"):
        if text_value(group.get("name")) == name:
            return group.address
    return name

def _managed_node_group(b: Linker, group: Resource, info: ClusterNetwork) -> NodeSource:
    subnets = b.link(group, "subnet_ids", group.get("subnet_ids"), b._subnet_map())
    templates = [t for t in _launch_templates(b, group)
                 if t.type == "aws_launch_template"]
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
                            b._sg_map()).keys
    roles = _role_keys(b, group, "node_role_arn")
    return NodeSource(group, MANAGED_NODE_GROUP, subnets, groups, template, roles=roles,
                      remote_access_sources=sources)

def _self_managed_members(b: Linker, asgs: list[Resource], names: Mapping[str, list[str]],
                          ec2_roles: Mapping[str, set[str]]
                          ) -> dict[str, list[tuple[Resource, str]]]:
    """Cluster -> its self-managed Auto Scaling groups (in address order), and why.

    Each group's facts (launch templates, user data, tags, instance roles) are read
    once and matched to clusters through indexes, never group by cluster: the user
    data names a cluster (a reference, or its name as a whole word), the group carries
    `kubernetes.io/cluster/<name>`, or its instance role has an EC2 access entry.
    """
    by_role: dict[str, list[str]] = defaultdict(list)
    for owner, roles in ec2_roles.items():
        for role in roles:
            by_role[role].append(owner)
    odd_names = [n for n in names if NAME_WORD.fullmatch(n) is None]
    unnamed = [c.address for c in b.clusters if not isinstance(text_value(c.get("name")), str)]
    found: dict[str, list[tuple[Resource, str]]] = defaultdict(list)
    for asg in asgs:
        reasons: dict[str, str] = {}
        templates = _launch_templates(b, asg)
        for template in templates:
            why = f"the user data of {template.address} names the cluster"
            named = [r.address for r in b.graph.references(
                template, "user_data", "aws_eks_cluster")]
            text = _decode_user_data(template.get("user_data"))
            if text is not None:
                words = set(NAME_WORD.findall(text))
                named.extend(a for n in names if n in words for a in names[n])
                named.extend(a for n in odd_names if names_cluster(text, n)
                             for a in names[n])
            for owner in named:
                reasons.setdefault(owner, why)
        for key in _asg_tag_keys(b, asg):
            if key.startswith(CLUSTER_TAG):
                for owner in names.get(key[len(CLUSTER_TAG):], ()):
                    reasons.setdefault(owner, f"it carries the tag {key}")
        if unnamed:
            tagged = {r.address for r in b.graph.references(asg, "tag", "aws_eks_cluster")}
            for owner in unnamed:
                if owner in tagged:
                    reasons.setdefault(
                        owner, "it carries the tag kubernetes.io/cluster/<name>")
        if by_role:
            for template in templates:
                for role in _instance_profile_roles(b, template):
                    for owner in by_role.get(role, ()):
                        reasons.setdefault(
                            owner, "its instance role has an EC2 access entry on the "
                                   "cluster")
        for owner, why in reasons.items():
            found[owner].append((asg, why))
    return found

def _self_managed(b: Linker, asg: Resource, reason: str) -> NodeSource:
    templates = _launch_templates(b, asg)
    roles: tuple[str, ...] = ()
    for template in templates:
        roles += _instance_profile_roles(b, template)
    subnets = b.link(asg, "vpc_zone_identifier", asg.get("vpc_zone_identifier"),
                        b._subnet_map())
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

def _asg_tag_keys(b: Linker, asg: Resource) -> list[str]:
    keys: list[str] = []
    for block in read_blocks(asg.get("tag")):
        key = text_value(block.get("key"))
        if isinstance(key, str):
            keys.append(key)
    tags = reveal(asg.get("tags"))
    if isinstance(tags, list):  # the old list-of-maps form
        for item in tags:
            item = reveal(item)
            if isinstance(item, dict):
                key = text_value(item.get("key"))
                if isinstance(key, str):
                    keys.append(key)
    elif isinstance(tags, dict):
        keys.extend(str(k) for k in tags)
    return keys

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
    for role in b.graph.resources("aws_iam_role"):
        if text_value(role.get("name")) == name:
            return role.address
    return None

def _instance_profile_roles(b: Linker, template: Resource) -> tuple[str, ...]:
    profiles = b.graph.references(template, "iam_instance_profile",
                                     "aws_iam_instance_profile")
    if not profiles:
        attribute = ("iam_instance_profile" if template.type == "aws_launch_configuration"
                     else "iam_instance_profile.name")
        value = text_value(template.get(attribute))
        if not isinstance(value, str) and template.type == "aws_launch_template":
            value = text_value(template.get("iam_instance_profile.arn"))
        if isinstance(value, str):
            profiles = [p for p in b.graph.resources("aws_iam_instance_profile")
                        if value in (text_value(p.get("name")), text_value(p.get("arn")))]
    roles: list[str] = []
    for profile in profiles:
        refs = b.graph.references(profile, "role", "aws_iam_role")
        if refs:
            roles.extend(r.address for r in refs)
            continue
        name = text_value(profile.get("role"))
        if isinstance(name, str):
            roles.append(_role_by_name(b, name) or name)
    return tuple(roles)

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
        for endpoint in net.endpoints:
            if wanted & set(endpoint.subnets.keys):
                for vpc in endpoint.vpc.keys:
                    candidates.setdefault(vpc, (cluster.address, endpoint.address, vpc))
        groups = b.link(cluster, "vpc_config.security_group_ids",
                           cluster.get("vpc_config.security_group_ids"), b._sg_map())
        for group in groups.keys:
            for vpc in net.security_group(group).vpc.keys:
                candidates.setdefault(vpc, (cluster.address, group, vpc))
    if len(candidates) == 1:
        chosen = next(iter(candidates))
        info.vpc = chosen
        info.vpc_evidence = candidates[vpc]
        ensure_vpc(b, vpc)
        for subnet_key in info.subnets.keys:
            subnet = net.subnet(subnet_key)
            if not subnet.vpc.keys and subnet.resource is None:
                subnet.vpc = Link((vpc,))
        for source in info.nodes:
            for subnet_key in source.subnets.keys:
                subnet = net.subnet(subnet_key)
                if not subnet.vpc.keys and subnet.resource is None:
                    subnet.vpc = Link((vpc,))
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


def _decode_user_data(value: Any) -> str | None:
    """User data as text: plain, or base64 as plans and `base64encode(...)` hold it."""
    text = reveal(value)
    if not isinstance(text, str) or not text:
        return None
    compact = "".join(text.split())
    if compact and re.fullmatch(r"[A-Za-z0-9+/=]+", compact) and len(compact) % 4 == 0:
        try:
            decoded = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            return text
        if decoded.startswith(b"\x1f\x8b"):
            import gzip

            try:
                decoded = gzip.decompress(decoded)
            except (OSError, EOFError):
                return text
        try:
            return decoded.decode("utf-8")
        except UnicodeDecodeError:
            return text
    return text
