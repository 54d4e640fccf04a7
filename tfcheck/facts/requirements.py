"""Which VPC endpoints each cluster requires, and which endpoints count for a service.

One table of endpoint needs: the services every private cluster needs, what AWS
resources in the input imply (IRSA, Pod Identity, add-ons, SSM), and what in-cluster
workloads imply, so PC301 and the pictures read the same requirements.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import msgspec
from msgspec.structs import replace

from tfcheck.facts.builder import (
    network,
)
from tfcheck.facts.membership import clusters_of_workload, node_membership
from tfcheck.facts.records import (
    ClusterNetwork,
    Endpoint,
)
from tfcheck.facts.vocabulary import (
    GATEWAY_SERVICES,
    input_value,
    leaves_of,
    read_blocks,
    text_value,
)
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Unknown
from tfcheck.needs import EndpointNeed
from tfcheck.policy import ScanContext
from tfcheck.workloads import workload_endpoint_needs

# -- endpoint needs ---------------------------------------------------------------------


# Services every private cluster needs: the EC2 API (kubelet, VPC CNI), ECR (image
# manifests and auth) and S3 (ECR serves image layers from S3).
ALWAYS_REQUIRED = ("ec2", "ecr.api", "ecr.dkr", "s3")

# Noun phrases: messages read "needed by <resource> for <reason>".
_ALWAYS_REASONS = {
    "ec2": "the EC2 API calls of the kubelet and the VPC CNI",
    "ecr.api": "pulling container images from ECR (registry API)",
    "ecr.dkr": "pulling container images from ECR (image manifests)",
    "s3": "image layers, which ECR serves from S3",
}



def aws_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    """Endpoint needs that AWS resources in the input imply (not in-cluster workloads).

    - `sts`: an `aws_iam_openid_connect_provider` (IAM roles for service accounts), or an
      add-on with `service_account_role_arn` (its pods assume the role through STS);
    - `eks-auth`: `aws_eks_pod_identity_association`, the `eks-pod-identity-agent` add-on,
      an add-on with a `pod_identity_association` block;
    - `logs`: the `amazon-cloudwatch-observability` add-on;
    - `elasticfilesystem`: the `aws-efs-csi-driver` add-on;
    - `ssm` and `ssmmessages`: `AmazonSSMManagedInstanceCore` attached to a node role.
    """
    return ctx.fact(_aws_endpoint_needs)


def _aws_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    graph = ctx.graph
    net = network(ctx)
    members = node_membership(ctx)
    clusters = graph.managed("aws_eks_cluster")
    issuers: dict[str, str] = {}
    for cluster in clusters:
        issuer = text_value(cluster.get("identity.oidc.issuer"))
        if isinstance(issuer, str) and issuer:
            issuers[issuer] = cluster.address
    needs: dict[tuple[str, str], EndpointNeed] = {}

    def need(service: str, resource: Resource, reason: str,
             owners: tuple[str, ...] | None) -> None:
        needs.setdefault((service, resource.address),
                         EndpointNeed(service, resource, reason, owners))

    def owners_of(resource: Resource, attribute: str) -> tuple[str, ...] | None:
        if attribute == "cluster_name":
            return members.named_by(resource).clusters
        refs = [r for r in graph.references(resource, attribute, "aws_eks_cluster")
                if not r.is_data]
        if refs:
            return tuple(r.address for r in refs)
        value = text_value(resource.get(attribute))
        if isinstance(value, str) and issuers:
            # an OIDC provider for a cluster known by its issuer URL (prior state)
            return tuple(c for i, c in issuers.items()
                         if i.removeprefix("https://") == value.removeprefix("https://"))
        return None

    for provider in graph.managed("aws_iam_openid_connect_provider"):
        need("sts", provider, "IAM roles for service accounts (OIDC provider "
             f"{provider.address})", owners_of(provider, "url"))
    for association in graph.managed("aws_eks_pod_identity_association"):
        need("eks-auth", association, "EKS Pod Identity (pod identity association)",
             owners_of(association, "cluster_name"))
    addon_needs = {
        "eks-pod-identity-agent": (("eks-auth", "EKS Pod Identity agent add-on"),),
        "amazon-cloudwatch-observability": (
            ("logs", "CloudWatch Observability add-on (logs from the nodes)"),),
        "aws-efs-csi-driver": (("elasticfilesystem", "EFS CSI driver add-on"),),
    }
    for addon in graph.managed("aws_eks_addon"):
        name = text_value(addon.get("addon_name"))
        owners = owners_of(addon, "cluster_name")
        if isinstance(name, str):
            for service, reason in addon_needs.get(name, ()):
                need(service, addon, reason, owners)
        role = input_value(addon, "service_account_role_arn")
        if role is not None and role != "":
            need("sts", addon, f"IAM roles for service accounts (add-on {name} with "
                 "service_account_role_arn)", owners)
        if read_blocks(addon.get("pod_identity_association")):
            need("eks-auth", addon, f"EKS Pod Identity (add-on {name} with "
                 "pod_identity_association)", owners)
    # the SSM agent on nodes whose role has AmazonSSMManagedInstanceCore
    node_roles: dict[str, set[str]] = defaultdict(set)
    for info in net.clusters:
        for source in info.nodes:
            for role in source.roles:
                node_roles[role].add(info.address)
    if node_roles:
        role_names: dict[str, str] | None = None  # read when an attachment names a role
        for attachment in graph.managed("aws_iam_role_policy_attachment",
                                        "aws_iam_policy_attachment"):
            policy = text_value(attachment.get("policy_arn"))
            if not (isinstance(policy, str) and policy.endswith("/AmazonSSMManagedInstanceCore")):
                continue
            attribute = "role" if attachment.type == "aws_iam_role_policy_attachment" else "roles"
            roles = {r.address for r in graph.references(attachment, attribute, "aws_iam_role")}
            known, _ = leaves_of(attachment.get(attribute))
            if role_names is None and any(isinstance(k, str) for k in known):
                role_names = _roles_by_name(graph)
            roles |= {(role_names or {}).get(str(k), str(k)) for k in known
                      if isinstance(k, str)}
            users = tuple(sorted({c for r in roles for c in node_roles.get(r, ())}))
            if users:
                for service in ("ssm", "ssmmessages"):
                    need(service, attachment, "SSM agent on the nodes "
                         "(AmazonSSMManagedInstanceCore on the node role)", users)
        for role in graph.managed("aws_iam_role"):
            if role.address not in node_roles:
                continue
            known, _ = leaves_of(input_value(role, "managed_policy_arns"))
            if any(isinstance(k, str) and k.endswith("/AmazonSSMManagedInstanceCore")
                   for k in known):
                for service in ("ssm", "ssmmessages"):
                    need(service, role, "SSM agent on the nodes "
                         "(AmazonSSMManagedInstanceCore on the node role)",
                         tuple(sorted(node_roles[role.address])))
    return sorted(needs.values(), key=lambda n: (n.service, n.resource.address))


def _roles_by_name(graph: ResourceGraph) -> dict[str, str]:
    """IAM role name -> address (the last of a name wins, as it always has here)."""
    found: dict[str, str] = {}
    for role in graph.resources("aws_iam_role"):
        name = text_value(role.get("name"))
        if isinstance(name, str):
            found[name] = role.address
    return found


def endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    """AWS-resource needs plus in-cluster workload needs, computed once per scan."""
    return ctx.fact(_endpoint_needs)


def _endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    found = list(aws_endpoint_needs(ctx))
    seen = {(n.service, n.resource.address) for n in found}
    for need in workload_endpoint_needs(ctx):
        # add-ons are read by both: one reason per (service, resource) is enough
        if (need.service, need.resource.address) not in seen:
            seen.add((need.service, need.resource.address))
            found.append(replace(need, clusters=clusters_of_workload(ctx, need.resource)))
    return found


class Requirement(msgspec.Struct, frozen=True):
    """A service a cluster needs an endpoint for, and who needs it."""

    service: str
    needs: tuple[EndpointNeed, ...]

    @property
    def required_by(self) -> list[str]:
        return sorted({n.resource.address for n in self.needs})

    @property
    def reasons(self) -> list[str]:
        return list(dict.fromkeys(n.reason for n in self.needs))


def required_services(ctx: ScanContext, info: ClusterNetwork) -> list[Requirement]:
    """The services `info`'s cluster needs endpoints for, with who needs each, by name.

    Always `ec2`, `ecr.api`, `ecr.dkr`, `s3` (needed by the nodes); plus what the input's
    features need; plus `required_endpoints` from the configuration, minus
    `not_required_endpoints`. Computed once per cluster: four policies ask.
    """
    known = ctx.fact(_requirements_by_cluster)
    found = known.get(info.address)
    if found is None or found[0] is not info:
        found = known[info.address] = (info, _required_services(ctx, info))
    return list(found[1])


def _requirements_by_cluster(ctx: ScanContext
                             ) -> dict[str, tuple[ClusterNetwork, tuple[Requirement, ...]]]:
    return {}


def _required_services(ctx: ScanContext, info: ClusterNetwork) -> tuple[Requirement, ...]:
    wanted: dict[str, list[EndpointNeed]] = defaultdict(list)
    address = info.address  # a property: read once, not once per need (issue 10)
    node_resources = [s.resource for s in info.nodes] or [info.cluster]
    for service in ALWAYS_REQUIRED:
        for resource in node_resources:
            wanted[service].append(EndpointNeed(service, resource, _ALWAYS_REASONS[service],
                                                (address,)))
    for need in _needs_of(ctx, address):
        wanted[need.service].append(need)
    for service in ctx.config.required_endpoints:
        service = service.strip()
        if service and service not in wanted:
            wanted[service].append(EndpointNeed(service, info.cluster,
                                                "the required_endpoints setting of the "
                                                "tfcheck configuration", (address,)))
    for service in ctx.config.not_required_endpoints:
        wanted.pop(service.strip(), None)
    return tuple(Requirement(s, tuple(wanted[s])) for s in sorted(wanted))


def _needs_of(ctx: ScanContext, cluster: str) -> list[EndpointNeed]:
    """The endpoint needs of one cluster (its own and everyone's), in `endpoint_needs` order.

    Through an index of the needs by cluster, not a pass over every need per cluster.
    """
    index = ctx.fact(_needs_by_cluster)
    everyone, own = index.get(None, []), index.get(cluster, [])
    return [need for _, need in heapq.merge(everyone, own, key=lambda item: item[0])]


def _needs_by_cluster(ctx: ScanContext) -> dict[str | None, list[tuple[int, EndpointNeed]]]:
    """Cluster address (None: any cluster) -> (position, need), in `endpoint_needs` order."""
    index: dict[str | None, list[tuple[int, EndpointNeed]]] = defaultdict(list)
    for position, need in enumerate(endpoint_needs(ctx)):
        for cluster in (None,) if need.clusters is None else dict.fromkeys(need.clusters):
            index[cluster].append((position, need))
    return index


def endpoint_counts_for(endpoint: Endpoint, service: str, region: str | Unknown | None
                        ) -> str | None:
    """Why `endpoint` does not count for `service` in this region; None when it does.

    Only an endpoint of the right service, in the cluster's region and of the right type
    counts (an interface service needs `Interface`; S3/DynamoDB take either).
    """
    if endpoint.service != service:
        return f"{endpoint.address} serves {endpoint.service or 'an unknown service'}"
    if isinstance(region, str) and isinstance(endpoint.region, str) and endpoint.region != region:
        return (f"{endpoint.address} is for region {endpoint.region}, the cluster is in "
                f"{region}")
    if isinstance(endpoint.type, Unknown):
        return f"the vpc_endpoint_type of {endpoint.address} is not known before apply"
    kind = endpoint.type.lower()
    if service in GATEWAY_SERVICES and kind in ("gateway", "interface"):
        return None
    if kind != "interface":
        how = ("vpc_endpoint_type is not set, so it is the provider default Gateway"
               if endpoint.type_is_default else f"vpc_endpoint_type is {endpoint.type}")
        return f"{endpoint.address} is not an Interface endpoint ({how})"
    return None
