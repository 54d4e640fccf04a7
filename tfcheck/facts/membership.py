"""Membership: which cluster owns each node source and each workload, in one place.

One definition that the network builder (PC2xx-PC4xx), PC501 and the workload policies
(PC3xx needs, PC6xx, PC7xx) all read:

- a managed node group, Fargate profile, add-on or access entry belongs to the cluster
  its `cluster_name` names (a reference, a `data.aws_eks_cluster` that reads it, or the
  name as a literal);
- a self-managed `aws_autoscaling_group` belongs to the cluster its launch template's
  user data joins (the bootstrap's cluster name, a reference, the name as a whole word):
  the kubelet registers with that cluster and no other. Only where the user data names
  none do the weaker signs count: the tag `kubernetes.io/cluster/<name>`, or an
  `EC2_LINUX`/`EC2_WINDOWS` access entry for its instance role;
- a launch template belongs to the cluster its user data joins, else to its users'
  (Auto Scaling groups, managed node groups);
- a Kubernetes or Helm resource belongs to the cluster its provider configuration points
  at; an add-on to the cluster it names. Karpenter's nodes are made by such workloads
  (its chart, `NodePool`s, `EC2NodeClass`es): they belong where Karpenter runs.

Answers are `Owners`: the managed clusters (None where it cannot be told: any of the
input's), plus `data.aws_eks_cluster` sources that stand for a cluster not managed in
the input. Each node source is decided once per scan, through indexes, never by looping
over clusters and node sources in pairs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import msgspec

from tfcheck.facts.vocabulary import (
    CLUSTER_TAG,
    NAME_WORD,
    names_cluster,
    read_blocks,
    text_value,
)
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.policy import ScanContext
from tfcheck.userdata import UserDataReading, read_user_data, user_data_source
from tfcheck.workloads import ClusterRegion, workloads
from tfcheck.workloads.values import blocks, leaves, plain, walk_values

LAUNCH_TYPES = ("aws_launch_template", "aws_launch_configuration")
NODE_SOURCE_TYPES = ("aws_eks_node_group", "aws_eks_fargate_profile", "aws_autoscaling_group",
                     *LAUNCH_TYPES)
EC2_ACCESS_ENTRY_TYPES = ("EC2_LINUX", "EC2_WINDOWS")
# what user data is commonly assembled in, followed (a few steps) to the cluster it reads
_USER_DATA_SOURCES = ("cloudinit_config", "template_file", "template_cloudinit_config",
                      "aws_eks_cluster", "aws_eks_cluster_auth", "aws_ssm_parameter",
                      "terraform_data", "null_resource")


class Owners(msgspec.Struct, frozen=True):
    """The clusters something belongs to, and why.

    `clusters`: addresses of managed `aws_eks_cluster`s; None where the input cannot
    tell which (any of its clusters). `outside`: `data.aws_eks_cluster` sources read for
    a cluster the input does not manage. `reasons`: (cluster, why) for self-managed nodes.
    """

    clusters: tuple[str, ...] | None
    outside: tuple[str, ...] = ()
    reasons: tuple[tuple[str, str], ...] = ()

    @property
    def joined(self) -> bool:
        """Whether it belongs to some cluster (of the input or not), or may."""
        return self.clusters is None or bool(self.clusters) or bool(self.outside)

    def reason(self, cluster: str) -> str:
        return next((why for c, why in self.reasons if c == cluster), "")


NOBODY = Owners(())
CANNOT_TELL = Owners(None)


# -- the public questions -------------------------------------------------------------


def node_membership(ctx: ScanContext) -> Membership:
    """The scan's node-source membership, computed once and shared."""
    return ctx.fact(_node_membership)


def _node_membership(ctx: ScanContext) -> Membership:
    return Membership(ctx.graph)


def clusters_of_node_source(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    """Managed clusters a node group, Fargate profile, ASG or launch template belongs to.

    None: cannot tell (any of the input's clusters); empty: none of them.
    """
    return node_membership(ctx).owners(resource).clusters


def clusters_of_workload(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    """Addresses of the `aws_eks_cluster`s a workload is deployed to; None: cannot tell.

    An `aws_eks_addon` belongs to the cluster its `cluster_name` names. Kubernetes and
    Helm resources belong to the cluster their provider configuration points at: the
    provider's `host`, `cluster_ca_certificate`, token or `exec` arguments referring to
    an `aws_eks_cluster` (directly or through `data.aws_eks_cluster[_auth]`), or naming
    it literally. An empty tuple means a cluster that is not in the input.
    """
    index = ctx.fact(_workload_index)
    if resource.address not in index:
        index[resource.address] = _workload_owners(node_membership(ctx), resource).clusters
    return index[resource.address]


# -- node sources ------------------------------------------------------------------------


class Membership:
    """Every node source's owners, decided once per graph through name and role indexes."""

    def __init__(self, graph: ResourceGraph) -> None:
        self.graph = graph
        self.managed = [c.address for c in graph.managed("aws_eks_cluster")]
        self._names: dict[str, list[Resource]] = defaultdict(list)
        for cluster in graph.resources("aws_eks_cluster"):
            name = text_value(cluster.get("name"))
            if isinstance(name, str):
                self._names[name].append(cluster)
        self._managed_names = {n for n, cs in self._names.items()
                               if any(not c.is_data for c in cs)}
        self._odd_names = [n for n in self._managed_names if NAME_WORD.fullmatch(n) is None]
        self._unnamed = [c.address for c in graph.managed("aws_eks_cluster")
                         if not isinstance(text_value(c.get("name")), str)]
        self._readings: dict[str, tuple[UserDataReading, str]] = {}
        self._instances: dict[str, list[Resource]] | None = None  # `instances_of`
        self._clusters_in: dict[str, list[Resource]] | None = None  # `clusters_in_module`
        self._owners: dict[str, Owners] = {}
        self._templates: dict[str, list[Resource]] = {}
        self._users: dict[str, list[Resource]] = defaultdict(list)
        self._entries: dict[str, list[tuple[str, ...] | None]] = defaultdict(list)
        for entry in graph.managed("aws_eks_access_entry"):
            kind = text_value(entry.get("type"))
            if isinstance(kind, str) and kind.upper() in EC2_ACCESS_ENTRY_TYPES:
                owners = self.named_by(entry).clusters
                for key in self._principal_roles(entry):
                    self._entries[key].append(owners)
        for user in graph.managed("aws_autoscaling_group", "aws_eks_node_group"):
            for template in self.templates_of(user):
                self._users[template.address].append(user)
        for source in graph.managed(*NODE_SOURCE_TYPES):
            self.owners(source)

    @cached_property
    def _roles_by_name(self) -> dict[str, str]:
        """IAM roles by name, for roles named rather than referred to (read when asked)."""
        return self._roles_by("name")

    @cached_property
    def _roles_by_arn(self) -> dict[str, str]:
        """IAM roles by known ARN (read when asked)."""
        return self._roles_by("arn")

    def _roles_by(self, attribute: str) -> dict[str, str]:
        """Role address by the known text of `attribute`; the first role keeps a text."""
        found: dict[str, str] = {}
        for role in self.graph.resources("aws_iam_role"):
            text = text_value(role.get(attribute))
            if isinstance(text, str):
                found.setdefault(text, role.address)
        return found

    def owners(self, resource: Resource) -> Owners:
        """Who a node source (or anything with `cluster_name`) belongs to."""
        found = self._owners.get(resource.address)
        if found is None:
            if resource.type == "aws_autoscaling_group":
                found = self._self_managed(resource)
            elif resource.type in LAUNCH_TYPES:
                found = self._launch_template(resource)
            else:
                found = self.named_by(resource)
            self._owners[resource.address] = found
        return found

    def users_of(self, template: Resource) -> list[Resource]:
        """The Auto Scaling groups and managed node groups that launch from `template`."""
        return sorted(self._users.get(template.address, ()), key=lambda r: r.address)

    def reading(self, template: Resource) -> UserDataReading:
        """The template's user data, decoded and read once (`tfcheck.userdata`)."""
        return self._read(template)[0]

    def user_data_origin(self, template: Resource) -> str:
        """Where the user data was read: "plan", "HCL" or the `cloudinit_config`."""
        return self._read(template)[1]

    def _read(self, template: Resource) -> tuple[UserDataReading, str]:
        found = self._readings.get(template.address)
        if found is None:
            source = user_data_source(self.graph, template)
            reading = read_user_data(source.value)
            if source.problems:
                reading = UserDataReading(reading.decoded, reading.bootstraps,
                                          (*reading.problems, *source.problems))
            found = self._readings[template.address] = (reading, source.origin)
        return found

    def named_by(self, resource: Resource, attribute: str = "cluster_name") -> Owners:
        """The clusters an attribute names: a reference, a data source, a literal name."""
        found = self.of_targets(self.graph.references(resource, attribute, "aws_eks_cluster"))
        if found is not None:
            return found
        value = text_value(resource.get(attribute))
        if isinstance(value, str):
            return self.by_name(value)
        return CANNOT_TELL

    def by_name(self, name: str) -> Owners:
        """The managed clusters of that name; else the data sources reading one."""
        named = self._names.get(name, [])
        managed = tuple(c.address for c in named if not c.is_data)
        if managed:
            return Owners(managed)
        return Owners((), tuple(c.address for c in named))

    def of_targets(self, targets: Iterable[Resource]) -> Owners | None:
        """Clusters among referenced resources, following `data.aws_eks_cluster[_auth]`.

        A data source that reads a managed cluster of the input (by reference or by
        name) is that cluster; one that reads another cluster stands for it in
        `outside`. None where no target says.
        """
        found: set[str] = set()
        outside: set[str] = set()
        for target in targets:
            if target.type == "aws_eks_cluster" and not target.is_data:
                found.add(target.address)
            elif target.type in ("aws_eks_cluster", "aws_eks_cluster_auth") and target.is_data:
                behind = [c for c in self.graph.references(target, "name", "aws_eks_cluster")
                          if not c.is_data]
                if behind:
                    found.update(c.address for c in behind)
                    continue
                name = text_value(target.get("name"))
                if isinstance(name, str):
                    named = self.by_name(name)
                    found.update(named.clusters or ())
                    if not named.clusters:
                        outside.add(target.address)
        if found or outside:
            return Owners(tuple(sorted(found)), tuple(sorted(outside)))
        return None

    def named_in_provider(self, literals: set[str]) -> tuple[str, ...]:
        """Managed clusters a provider block names literally: name, exec args, endpoint.

        A name counts as a whole literal or right after `--cluster-name ` /
        `--cluster-name=` in one (a prefix of what follows, as a substring test reads
        it); looked up per literal, not tested per cluster name.
        """
        names = set(literals & self._managed_names)
        lengths = {len(name) for name in self._managed_names}
        for text in literals:
            for flag in _CLUSTER_NAME_FLAG.finditer(text):
                after = text[flag.end():]
                names.update(after[:n] for n in lengths if after[:n] in self._managed_names)
        matched = {c.address for name in names for c in self._names[name] if not c.is_data}
        matched.update(c for text in literals for c in self._by_endpoint.get(text, ()))
        return tuple(sorted(matched))

    @cached_property
    def _by_endpoint(self) -> dict[str, list[str]]:
        """Managed clusters by their known API endpoint (a provider's `host`)."""
        found: dict[str, list[str]] = defaultdict(list)
        for cluster in self.graph.managed("aws_eks_cluster"):
            endpoint = cluster.values.get("endpoint")
            if isinstance(endpoint, str):
                found[endpoint].append(cluster.address)
        return found

    def instances_of(self, config_address: str) -> list[Resource]:
        """The instances of a configuration block (`aws_x.y` -> `aws_x.y["a"]`), by address.

        Through an index of every resource by its address without instance keys, built
        on the first question: providers ask per reference.
        """
        if self._instances is None:
            self._instances = defaultdict(list)
            for resource in self.graph.resources():
                self._instances[resource.config_address].append(resource)
        return [r for r in self._instances.get(config_address, ())
                if r.address.startswith(config_address)]

    def clusters_in_module(self, path: str) -> list[Resource]:
        """The `aws_eks_cluster`s (data sources too) inside a module path (`module.eks.`).

        `path` is written without instance keys, and so are the clusters' module paths:
        a module output stands for every instance of the module. Indexed by every
        module path of each cluster, on the first question.
        """
        if self._clusters_in is None:
            self._clusters_in = defaultdict(list)
            for cluster in self.graph.resources("aws_eks_cluster"):
                modules = _MODULE_PATH.match(_INSTANCE_KEYS.sub("", cluster.address))
                words = modules.group(0).split(".")[:-1] if modules else []
                for end in range(2, len(words) + 1, 2):  # "module.a.", "module.a.module.b."
                    self._clusters_in[".".join(words[:end]) + "."].append(cluster)
        return list(self._clusters_in.get(path, ()))

    def templates_of(self, resource: Resource) -> list[Resource]:
        """The launch templates (or configurations) an ASG or node group launches from."""
        if resource.address not in self._templates:
            self._templates[resource.address] = self._find_templates(resource)
        return self._templates[resource.address]

    def _find_templates(self, resource: Resource) -> list[Resource]:
        found = self.graph.references(resource, None, *LAUNCH_TYPES)
        if found:
            return found
        for attribute in ("launch_template.id", "launch_template.name", "launch_configuration",
                          "mixed_instances_policy.launch_template.launch_template_specification"
                          ".launch_template_id"):
            value = text_value(resource.get(attribute))
            if isinstance(value, str) and value:
                named = [t for t in self.graph.resources(*LAUNCH_TYPES)
                         if value in (text_value(t.get("id")), text_value(t.get("arn")),
                                      text_value(t.get("name")))]
                if named:
                    return named
        return []

    def instance_roles(self, template: Resource) -> tuple[str, ...]:
        """The IAM roles a launch template's instance profile gives its instances."""
        graph = self.graph
        profiles = graph.references(template, "iam_instance_profile", "aws_iam_instance_profile")
        if not profiles:
            attribute = ("iam_instance_profile" if template.type == "aws_launch_configuration"
                         else "iam_instance_profile.name")
            value = text_value(template.get(attribute))
            if not isinstance(value, str) and template.type == "aws_launch_template":
                value = text_value(template.get("iam_instance_profile.arn"))
            if isinstance(value, str):
                profiles = [p for p in graph.resources("aws_iam_instance_profile")
                            if value in (text_value(p.get("name")), text_value(p.get("arn")))]
        roles: list[str] = []
        for profile in profiles:
            refs = graph.references(profile, "role", "aws_iam_role")
            if refs:
                roles.extend(r.address for r in refs)
                continue
            name = text_value(profile.get("role"))
            if isinstance(name, str):
                roles.append(self._roles_by_name.get(name, name))
        return tuple(roles)

    def _principal_roles(self, entry: Resource) -> list[str]:
        refs = self.graph.references(entry, "principal_arn", "aws_iam_role")
        if refs:
            return [r.address for r in refs]
        arn = text_value(entry.get("principal_arn"))
        if not isinstance(arn, str):
            return []
        if arn in self._roles_by_arn:
            return [self._roles_by_arn[arn]]
        if arn.startswith("arn:") and ":role/" in arn:
            return [self._roles_by_name.get(arn.rsplit("/", 1)[-1], arn)]
        return [arn]

    def joined_by_user_data(self, template: Resource) -> Owners | None:
        """The cluster the user data joins: its bootstrap's name, a reference, a word.

        The bootstrap's cluster name decides; else a reference to the cluster (through
        `cloudinit_config`, `templatefile` and data sources); else, in user data that runs
        an EKS bootstrap, the cluster's name as a whole word. None: the user data says not.
        """
        why = f"the user data of {template.address} names the cluster"
        reading = self.reading(template)
        named = [self.by_name(b.cluster_name) for b in reading.bootstraps if b.cluster_name]
        clusters = {c for o in named for c in o.clusters or ()}
        outside = {c for o in named for c in o.outside}
        if clusters or outside:
            return _owners(clusters, outside, why)
        referenced = self.of_targets(self._user_data_references(template))
        if referenced is not None:
            return Owners(referenced.clusters, referenced.outside,
                          tuple((c, why) for c in referenced.clusters or ()))
        decoded = reading.decoded
        if isinstance(decoded, Unknown) or not self._managed_names or not reading.mentions_eks:
            return None
        text = decoded.text
        words = set(NAME_WORD.findall(text))
        names = words & self._managed_names  # a set operation: no pass over every name
        names.update(n for n in self._odd_names if names_cluster(text, n))
        found = {c.address for n in names for c in self._names[n] if not c.is_data}
        return _owners(found, set(), why) if found else None

    def _user_data_references(self, template: Resource) -> list[Resource]:
        """Clusters the user data refers to, directly or through data sources (bounded)."""
        graph = self.graph
        found: dict[str, Resource] = {}
        frontier = (graph.references(template, "user_data")
                    + graph.references(template, "user_data_base64"))
        seen: set[str] = set()
        for _ in range(4):
            following: list[Resource] = []
            for target in frontier:
                if target.address in seen:
                    continue
                seen.add(target.address)
                if target.type == "aws_eks_cluster":
                    found[target.address] = target
                elif target.is_data or target.type in _USER_DATA_SOURCES:
                    following.extend(graph.references(target))
            frontier = following
        return sorted(found.values(), key=lambda r: r.address)

    def _self_managed(self, asg: Resource) -> Owners:
        """An Auto Scaling group's cluster: what its user data joins, else tags and roles."""
        templates = self.templates_of(asg)
        joined = [o for t in templates if (o := self.joined_by_user_data(t)) is not None]
        if joined:
            return _union(joined)
        reasons: dict[str, str] = {}
        outside: set[str] = set()
        for key in _tag_keys(asg):
            if key.startswith(CLUSTER_TAG):
                named = self.by_name(key[len(CLUSTER_TAG):])
                for owner in named.clusters or ():
                    reasons.setdefault(owner, f"it carries the tag {key}")
                outside.update(named.outside)
        if self._unnamed:
            tagged = {r.address for r in self.graph.references(asg, "tag", "aws_eks_cluster")}
            for owner in self._unnamed:
                if owner in tagged:
                    reasons.setdefault(owner, "it carries the tag kubernetes.io/cluster/<name>")
        for template in templates:
            for role in self.instance_roles(template):
                for owners in self._entries.get(role, ()):
                    for owner in self.managed if owners is None else owners:
                        reasons.setdefault(
                            owner, "its instance role has an EC2 access entry on the cluster")
        return _owners(set(reasons), outside, *reasons.items())

    def _launch_template(self, template: Resource) -> Owners:
        """A launch template's cluster: what its user data joins, else its users'."""
        joined = self.joined_by_user_data(template)
        if joined is not None:
            return joined
        users = [self.owners(u) for u in self.users_of(template)]
        if users and all(u.clusters is None for u in users):
            return CANNOT_TELL
        return _union([u for u in users if u.clusters is not None])


def _owners(clusters: Iterable[str], outside: Iterable[str], *why: Any) -> Owners:
    """Owners from sets; `why` is one reason for every cluster, or (cluster, reason) pairs."""
    found = tuple(sorted(set(clusters)))
    if len(why) == 1 and isinstance(why[0], str):
        reasons = tuple((c, why[0]) for c in found)
    else:
        reasons = tuple(sorted(why))
    return Owners(found, tuple(sorted(set(outside))), reasons)


def _union(owners: list[Owners]) -> Owners:
    clusters = {c for o in owners for c in o.clusters or ()}
    outside = {c for o in owners for c in o.outside}
    reasons: dict[str, str] = {}
    for o in owners:
        for cluster, why in o.reasons:
            reasons.setdefault(cluster, why)
    return _owners(clusters, outside, *reasons.items())


def _tag_keys(asg: Resource) -> list[str]:
    """The keys of an ASG's `tag` blocks (and the old `tags` list of maps)."""
    keys: list[str] = []
    for block in read_blocks(asg.get("tag")):
        key = text_value(block.get("key"))
        if isinstance(key, str):
            keys.append(key)
    tags = reveal(asg.get("tags"))
    if isinstance(tags, list):
        for item in tags:
            item = reveal(item)
            if isinstance(item, dict):
                key = text_value(item.get("key"))
                if isinstance(key, str):
                    keys.append(key)
    elif isinstance(tags, dict):
        keys.extend(str(k) for k in tags)
    return keys


# -- workloads ---------------------------------------------------------------------------


def _workload_index(ctx: ScanContext) -> dict[str, tuple[str, ...] | None]:
    """Every workload's clusters, decided once per provider configuration."""
    members = node_membership(ctx)
    index: dict[str, tuple[str, ...] | None] = {}
    by_provider: dict[int, tuple[str, ...] | None] = {}
    found = workloads(ctx)
    resources = [*{o.resource.address: o.resource for o in found.objects}.values(),
                 *(r.resource for r in found.releases), *found.addons]
    for resource in resources:
        provider = _provider_of(ctx.graph, resource) if resource.type != "aws_eks_addon" else None
        if provider is not None and id(provider) in by_provider:
            index[resource.address] = by_provider[id(provider)]
            continue
        index[resource.address] = _workload_owners(members, resource).clusters
        if provider is not None:
            by_provider[id(provider)] = index[resource.address]
    return index


def _workload_owners(members: Membership, resource: Resource) -> Owners:
    graph = members.graph
    if resource.type == "aws_eks_addon":
        return members.named_by(resource)
    provider = _provider_of(graph, resource)
    if provider is None:
        return CANNOT_TELL
    references = [r for ref in _provider_references(provider)
                  for r in _resolve_reference(members, ref)]
    resolved = members.of_targets(references)
    if resolved is not None:
        return resolved
    # literal cluster names or endpoints in the provider block (exec args, host)
    literals = {v for _, v in leaves(getattr(provider, "values", None)) if isinstance(v, str)}
    matched = members.named_in_provider(literals)
    return Owners(matched) if matched else CANNOT_TELL


def _provider_of(graph: ResourceGraph, resource: Resource) -> Any:
    """The provider configuration a resource uses, by the keys a plan or HCL writes."""
    key = resource.provider
    candidates = [key]
    if ":" in key:
        candidates.append(key.rsplit(":", 1)[1])
    if resource.module:
        candidates.insert(0, f"{resource.module}:{key}")
    for candidate in candidates:
        provider = graph.providers.get(candidate)
        if provider is not None:
            return provider
    return None


def _provider_references(provider: Any) -> list[str]:
    """What a provider block refers to, as written, and what its unknown values name."""
    references = getattr(provider, "references", None)
    out: list[str] = []
    if isinstance(references, Mapping):
        for refs in references.values():
            out.extend(str(r) for r in blocks(refs) if isinstance(r, str))
    elif isinstance(references, (list, tuple, set, frozenset)):
        out.extend(str(r) for r in references)
    for _, value in walk_values(getattr(provider, "values", None) or {}):
        bare = plain(value)
        if isinstance(bare, Unknown):
            out.extend(bare.references)
    return sorted(set(out))


def _resolve_reference(members: Membership, reference: str) -> list[Resource]:
    """Resources a reference names: `data.aws_eks_cluster.x.endpoint` -> the data source.

    Trailing attributes and index keys are dropped until an address matches; a module
    output (`module.eks.cluster_endpoint`) that matches nothing stands for the clusters
    inside that module.
    """
    graph = members.graph
    parts = reference.split(".")
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        found = graph.get(candidate)
        if found is not None:
            return [found]
        bare = re.sub(r"\[[^\]]*\]$", "", candidate)
        if bare != candidate:
            found = graph.get(bare)
            if found is not None:
                return [found]
        instances = members.instances_of(bare)
        if instances:
            return instances
    match = re.match(r"^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)+)", reference + ".")
    if match:
        return members.clusters_in_module(_INSTANCE_KEYS.sub("", match.group(1)))
    return []


_CLUSTER_NAME_FLAG = re.compile(r"--cluster-name[ =]")
_INSTANCE_KEYS = re.compile(r"\[[^\]]*\]")
_MODULE_PATH = re.compile(r"(?:module\.[\w-]+\.)+")


# -- the cluster resources and regions a workload runs in ----------------------------------


def cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    """The cluster resources a workload runs in: managed clusters, else data sources.

    Managed `aws_eks_cluster`s it belongs to (every one where that cannot be told);
    where the input has none, the `data.aws_eks_cluster` its provider reads, or the
    input's only `data.aws_eks_cluster` (a workloads-only root module reads its cluster
    that way). Empty where the cluster is not in the input at all.
    """
    cache = ctx.fact(_cluster_resource_cache)
    if resource.address not in cache:
        cache[resource.address] = _cluster_resources(ctx, resource)
    return cache[resource.address]


def _cluster_resource_cache(ctx: ScanContext) -> dict[str, list[Resource]]:
    return {}


def _cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    graph = ctx.graph
    members = node_membership(ctx)
    addresses = clusters_of_workload(ctx, resource)
    chosen = [c for a in (members.managed if addresses is None else addresses)
              if (c := graph.get(a)) is not None]
    if chosen or members.managed:
        return chosen
    data = [r for r in _provider_targets(members, resource)
            if r.type == "aws_eks_cluster" and r.is_data]
    if not data:
        every = [r for r in graph.resources("aws_eks_cluster") if r.is_data]
        data = every if len(every) == 1 else []
    return data


def regions_of(ctx: ScanContext, resource: Resource) -> list[ClusterRegion]:
    """The region(s) of the cluster(s) a workload runs in.

    The clusters it belongs to give their regions (a data source's region is its aws
    provider's); a workload whose cluster is not in the input takes the root module's
    aws provider region; where that is unknown too, the region is `Unknown` and
    region-specific checks answer `unknown`.
    """
    graph = ctx.graph
    regions: list[ClusterRegion] = []
    for cluster in cluster_resources(ctx, resource):
        region = cluster.region
        if region is None:
            region = _provider_region(graph)
        regions.append(ClusterRegion(region, cluster.address))
    if regions:
        return regions
    return [ClusterRegion(_provider_region(graph), "provider aws")]


def _provider_targets(members: Membership, resource: Resource) -> list[Resource]:
    provider = _provider_of(members.graph, resource)
    if provider is None:
        return []
    return [r for ref in _provider_references(provider)
            for r in _resolve_reference(members, ref)]


def _provider_region(graph: ResourceGraph) -> str | Unknown:
    provider = graph.providers.get("aws")
    if provider is not None and provider.region is not None:
        return provider.region
    if provider is None:
        return Unknown("no aws provider region in the input (no cluster and no provider "
                       "\"aws\" block)")
    return Unknown("the aws provider sets no region (it comes from the environment)")
