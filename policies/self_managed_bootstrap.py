"""Nodes: self-managed nodes bootstrap without calling the EKS API."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import msgspec

from tfcheck.facts import hcl_snippets as hcl
from tfcheck.facts.membership import LAUNCH_TYPES, Membership, node_membership
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Severity, Status, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain, missing_value, read_from_aws
from tfcheck.userdata import (
    AL2,
    AL2023,
    BOTTLEROCKET,
    CA,
    DNS_CLUSTER_IP,
    ENDPOINT,
    SERVICE_CIDR,
    WINDOWS,
    Bootstrap,
    UserDataReading,
)

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"



@policy(
    id="PC501",
    slug="self-managed-bootstrap",
    severity=Severity.HIGH,
    title="Self-managed nodes pass the API server endpoint and CA in user data",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def self_managed_bootstrap(ctx: ScanContext) -> Iterator[Result]:
    """Self-managed nodes must join without asking the EKS API for the cluster's details.

    ## Why
    The EKS user guide, "Private cluster requirements" (newer version): "Self-managed
    Linux and Windows nodes must include the following bootstrap arguments before
    they're launched. These arguments bypass Amazon EKS introspection and don't require
    access to the Amazon EKS API from within the VPC." For Linux:
    "--apiserver-endpoint cluster-endpoint --b64-cluster-ca certificate-authority"; for
    Windows: "-APIServerEndpoint cluster-endpoint -Base64ClusterCA
    certificate-authority", and "If you're using custom service CIDR, then you need to
    specify it using the `-ServiceCIDR` parameter. Otherwise, the DNS resolution for
    Pods in the cluster will fail."

    Without these, AL2's `bootstrap.sh` calls `eks:DescribeCluster` and the node never
    joins; user data that runs `aws eks describe-cluster` itself to fill them in fails
    the same way. The same holds for the other bootstraps:

    - Amazon Linux 2 `/etc/eks/bootstrap.sh`: `--apiserver-endpoint` and
      `--b64-cluster-ca`; with a custom `kubernetes_network_config.service_ipv4_cidr`
      also `--dns-cluster-ip` or `--service-ipv4-cidr` (otherwise the script guesses
      10.100.0.10 / 172.20.0.10 for cluster DNS).
    - Amazon Linux 2023 `nodeadm` `NodeConfig`: `spec.cluster.apiServerEndpoint`,
      `certificateAuthority` and `cidr` (always required by nodeadm); `cidr` must equal
      the cluster's service CIDR where both are known.
    - Windows `Start-EKSBootstrap.ps1` (or `EKS-StartupScript.ps1`): `-APIServerEndpoint`
      and `-Base64ClusterCA`, plus `-ServiceCIDR` for a custom service CIDR.
    - Bottlerocket `[settings.kubernetes]`: `api-server` and `cluster-certificate`,
      plus `cluster-dns-ip` for a custom service CIDR.

    Which launch templates are checked: those of an `aws_autoscaling_group` that joins a
    cluster, as `tfcheck.facts.membership` decides for every policy (its user data's EKS
    bootstrap names the cluster; where it names none, the group carries the tag
    `kubernetes.io/cluster/<name>` or its instance role has an `aws_eks_access_entry`
    of type `EC2_LINUX`/`EC2_WINDOWS`), any launch template whose user data bootstraps
    EKS, and the launch template of an `aws_eks_node_group` that sets `image_id` — a
    managed node group with a custom AMI gets no bootstrap from EKS, so its user data
    must carry the same arguments. A managed node group's launch template *without*
    `image_id` is not checked: EKS merges its own bootstrap, with these arguments, into
    the user data. `aws_launch_configuration` is read too (plans store its `user_data`
    as a SHA-1 hash, which is `unknown`).

    User data is decoded like EC2 and cloud-init do: base64 (a plan's value,
    `base64encode(...)`), gzip, MIME multipart (`cloudinit_config`), `#cloud-config`
    `runcmd`; templates are read as the loader rendered them. What cannot be decoded —
    user data known only after apply, a part included from a URL, arguments held in a
    variable the script does not define — is `unknown`, naming why.

    ## Bad
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
    }

    resource "aws_launch_template" "nodes" {
      name_prefix   = "nodes-"
      image_id      = data.aws_ssm_parameter.eks_al2.value
      instance_type = "m6i.large"
      user_data = base64encode(<<-EOT
        #!/bin/bash
        /etc/eks/bootstrap.sh ${aws_eks_cluster.main.name}
      EOT
      )
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_launch_template" "nodes" {
      user_data = base64encode(<<-EOT
        #!/bin/bash
        /etc/eks/bootstrap.sh ${aws_eks_cluster.main.name} \
          --apiserver-endpoint ${aws_eks_cluster.main.endpoint} \
          --b64-cluster-ca ${aws_eks_cluster.main.certificate_authority[0].data}
      EOT
      )
    }
    ```

    ## Remediation
    Pass the cluster's endpoint and CA to the bootstrap (AL2:
    `--apiserver-endpoint ${aws_eks_cluster.main.endpoint} --b64-cluster-ca
    ${aws_eks_cluster.main.certificate_authority[0].data}`; AL2023: a `NodeConfig` with
    `apiServerEndpoint`, `certificateAuthority` and `cidr`; Windows:
    `-APIServerEndpoint`, `-Base64ClusterCA`, `-ServiceCIDR`).
    """
    graph = ctx.graph
    clusters = graph.resources("aws_eks_cluster")
    if not clusters:
        return
    members = node_membership(ctx)
    for template in graph.managed(*LAUNCH_TYPES):
        scope = _scope(members, template)
        if scope is None:
            continue
        result = _judge(graph, template, scope, _clusters_joined(members, template, clusters),
                        clusters)
        if scope.ami_unknown is not None and result.status is Status.FAIL:
            # the AMI may be EKS's own, which needs no bootstrap in user data
            result = Result.unknown(
                template,
                f"{result.message}; but this matters only with a custom AMI, and whether "
                f"image_id names one is not known: {explain(scope.ami_unknown, graph.kind)}",
                evidence=result.evidence, data=result.data, attribute="image_id")
        yield result


# -- which launch templates are checked ----------------------------------------------


class _Scope(msgspec.Struct, frozen=True):
    """Why a launch template is checked, what uses it, and the user data read."""

    reading: UserDataReading
    users: tuple[Resource, ...]  # ASGs / node groups using it
    reason: str
    label: str  # how messages name the launch template
    origin: str = "plan"  # where the user data was read
    ami_unknown: Unknown | None = None  # a managed node group's image_id is not known


def _scope(members: Membership, template: Resource) -> _Scope | None:
    """Self-managed nodes' templates, custom-AMI node groups', and EKS bootstraps."""
    users = tuple(members.users_of(template))
    groups = [u for u in users if u.type == "aws_autoscaling_group"]
    node_groups = [u for u in users if u.type == "aws_eks_node_group"]
    custom_ami = _custom_ami(template) if node_groups else False
    if node_groups and not groups and custom_ami is False:
        return None  # EKS supplies the bootstrap for managed nodes on its own AMI
    reading = members.reading(template)
    joined = [g for g in groups if members.owners(g).joined]
    origin = members.user_data_origin(template)

    def scope(reason: str, label: str = template.address) -> _Scope:
        return _Scope(reading, users, reason, label, origin,
                      custom_ami if isinstance(custom_ami, Unknown) else None)

    if custom_ami is not False and not joined:
        names = ", ".join(g.address for g in node_groups)
        image = reveal(template.values.get("image_id"))
        ami = f"image_id {image}" if isinstance(image, str) else "image_id"
        return scope(f"the launch template of a managed node group with a custom AMI "
                     f"({names}, {ami}), which EKS does not bootstrap",
                     f"{template.address} (managed node group with a custom AMI: {names})")
    if joined:
        return scope("the launch template of self-managed nodes")
    if reading.mentions_eks and not (
        reading.bootstraps and all(b.is_fragment for b in reading.bootstraps)
    ):
        # settings without a cluster section are what a managed node group merges;
        # a plan may not record the node group's reference to its template (`local.x`)
        return scope("user data that bootstraps an EKS node")
    if isinstance(reading.decoded, Unknown) and (
        members.joined_by_user_data(template) is not None
        or _unknown_refers_to_cluster(reading.decoded)
    ):
        return scope("user data built from the cluster's attributes")
    return None


def _custom_ami(template: Resource) -> bool | Unknown:
    """Whether a managed node group's launch template sets a custom AMI.

    `image_id` empty or unset (terraform-aws-eks: `image_id = var.ami_id`, default "")
    leaves the AMI to EKS, which then writes the bootstrap itself. A value known only
    after apply, or read from a data source, is an AMI ID; an unset variable is `Unknown`.
    """
    value = reveal(template.values.get("image_id"))
    if isinstance(value, Unknown):
        if not template.sets("image_id"):
            return False
        if value.references or template.configured is None:
            return True  # an attribute of a resource or data source: an AMI ID
        return value
    return isinstance(value, str) and value.strip() != ""


def _unknown_refers_to_cluster(value: Unknown) -> bool:
    return any(ref.split(".")[0] == "aws_eks_cluster" or ".aws_eks_cluster." in ref
               or ref.startswith("data.aws_eks_cluster") for ref in value.references)


def _clusters_joined(members: Membership, template: Resource,
                     clusters: list[Resource]) -> list[Resource]:
    """The clusters the nodes join (`tfcheck.facts.membership`); with one cluster, it.

    A `data.aws_eks_cluster` stands for a cluster the input does not manage. Where
    membership cannot tell, every cluster of the input is a candidate and none is named.
    """
    owners = members.owners(template)
    addresses = owners.clusters or owners.outside
    if not addresses and len(clusters) == 1:
        return [clusters[0]]
    graph = members.graph
    return [c for a in sorted(addresses) if (c := graph.get(a)) is not None]


# -- the verdict ------------------------------------------------------------------------


class _ServiceCidr(msgspec.Struct, frozen=True):
    """What a cluster says about its service CIDR."""

    custom: bool | None  # None: cannot tell
    cidr: str | None  # known value
    reason: str = ""


def _service_cidr(clusters: list[Resource], kind: str) -> _ServiceCidr:
    found: list[_ServiceCidr] = []
    for cluster in clusters:
        path = "kubernetes_network_config.service_ipv4_cidr"
        value = reveal(cluster.get(path))
        if cluster.is_data:
            # a data source reports the effective CIDR; EKS picks one of two by default
            if isinstance(value, str):
                found.append(_ServiceCidr(value not in ("10.100.0.0/16", "172.20.0.0/16"),
                                          value))
            else:
                missing = value if isinstance(value, Unknown) else read_from_aws(cluster, path)
                found.append(_ServiceCidr(None, None, explain(missing, kind)))
        elif isinstance(value, str) and cluster.sets(path):
            found.append(_ServiceCidr(True, value))
        elif isinstance(value, Unknown) and cluster.sets(path):
            found.append(_ServiceCidr(True, None, f"{cluster.address} sets {path} to a value "
                                      f"known only after apply ({value.reason})"))
        else:
            found.append(_ServiceCidr(False, None))
    if len(found) == 1:
        return found[0]
    if all(f.custom is False for f in found):
        return _ServiceCidr(False, None)
    return _ServiceCidr(None, None, "the nodes may join any of several clusters, and they "
                        "differ in their service CIDR")


def _judge(graph: ResourceGraph, template: Resource, scope: _Scope, joined: list[Resource],
           clusters: list[Resource]) -> Result:
    reading = scope.reading
    evidence = [*(u.address for u in scope.users), template.address,
                *(c.address for c in joined)]
    data: dict[str, Any] = {"clusters": [c.address for c in joined],
                            "user_data_from": scope.origin}
    cluster_ref = _reference_name(joined[0]) if joined else "aws_eks_cluster.main"
    details: dict[str, Any] = {"evidence": evidence, "attribute": "user_data", "data": data}
    decoded = reading.decoded
    if isinstance(decoded, Unknown):
        # a plan holds rendered user data only once the values in it exist; the HCL
        # renders templates around them, which is enough to read the setting names
        why = (f"{missing_value(decoded)}: scan the HCL of this configuration, where the "
               f"user data is rendered around the values known only after apply"
               if graph.kind == "plan" else explain(decoded, graph.kind))
        return Result.unknown(
            template,
            f"{template.address} is {scope.reason}, and its user data is not known "
            f"({why}): cannot tell whether it passes the API server endpoint and CA",
            **details,
        )
    data["layers"] = list(decoded.layers)
    template_label = scope.label
    if not decoded.parts and not reading.problems:
        return Result.fail(
            template,
            f"{template.address} is {scope.reason} but has no user data: the nodes run no "
            f"EKS bootstrap with the API server endpoint and CA",
            remediation=_remediation(AL2, cluster_ref),
            **details,
        )
    if not reading.bootstraps:
        if reading.problems:
            return Result.unknown(
                template,
                f"{template.address} is {scope.reason}, and its user data could not be "
                f"read completely: {'; '.join(reading.problems)}",
                **details,
            )
        return Result.fail(
            template,
            f"{template.address} is {scope.reason}, but its user data runs no EKS "
            f"bootstrap (no /etc/eks/bootstrap.sh, nodeadm NodeConfig, "
            f"Start-EKSBootstrap.ps1 or Bottlerocket settings.kubernetes)",
            remediation=_remediation(AL2, cluster_ref),
            **details,
        )
    # nodes whose cluster cannot be told: every cluster of the input is a candidate
    calls_api = reading.describe_cluster
    if calls_api is not None:
        data["bootstrap"] = reading.bootstraps[0].kind
        data["missing"] = []
        return Result.fail(
            template,
            f"{template_label}: the user data calls the EKS API itself ({calls_api}: aws eks "
            f"describe-cluster) to look the cluster up, which a node without internet access "
            f"cannot reach; pass the endpoint and CA as literals from Terraform instead",
            remediation=_remediation(reading.bootstraps[0].kind, cluster_ref),
            **details,
        )
    cidr = _service_cidr(joined or clusters, graph.kind)
    verdicts = [_judge_bootstrap(b, cidr) for b in reading.bootstraps]
    worst = max(verdicts, key=lambda v: _RANK[v.status])
    data["bootstrap"] = worst.bootstrap.kind
    data["missing"] = list(worst.missing)
    if worst.status is Status.FAIL and reading.problems:
        return Result.unknown(
            template,
            f"{template_label}: the readable user data ({worst.bootstrap.description}, "
            f"{worst.bootstrap.where}) does not show "
            f"{', '.join(worst.missing) or 'what the cluster needs'}, and the rest could not "
            f"be read ({'; '.join(reading.problems)}), which may pass them",
            **details,
        )
    if worst.status is Status.FAIL:
        return Result.fail(
            template,
            f"{template_label}: {worst.bootstrap.description} ({worst.bootstrap.where}) "
            f"{worst.message}",
            remediation=_remediation(worst.bootstrap.kind, cluster_ref),
            **details,
        )
    if worst.status is Status.UNKNOWN:
        return Result.unknown(
            template,
            f"{template_label}: {worst.bootstrap.description} ({worst.bootstrap.where}) "
            f"{worst.message}",
            **details,
        )
    return Result.passed(
        template,
        f"{template_label}: {worst.bootstrap.description} ({worst.bootstrap.where}) "
        f"{worst.message}",
        **details,
    )


_RANK = {Status.PASS: 0, Status.UNKNOWN: 1, Status.FAIL: 2}


class _Verdict(msgspec.Struct, frozen=True):
    status: Status
    bootstrap: Bootstrap
    message: str
    missing: tuple[str, ...] = ()


def _judge_bootstrap(bootstrap: Bootstrap, cidr: _ServiceCidr) -> _Verdict:
    """Whether one bootstrap passes everything it needs to skip DescribeCluster."""
    missing = [bootstrap.spelling(n) for n in (ENDPOINT, CA) if not bootstrap.has(n)]
    unknowns: list[str] = []
    cidr_arguments = {
        AL2: (SERVICE_CIDR, DNS_CLUSTER_IP),
        AL2023: (SERVICE_CIDR,),
        WINDOWS: (SERVICE_CIDR,),
        BOTTLEROCKET: (DNS_CLUSTER_IP,),
    }[bootstrap.kind]
    passes_cidr = any(bootstrap.has(n) for n in cidr_arguments)
    wanted = " or ".join(bootstrap.spelling(n) for n in cidr_arguments)
    why_cidr = ""
    if bootstrap.kind == AL2023 and not passes_cidr:
        missing.append(wanted)  # nodeadm requires spec.cluster.cidr always
    elif not passes_cidr and cidr.custom is True:
        missing.append(wanted)
        why_cidr = (f"the cluster sets a custom service CIDR{_cidr_text(cidr)}, so the node "
                    f"needs {wanted} for cluster DNS")
    elif not passes_cidr and cidr.custom is None:
        unknowns.append(f"it passes no {wanted}, and whether the cluster uses a custom "
                        f"service CIDR is not known ({cidr.reason})")
    mismatch = _cidr_mismatch(bootstrap, cidr)
    if missing and bootstrap.unresolved and not mismatch:
        variables = ", ".join(f"${v}" for v in bootstrap.unresolved)
        return _Verdict(
            Status.UNKNOWN, bootstrap,
            f"does not visibly pass {', '.join(missing)}; its arguments include {variables}, "
            f"which the user data does not define and which may carry them",
            tuple(missing),
        )
    if missing or mismatch:
        parts = [f"does not pass {', '.join(missing)}"] if missing else []
        if {bootstrap.spelling(ENDPOINT), bootstrap.spelling(CA)} & set(missing):
            parts[0] += (": without them the node asks the EKS API (DescribeCluster), which "
                         "it cannot reach without internet access")
        if why_cidr:
            parts.append(why_cidr)
        if mismatch:
            parts.append(mismatch)
        parts.extend(bootstrap.notes)
        return _Verdict(Status.FAIL, bootstrap, "; ".join(parts), tuple(missing))
    if unknowns:
        return _Verdict(Status.UNKNOWN, bootstrap, "passes the API server endpoint and CA, "
                        "but " + "; ".join(unknowns))
    passed = [bootstrap.spelling(ENDPOINT), bootstrap.spelling(CA)]
    passed.extend(bootstrap.spelling(n) for n in cidr_arguments if bootstrap.has(n))
    return _Verdict(Status.PASS, bootstrap, f"passes {', '.join(passed)}")


def _cidr_text(cidr: _ServiceCidr) -> str:
    return f" ({cidr.cidr})" if cidr.cidr else ""


def _cidr_mismatch(bootstrap: Bootstrap, cidr: _ServiceCidr) -> str | None:
    """A service CIDR / DNS IP argument that contradicts the cluster's known CIDR."""
    if cidr.cidr is None:
        return None
    try:
        network = ipaddress.ip_network(cidr.cidr, strict=False)
    except ValueError:
        return None
    given = bootstrap.arguments.get(SERVICE_CIDR)
    if isinstance(given, str) and given.strip():
        try:
            if ipaddress.ip_network(given.strip(), strict=False) != network:
                return (f"{bootstrap.spelling(SERVICE_CIDR)} is {given.strip()}, but the "
                        f"cluster's service CIDR is {cidr.cidr}")
        except ValueError:
            return None  # not a literal CIDR (a placeholder the loader left): not comparable
    dns = bootstrap.arguments.get(DNS_CLUSTER_IP)
    if isinstance(dns, str) and dns.strip():
        try:
            if ipaddress.ip_address(dns.strip()) not in network:
                return (f"{bootstrap.spelling(DNS_CLUSTER_IP)} {dns.strip()} is outside the "
                        f"cluster's service CIDR {cidr.cidr}")
        except ValueError:
            return None
    return None


def _reference_name(cluster: Resource) -> str:
    prefix = "data." if cluster.is_data else ""
    return f"{prefix}{cluster.type}.{cluster.name}"


def _remediation(kind: str, cluster: str) -> str:
    endpoint = hcl.Reference(f"{cluster}.endpoint")
    ca = hcl.Reference(f"{cluster}.certificate_authority[0].data")
    name = hcl.Reference(f"{cluster}.name")
    cidr = hcl.Reference(f"{cluster}.kubernetes_network_config[0].service_ipv4_cidr")
    script: tuple[str | hcl.Reference, ...]
    if kind == AL2023:
        script = (
            "MIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="BOUNDARY"\n\n'
            "--BOUNDARY\n"
            "Content-Type: application/node.eks.aws\n\n"
            "apiVersion: node.eks.aws/v1alpha1\n"
            "kind: NodeConfig\n"
            "spec:\n"
            "  cluster:\n"
            "    name: ", name, "\n"
            "    apiServerEndpoint: ", endpoint, "\n"
            "    certificateAuthority: ", ca, "\n"
            "    cidr: ", cidr, "\n\n"
            "--BOUNDARY--")
    elif kind == WINDOWS:
        script = (
            "<powershell>\n"
            '& "$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1" -EKSClusterName "', name,
            '" -APIServerEndpoint "', endpoint, '" -Base64ClusterCA "', ca, '" -ServiceCIDR "',
            cidr, '"\n</powershell>')
    elif kind == BOTTLEROCKET:
        script = ("[settings.kubernetes]\n"
                  'cluster-name = "', name, '"\n'
                  'api-server = "', endpoint, '"\n'
                  'cluster-certificate = "', ca, '"')
    else:
        script = ("#!/bin/bash\n"
                  "/etc/eks/bootstrap.sh ", name, " \\\n"
                  "  --apiserver-endpoint ", endpoint, " \\\n"
                  "  --b64-cluster-ca ", ca, " \\\n"
                  "  --service-ipv4-cidr ", cidr)
    return hcl.render(hcl.Attribute("user_data", hcl.Call("base64encode", (hcl.Heredoc(script),))))


POLICIES = (self_managed_bootstrap,)
