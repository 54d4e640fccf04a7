"""PC601: container images come from ECR in the cluster's region or an allowed registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tfcheck.facts.hcl_snippets import Attribute, Literal, attributes, block, render
from tfcheck.facts.membership import regions_of
from tfcheck.images import ACCOUNT_PLACEHOLDER, AWS_REGIONAL, plan_mirror
from tfcheck.model import Severity, Status, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    ImageUse,
    image_uses,
    judge_registry,
    parse_image,
    workloads,
)

from .support import (
    IMAGE_COPY_GUIDE,
    cluster_evidence,
    efs_pod_ids,
    is_efs_image,
    is_marketplace,
    known_region,
    release_of,
)


@policy(
    id="PC601",
    slug="image-registry",
    severity=Severity.HIGH,
    title="Container images come from ECR in the cluster's region or an allowed registry",
    docs_url=IMAGE_COPY_GUIDE,
)
def image_registry(ctx: ScanContext) -> Iterator[Result]:
    """Nodes without internet access can only pull images from ECR in their region.

    ## Why
    The EKS user guide, "Private cluster requirements": "A container image must be in
    or copied to Amazon Elastic Container Registry (Amazon ECR) or to a registry inside
    the VPC to be pulled." and "Because a private cluster has no outbound internet
    access, container images can't be pulled from external sources such as Docker
    Hub."

    Checked: the images of `kubernetes_*` workloads (containers and init containers),
    `kubernetes_manifest` and `kubectl_manifest` YAML, and `helm_release` values and
    `set` blocks. ECR in the cluster's region passes (any account, ECR pull-through
    cache included); a registry in `allowed_registries` (host or host/prefix) passes.
    Docker Hub (also short names such as `nginx:1.25`), `public.ecr.aws`, other
    internet registries, and ECR in another region (the ECR endpoints of this region do
    not serve it) fail. For well-known charts deployed without an image override
    (cluster-autoscaler, aws-load-balancer-controller, appmesh-controller,
    metrics-server, external-dns, karpenter, aws-node-termination-handler,
    aws-for-fluent-bit) the chart's default registry comes from a built-in table
    (`tfcheck.workloads.CHART_DEFAULTS`, with the chart versions it was read from). A
    chart's `repository` is fetched by whoever runs terraform, not by the nodes: not
    checked. `aws_eks_addon` images are served by AWS from the region's ECR: pass.

    EFS CSI driver images are PC606's, AWS Marketplace images PC604's (one finding,
    one policy). An unknown image, or an unknown cluster region for an ECR image, is
    `unknown`; so is a chart whose default images tfcheck does not know when its values
    name none.

    ## Bad
    ```hcl
    provider "aws" {
      region = "eu-west-1"
    }

    resource "kubernetes_deployment_v1" "web" {
      metadata {
        name      = "web"
        namespace = "web"
      }
      spec {
        selector {
          match_labels = { app = "web" }
        }
        template {
          metadata {
            labels = { app = "web" }
          }
          spec {
            container {
              name  = "web"
              image = "nginx:1.25"
            }
          }
        }
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "kubernetes_deployment_v1" "web" {
      spec {
        selector {
          match_labels = { app = "web" }
        }
        template {
          metadata {
            labels = { app = "web" }
          }
          spec {
            container {
              name  = "web"
              image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/mirror/nginx:1.25"
            }
          }
        }
      }
    }
    ```

    ## Remediation
    Mirror the image in ECR in the cluster's region and point the workload at it:
    `tfcheck images PATH` lists every image with the ECR reference to use instead,
    `--format hcl` writes the `aws_ecr_pull_through_cache_rule` blocks for the registries
    ECR can cache and `--format script` the `docker pull` / `tag` / `push` commands for
    the rest. Or add an in-VPC registry to `allowed_registries` in `[tool.tfcheck]`.
    """
    found = workloads(ctx)
    efs_pods = efs_pod_ids(found)
    allowed = ctx.config.allowed_registries
    releases_with_images: set[str] = set()
    for use in image_uses(ctx):
        releases_with_images.add(use.resource.address)
        if is_efs_image(use, efs_pods, found) or is_marketplace(use.image):
            continue  # PC606 / PC604 report these
        regions = regions_of(ctx, use.resource)
        verdict = judge_registry(use.image, regions, allowed)
        release = release_of(found, use.resource) if use.chart_default else None
        data = {"image": use.shown, "where": use.where, "registry": verdict.registry}
        details: dict[str, Any] = {
            "data": data, "identity": ("image", use.shown),
            "evidence": [use.resource.address, *cluster_evidence(ctx, use.resource)]}
        if verdict.status is Status.FAIL and release is not None and release.problems:
            yield Result.unknown(
                use.resource,
                f"{use.resource.address}: {use.where} would pull {use.shown} from "
                f"{verdict.reason}, but values that may override it are not known "
                f"({'; '.join(release.problems)})", **details)
        elif verdict.status is Status.FAIL:
            yield Result.fail(
                use.resource,
                f"{use.resource.address}: {use.where} pulls {use.shown} from {verdict.reason}; "
                f"nodes without internet access cannot pull it",
                remediation=_image_remediation(use, known_region(regions)), **details)
        elif verdict.status is Status.UNKNOWN:
            yield Result.unknown(
                use.resource,
                f"{use.resource.address}: {use.where}: {verdict.reason}; run on a plan or "
                f"pass the variables that set it", **details)
        else:
            yield Result.passed(
                use.resource, f"{use.resource.address}: {use.where} pulls {use.shown} from "
                f"{verdict.reason}", **details)
    for release in found.releases:
        if release.resource.address in releases_with_images:
            continue
        chart = release.chart if isinstance(release.chart, str) else "(unknown chart)"
        why = f"; values not known: {'; '.join(release.problems)}" if release.problems else ""
        yield Result.unknown(
            release.resource,
            f"{release.resource.address}: chart {chart} is not in tfcheck's table of chart "
            f"default images and its values name no image: cannot tell which registry its "
            f"pods pull from{why}",
            data={"chart": chart})
    for address, problems in sorted(found.problems.items()):
        subject = ctx.graph.get(address)
        if subject is None or subject.type == "helm_release" or address in releases_with_images:
            continue  # Helm releases were answered above
        yield Result.unknown(
            subject, f"{address}: the manifest could not be read ({'; '.join(problems)}): "
            f"cannot tell which images it deploys", data={"problems": list(problems)})
    for addon in found.addons:
        name = reveal(addon.values.get("addon_name"))
        if isinstance(name, str) and "_" not in name:
            yield Result.passed(addon, f"{addon.address}: add-on {name} is served by AWS from "
                                f"ECR in the cluster's region", data={"addon": name})


def _image_remediation(use: ImageUse, region: str) -> str:
    """Where to deploy the image from instead, as the mirror plan (`tfcheck images`) says."""
    plan = ("`tfcheck images PATH --format hcl` writes the pull-through cache rules and "
            "`--format script` the copy commands for every image of the configuration")
    if isinstance(use.image, str) and not use.sensitive:
        mirror = plan_mirror(parse_image(use.image), ACCOUNT_PLACEHOLDER, region)
        repository, target = mirror.repository, mirror.reference
        if mirror.method == AWS_REGIONAL:
            how = f"AWS serves this image from its ECR registry in {region}; deploy it from there"
        elif mirror.upstream is not None:
            how = (f"Serve the image from ECR in {region} through a pull-through cache rule for "
                   f"{mirror.upstream.url} (prefix {mirror.upstream.prefix}); {plan}")
        else:
            how = f"Copy the image into ECR in {region} and deploy it from there; {plan}"
    else:
        repository = f"{ACCOUNT_PLACEHOLDER}.dkr.ecr.{region}.amazonaws.com/<repository>"
        target = repository
        how = f"Copy the image into ECR in {region} and deploy it from there; {plan}"
    if use.value_path is None:
        return f"{how}:\n" + render(Attribute("image", Literal(target)))
    sets = {use.value_path: repository if use.value_path.endswith("repository") else target}
    if use.registry_path is not None:  # Bitnami-style: registry and repository apart
        host, _, path = repository.partition("/")
        sets = {use.registry_path: host, use.value_path: path}
    blocks = [block("set", body=attributes(name=name, value=value))
              for name, value in sets.items()]
    return f"{how}:\n" + render(*blocks)


POLICIES = (image_registry,)
