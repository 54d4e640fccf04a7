"""PC701: the aws-auth ConfigMap is not written by an apply from outside the VPC."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import Comment, Reference, attributes, block, render
from tfcheck.facts.membership import cluster_resources
from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    KubeObject,
    dig,
    workloads,
)

from .support import (
    ACCESS_ENTRIES_GUIDE,
)

AWS_AUTH = ("kube-system", "aws-auth")


@policy(
    id="PC701",
    slug="aws-auth-in-vpc",
    severity=Severity.LOW,
    title="The aws-auth ConfigMap is not written by an apply from outside the VPC",
    docs_url=ACCESS_ENTRIES_GUIDE,
)
def aws_auth_in_vpc(ctx: ScanContext) -> Iterator[Result]:
    """Terraform writing `aws-auth` into a private cluster must run inside the VPC.

    ## Why
    The EKS user guide, "Private cluster requirements": "Your cluster's aws-auth
    ConfigMap must be created from within your VPC." With public endpoint access off,
    the kubernetes provider reaches the API server only from inside the VPC, so an
    apply from a laptop or a hosted CI runner fails half-way. EKS access entries
    (`access_config.authentication_mode = "API"` with `aws_eks_access_entry`) are
    managed through the EKS API and need no in-cluster write.

    Reported on `kubernetes_config_map[_v1]` / `kubernetes_config_map_v1_data` (and
    manifests) named `aws-auth` in `kube-system`: `fail` at low severity when the
    cluster's public endpoint is off (or the cluster is not in the input: a private
    cluster is assumed), whatever its authentication mode; `pass` when the public
    endpoint is on (the apply can reach it; PC102 reports the public endpoint).
    A cluster that uses access entries (`API` or `API_AND_CONFIG_MAP`) and whose
    aws-auth Terraform does not manage gets a `pass`.

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

    resource "kubernetes_config_map_v1_data" "aws_auth" {
      metadata {
        name      = "aws-auth"
        namespace = "kube-system"
      }
      data = {
        mapRoles = yamlencode([{
          rolearn  = aws_iam_role.node.arn
          username = "system:node:{{EC2PrivateDNSName}}"
          groups   = ["system:bootstrappers", "system:nodes"]
        }])
      }
      force = true
    }
    ```

    ## Good
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
      access_config {
        authentication_mode = "API"
      }
    }

    resource "aws_eks_access_entry" "nodes" {
      cluster_name  = aws_eks_cluster.main.name
      principal_arn = aws_iam_role.node.arn
      type          = "EC2_LINUX"
    }
    ```

    ## Remediation
    Set `access_config { authentication_mode = "API" }` on the cluster and replace the
    aws-auth entries by `aws_eks_access_entry` (+ `aws_eks_access_policy_association`);
    or run the apply from inside the VPC.
    """
    graph = ctx.graph
    found = workloads(ctx)
    managed_by: dict[str, list[KubeObject]] = {}
    for obj in found.of_kind("ConfigMap"):
        if (obj.namespace, obj.name) != AWS_AUTH:
            continue
        clusters = cluster_resources(ctx, obj.resource)
        for cluster in clusters:
            managed_by.setdefault(cluster.address, []).append(obj)
        yield _aws_auth_verdict(obj, clusters)
    for cluster in graph.managed("aws_eks_cluster"):
        if cluster.address in managed_by:
            continue
        mode = reveal(cluster.get("access_config.authentication_mode"))
        if mode in ("API", "API_AND_CONFIG_MAP"):
            yield Result.passed(cluster, f"{cluster.address} uses EKS access entries "
                                f"(authentication_mode {mode}) and Terraform writes no aws-auth "
                                f"ConfigMap", data={"authentication_mode": mode})


def _aws_auth_verdict(obj: KubeObject, clusters: list[Resource]) -> Result:
    address = obj.resource.address
    remediation = render(
        block("access_config", body=attributes(authentication_mode="API")),
        Comment("then, per role:"),
        block("resource", "aws_eks_access_entry", "nodes", body=attributes(
            cluster_name=Reference("aws_eks_cluster.main.name"),
            principal_arn=Reference("aws_iam_role.node.arn"), type="EC2_LINUX")))
    evidence = [address, *(c.address for c in clusters)]
    if not clusters:
        return Result.fail(
            obj.resource,
            f"{address} writes the aws-auth ConfigMap of a cluster that is not in the input: "
            f"with a private endpoint only, the apply must run inside the VPC; EKS access "
            f"entries need no in-cluster write", remediation=remediation, evidence=evidence)
    private: list[str] = []
    assumed: list[str] = []  # data sources not read: a private endpoint is assumed
    unknown: list[str] = []
    public: list[str] = []
    for cluster in clusters:
        value = reveal(cluster.get("vpc_config.endpoint_public_access"))
        if cluster.is_data and not isinstance(
            dig(cluster.values, "vpc_config.endpoint_public_access"), bool
        ):
            # a data source the input did not read (HCL): like a cluster not in the
            # input, a private cluster is assumed
            private.append(cluster.address)
            assumed.append(cluster.address)
            continue
        if isinstance(value, Unknown):
            unknown.append(f"{cluster.address} ({value.reason})")
        elif value is True:
            public.append(cluster.address)
        else:
            private.append(cluster.address)
    if private:
        endpoint = ("whose API endpoint is private only" if not assumed else
                    "whose endpoint access is read only at apply (a private endpoint is "
                    "assumed)")
        return Result.fail(
            obj.resource,
            f"{address} writes the aws-auth ConfigMap of {', '.join(private)}, {endpoint}: the "
            f"apply must run inside the VPC; EKS access entries need no in-cluster write",
            remediation=remediation, evidence=evidence, data={"clusters": private})
    if unknown:
        return Result.unknown(obj.resource, f"{address} writes the aws-auth ConfigMap; whether "
                              f"the cluster's public endpoint is on is not known: "
                              f"{', '.join(unknown)}", evidence=evidence)
    return Result.passed(obj.resource, f"{address} writes the aws-auth ConfigMap of "
                         f"{', '.join(public)}, whose public endpoint is on, so the apply can "
                         f"reach it from outside the VPC", evidence=evidence,
                         data={"clusters": public})


POLICIES = (aws_auth_in_vpc,)
