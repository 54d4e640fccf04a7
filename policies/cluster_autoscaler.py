"""PC602: Cluster Autoscaler uses the static instance list (no pricing API at start-up)."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import (
    Attribute,
    Comment,
    ListOf,
    Literal,
    attributes,
    block,
    render,
)
from tfcheck.model import Severity, Unknown
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    Container,
    KubeObject,
    component_of_container,
    flag_value,
    truthy,
    workloads,
)

from .support import (
    KEEP_OTHER_ARGUMENTS,
    PRIVATE_CLUSTERS_GUIDE,
)

STATIC_LIST_FLAG = "aws-use-static-instance-list"
CA_CHARTS = ("cluster-autoscaler", "cluster-autoscaler-chart")


@policy(
    id="PC602",
    slug="cluster-autoscaler",
    severity=Severity.HIGH,
    title="Cluster Autoscaler uses the static instance list",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def cluster_autoscaler(ctx: ScanContext) -> Iterator[Result]:
    """Cluster Autoscaler must not fetch the EC2 instance-type list from the internet.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Cluster
    Autoscaler is supported. When deploying Cluster Autoscaler pods, make sure that the
    command line includes --aws-use-static-instance-list=true. ... The worker node VPC
    must also include the STS VPC endpoint and autoscaling VPC endpoint."

    Without the flag, Cluster Autoscaler downloads instance types from the AWS pricing
    API at start-up, which a private cluster cannot reach. Checked for the
    `cluster-autoscaler` Helm chart (`extraArgs.aws-use-static-instance-list`, in
    `values` or a `set` block) and for any container that runs `cluster-autoscaler`
    (its `command`/`args`). A Cluster Autoscaler for another cloud provider
    (`cloudProvider` / `--cloud-provider` other than `aws`) is not checked. PC301 then
    requires the `autoscaling` and `sts` endpoints for it.

    ## Bad
    ```hcl
    resource "helm_release" "cluster_autoscaler" {
      name       = "cluster-autoscaler"
      repository = "https://kubernetes.github.io/autoscaler"
      chart      = "cluster-autoscaler"
      namespace  = "kube-system"

      set {
        name  = "autoDiscovery.clusterName"
        value = aws_eks_cluster.main.name
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "helm_release" "cluster_autoscaler" {
      set {
        name  = "autoDiscovery.clusterName"
        value = aws_eks_cluster.main.name
      }
      set {
        name  = "extraArgs.aws-use-static-instance-list"
        value = "true"
      }
    }
    ```

    ## Remediation
    Helm: `set { name = "extraArgs.aws-use-static-instance-list" value = "true" }`;
    a container: add `--aws-use-static-instance-list=true` to its command.
    """
    found = workloads(ctx)
    needs = "PC301 requires the autoscaling and sts endpoints for it"
    for release in found.releases:
        if release.chart not in CA_CHARTS:
            continue
        provider = release.value("cloudProvider")
        if isinstance(provider, str) and provider != "aws":
            continue
        value = release.value(f"extraArgs.{STATIC_LIST_FLAG}")
        path = f"extraArgs.{STATIC_LIST_FLAG}"
        data = {"flag": f"--{STATIC_LIST_FLAG}", "value_path": path}
        if isinstance(value, Unknown):
            yield Result.unknown(release.resource, f"{release.resource.address}: {path} is not "
                                 f"known ({value.reason})", data=data)
        elif truthy(value) is True:
            yield Result.passed(release.resource, f"{release.resource.address}: Cluster "
                                f"Autoscaler runs with {path}=true; {needs}", data=data)
        elif value is None and release.problems:
            yield Result.unknown(release.resource, f"{release.resource.address}: {path} is not "
                                 f"set in the known values, and some values are not known "
                                 f"({'; '.join(release.problems)})", data=data)
        else:
            said = "is not set" if value is None else f"is {release.shown(path, value)}"
            yield Result.fail(
                release.resource,
                f"{release.resource.address}: Cluster Autoscaler chart value {path} {said}: it "
                f"fetches the instance-type list from the internet at start-up",
                remediation=render(block("set", body=attributes(name=path, value="true"))),
                data=data)
    for obj in found.pods():
        assert obj.pod is not None
        for container in obj.pod.containers:
            if container.init or component_of_container(container) != "cluster-autoscaler":
                continue
            yield from _autoscaler_container(obj, container)


def _autoscaler_container(obj: KubeObject, container: Container) -> Iterator[Result]:
    provider = flag_value(container.argv, "cloud-provider")
    if isinstance(provider, str) and provider not in ("aws", "true"):
        return
    value = flag_value(container.argv, STATIC_LIST_FLAG)
    where = f"{obj.resource.address}: {obj.label} {container.describe()}"
    data = {"flag": f"--{STATIC_LIST_FLAG}", "container": container.name}
    if isinstance(value, Unknown):
        yield Result.unknown(obj.resource, f"{where}: its arguments are not all known "
                             f"({value.reason})", data=data)
    elif value is True or truthy(value) is True:
        yield Result.passed(obj.resource, f"{where} runs with --{STATIC_LIST_FLAG}=true; "
                            f"PC301 requires the autoscaling and sts endpoints for it", data=data)
    else:
        said = "without" if value is None else f"with --{STATIC_LIST_FLAG}={value}, not"
        yield Result.fail(
            obj.resource,
            f"{where} runs {said} --{STATIC_LIST_FLAG}=true: Cluster Autoscaler fetches the "
            f"instance-type list from the internet at start-up",
            remediation=render(Comment(KEEP_OTHER_ARGUMENTS), Attribute(
                "args", ListOf((Literal(f"--{STATIC_LIST_FLAG}=true"),)))), data=data)


POLICIES = (cluster_autoscaler,)
