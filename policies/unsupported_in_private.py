"""PC604: nothing a private cluster cannot run (Marketplace products, App Mesh controller)."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    MARKETPLACE_REGISTRY,
    component_of_container,
    image_uses,
    release_component,
    workloads,
)

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    is_marketplace,
)


@policy(
    id="PC604",
    slug="unsupported-in-private",
    severity=Severity.HIGH,
    title="Nothing that a private cluster cannot run",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def unsupported_in_private(ctx: ScanContext) -> Iterator[Result]:
    """Container products that need the AWS Marketplace Metering Service, and App Mesh's controller.

    ## Why
    The EKS user guide, "Private cluster requirements": "Some container software
    products use API calls that access the AWS Marketplace Metering Service to monitor
    usage. Private clusters do not allow these calls, so you can't use these container
    types in private clusters." The older version adds: "The App Mesh controller for
    Kubernetes isn't supported." ("The App Mesh sidecar injector for Kubernetes is
    supported.")

    Flagged: AWS Marketplace add-ons (`aws_eks_addon` whose name carries a vendor prefix
    and an underscore, `<vendor>_<product>`, e.g. `dynatrace_dynatrace-operator`;
    AWS's own add-ons have none), images from the Marketplace registry
    `709825985650.dkr.ecr.us-east-1.amazonaws.com`, and the App Mesh controller (Helm
    chart `appmesh-controller` or its image). The FSx for Lustre CSI driver, listed as
    unsupported in the older guide, was removed from that list by AWS in 2024: it is
    not flagged.

    ## Bad
    ```hcl
    resource "aws_eks_addon" "dynatrace" {
      cluster_name = aws_eks_cluster.main.name
      addon_name   = "dynatrace_dynatrace-operator"
    }
    ```

    ## Good
    ```hcl
    resource "aws_eks_addon" "pod_identity" {
      cluster_name = aws_eks_cluster.main.name
      addon_name   = "eks-pod-identity-agent"
    }
    ```

    ## Remediation
    Remove the Marketplace product or the App Mesh controller from the private
    cluster, or give the cluster a controlled egress path to the AWS Marketplace
    Metering Service.
    """
    found = workloads(ctx)
    for addon in found.addons:
        name = reveal(addon.values.get("addon_name"))
        if isinstance(name, Unknown):
            yield Result.unknown(addon, f"{addon.address}: addon_name is not known "
                                 f"({name.reason})")
        elif isinstance(name, str) and "_" in name:
            yield Result.fail(
                addon, f"{addon.address}: {name} is an AWS Marketplace add-on (vendor prefix "
                f"{name.split('_', 1)[0]}_); Marketplace products call the Metering Service, "
                f"which a private cluster cannot reach",
                remediation=f"Remove aws_eks_addon {addon.name!r} ({name}) from the private "
                            f"cluster", data={"addon": name})
        elif isinstance(name, str):
            yield Result.passed(addon, f"{addon.address}: {name} is an AWS add-on",
                                data={"addon": name})
    for use in image_uses(ctx):
        if is_marketplace(use.image):
            yield Result.fail(
                use.resource, f"{use.resource.address}: {use.where} pulls {use.shown} from the "
                f"AWS Marketplace registry {MARKETPLACE_REGISTRY}: the product calls the "
                f"Marketplace Metering Service, which a private cluster cannot reach",
                remediation="Remove the Marketplace product from the private cluster",
                data={"image": use.shown}, identity=("image", use.shown))
    for release in found.releases:
        if release_component(release) == "appmesh-controller":
            yield _appmesh(release.resource, f"Helm chart {release.chart}")
    for obj in found.pods():
        assert obj.pod is not None
        if any(component_of_container(c) == "appmesh-controller" for c in obj.pod.containers):
            yield _appmesh(obj.resource, obj.label)


def _appmesh(resource: Resource, what: str) -> Result:
    return Result.fail(
        resource, f"{resource.address}: {what} deploys the App Mesh controller, which is not "
        f"supported in a private cluster (the App Mesh sidecar injector is)",
        remediation="Remove the App Mesh controller from the private cluster",
        data={"component": "appmesh-controller"})


POLICIES = (unsupported_in_private,)
