"""PC606: the EFS CSI driver's images come from ECR in the cluster's region."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import attributes, block, render
from tfcheck.facts.membership import regions_of
from tfcheck.model import Severity, Status, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    eks_registry,
    image_uses,
    judge_registry,
    workloads,
)

from .support import (
    EFS_CSI,
    PRIVATE_CLUSTERS_GUIDE,
    cluster_evidence,
    efs_pod_ids,
    is_efs_image,
    known_region,
    release_of,
)


@policy(
    id="PC606",
    slug="efs-csi-region",
    severity=Severity.MEDIUM,
    title="EFS CSI driver images come from ECR in the cluster's region",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def efs_csi_region(ctx: ScanContext) -> Iterator[Result]:
    """The EFS CSI driver's images must be pulled from the ECR registry of the cluster's region.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Before
    deploying the Amazon EFS CSI driver, the kustomization.yaml file must be changed to
    set the container images to use the same AWS Region as the Amazon EKS cluster."

    The driver's manifests and older charts default to
    `602401143452.dkr.ecr.us-west-2.amazonaws.com`, newer charts to `public.ecr.aws`;
    neither is reachable from a cluster in another region without internet access.
    Checked: every image of the `aws-efs-csi-driver` Helm chart (driver and sidecars,
    chart defaults included) and of any pod running the driver's image. ECR in the
    cluster's region, or an allow-listed registry, passes. The `aws-efs-csi-driver`
    EKS add-on is served by AWS from the region's ECR: pass. PC601 stays silent on these
    images.

    ## Bad
    ```hcl
    provider "aws" {
      region = "eu-west-1"
    }

    resource "helm_release" "efs_csi" {
      name       = "aws-efs-csi-driver"
      repository = "https://kubernetes-sigs.github.io/aws-efs-csi-driver"
      chart      = "aws-efs-csi-driver"
      namespace  = "kube-system"

      set {
        name  = "image.repository"
        value = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver"
      }
    }
    ```

    ## Good
    ```hcl
    resource "aws_eks_addon" "efs_csi" {
      cluster_name             = aws_eks_cluster.main.name
      addon_name               = "aws-efs-csi-driver"
      service_account_role_arn = aws_iam_role.efs_csi.arn
    }
    ```

    ## Remediation
    Use the `aws-efs-csi-driver` EKS add-on, or set every image of the chart
    (`image.repository`, `sidecars.*.image.repository`) to ECR in the cluster's region,
    e.g. `602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-efs-csi-driver`.
    """
    found = workloads(ctx)
    efs_pods = efs_pod_ids(found)
    allowed = ctx.config.allowed_registries
    for use in image_uses(ctx):
        if not is_efs_image(use, efs_pods, found):
            continue
        regions = regions_of(ctx, use.resource)
        verdict = judge_registry(use.image, regions, allowed)
        region = known_region(regions)
        data = {"image": use.shown, "where": use.where, "registry": verdict.registry}
        identity = ("image", use.shown)
        evidence = [use.resource.address, *cluster_evidence(ctx, use.resource)]
        release = release_of(found, use.resource) if use.chart_default else None
        if verdict.status is Status.FAIL and release is not None and release.problems:
            yield Result.unknown(
                use.resource, f"{use.resource.address}: EFS CSI driver {use.where} would pull "
                f"{use.shown} from {verdict.reason}, but values that may override it are not "
                f"known ({'; '.join(release.problems)})", data=data, identity=identity,
                evidence=evidence)
        elif verdict.status is Status.FAIL:
            target = f"{eks_registry(region)}/eks/aws-efs-csi-driver" if region != (
                "<region>") else "<account>.dkr.ecr.<region>.amazonaws.com/eks/aws-efs-csi-driver"
            yield Result.fail(
                use.resource,
                f"{use.resource.address}: EFS CSI driver {use.where} pulls {use.shown} from "
                f"{verdict.reason}; its images must come from ECR in the cluster's region",
                remediation=(f'Use aws_eks_addon "aws-efs-csi-driver", or point the driver\'s '
                             f"images at ECR in {region}:\n" + render(block("set", body=attributes(
                                 name="image.repository", value=target)))),
                data=data, identity=identity, evidence=evidence)
        elif verdict.status is Status.UNKNOWN:
            yield Result.unknown(use.resource, f"{use.resource.address}: EFS CSI driver "
                                 f"{use.where}: {verdict.reason}", data=data, identity=identity,
                                 evidence=evidence)
        else:
            yield Result.passed(use.resource, f"{use.resource.address}: EFS CSI driver "
                                f"{use.where} pulls {use.shown} from {verdict.reason}",
                                data=data, identity=identity, evidence=evidence)
    for addon in found.addons:
        if reveal(addon.values.get("addon_name")) == EFS_CSI:
            yield Result.passed(addon, f"{addon.address}: the aws-efs-csi-driver add-on is "
                                f"served by AWS from ECR in the cluster's region",
                                data={"addon": EFS_CSI})


POLICIES = (efs_csi_region,)
