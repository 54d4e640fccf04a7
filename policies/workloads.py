"""In-cluster workloads: images, add-on flags and AWS APIs that a private cluster cannot reach.

These policies read what Terraform deploys *into* the cluster — `kubernetes_*`
resources, `kubernetes_manifest` / `kubectl_manifest` YAML, `helm_release` values and
`aws_eks_addon` — through `tfcheck.workloads`, which gives one vocabulary for all of
them. Teams often keep workloads in a root module of their own, without the cluster:
the policies apply whenever their subjects exist, and take the cluster's region from
the aws provider where the cluster is not in the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Severity, Status, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    MARKETPLACE_REGISTRY,
    ROLE_ARN_ANNOTATION,
    STS_REGIONAL_ANNOTATION,
    ClusterRegion,
    Container,
    HelmRelease,
    ImageUse,
    KubeObject,
    Workloads,
    blocks,
    cluster_resources,
    clusters_of,
    component_of_container,
    dig,
    eks_registry,
    flag_value,
    image_uses,
    is_alb_ingress,
    judge_registry,
    parse_image,
    regions_of,
    release_component,
    release_images,
    truthy,
    walk_values,
    workloads,
)

PRIVATE_CLUSTERS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"
IMAGE_COPY_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/copy-image-to-repository.html"
STS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/configure-sts-endpoint.html"
ACCESS_ENTRIES_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html"

EFS_CSI = "aws-efs-csi-driver"
CERTIFICATE_ARN = "alb.ingress.kubernetes.io/certificate-arn"
LISTEN_PORTS = "alb.ingress.kubernetes.io/listen-ports"


def _known_region(regions: list[ClusterRegion]) -> str:
    for region in regions:
        if isinstance(region.region, str):
            return region.region
    return "<region>"


def _cluster_evidence(ctx: ScanContext, resource: Resource) -> list[str]:
    clusters = clusters_of(ctx, resource)
    if clusters is None:
        return [c.address for c in ctx.graph.managed("aws_eks_cluster")]
    return list(clusters)


def _efs_objects(found: Workloads) -> set[int]:
    """Pods that run the EFS CSI driver: all their images are the driver's (PC606)."""
    return {id(obj) for obj in found.pods() if obj.pod is not None and any(
        component_of_container(c) == EFS_CSI for c in obj.pod.containers)}


def _is_efs_image(use: ImageUse, efs_pods: set[int], found: Workloads) -> bool:
    if use.component == EFS_CSI:
        return True
    if use.obj is not None:
        return id(use.obj) in efs_pods
    release = _release_of(found, use.resource)
    return release is not None and release_component(release) == EFS_CSI


def _release_of(found: Workloads, resource: Resource) -> HelmRelease | None:
    for release in found.releases:
        if release.resource.address == resource.address:
            return release
    return None


def _is_marketplace(image: str | Unknown) -> bool:
    return isinstance(image, str) and parse_image(image).registry == MARKETPLACE_REGISTRY


def _image_remediation(use: ImageUse, region: str) -> str:
    registry = f"<account>.dkr.ecr.{region}.amazonaws.com"
    repository = "<repository>"
    if isinstance(use.image, str) and not use.sensitive:
        ref = parse_image(use.image)
        repository = ref.repository.removeprefix("library/")
        if ref.tag:
            repository += f":{ref.tag}"
    target = f"{registry}/{repository}"
    how = (f"Copy the image into ECR in {region} (docker pull / docker tag / docker push, "
           f"or an ECR pull-through cache rule) and deploy it from there")
    if use.resource.type == "helm_release":
        path = use.where.removeprefix("value ").split(" ", 1)[0]
        if use.chart_default:
            path = use.where.removeprefix("chart default ").split(" ", 1)[0]
        value = target.rsplit(":", 1)[0] if path.endswith("repository") else target
        return f'{how}:\nset {{\n  name  = "{path}"\n  value = "{value}"\n}}'
    return f"{how}:\nimage = \"{target}\""


# -- PC601 ----------------------------------------------------------------------------------


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
              image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/mirror/nginx:1.25"
            }
          }
        }
      }
    }
    ```

    ## Remediation
    Copy the image into ECR in the cluster's region (`docker pull`, `docker tag`,
    `docker push`, or an ECR pull-through cache rule) and point the workload at it; or
    add an in-VPC registry to `allowed_registries` in `[tool.tfcheck]`.
    """
    found = workloads(ctx)
    efs_pods = _efs_objects(found)
    allowed = ctx.config.allowed_registries
    releases_with_images: set[str] = set()
    for use in image_uses(ctx):
        releases_with_images.add(use.resource.address)
        if _is_efs_image(use, efs_pods, found) or _is_marketplace(use.image):
            continue  # PC606 / PC604 report these
        regions = regions_of(ctx, use.resource)
        verdict = judge_registry(use.image, regions, allowed)
        release = _release_of(found, use.resource) if use.chart_default else None
        data = {"image": use.shown, "where": use.where, "registry": verdict.registry}
        details: dict[str, Any] = {
            "data": data, "evidence": [use.resource.address, *_cluster_evidence(ctx, use.resource)]}
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
                remediation=_image_remediation(use, _known_region(regions)), **details)
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


# -- PC602 ----------------------------------------------------------------------------------

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
    resource "helm_release" "cluster_autoscaler" {
      name       = "cluster-autoscaler"
      repository = "https://kubernetes.github.io/autoscaler"
      chart      = "cluster-autoscaler"
      namespace  = "kube-system"

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
                remediation=f'set {{\n  name  = "{path}"\n  value = "true"\n}}', data=data)
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
            remediation=f'args = [..., "--{STATIC_LIST_FLAG}=true"]', data=data)


# -- PC603 ----------------------------------------------------------------------------------

LBC_FLAGS = (("enableShield", "enable-shield"), ("enableWaf", "enable-waf"),
             ("enableWafv2", "enable-wafv2"))


@policy(
    id="PC603",
    slug="lb-controller-flags",
    severity=Severity.MEDIUM,
    title="AWS Load Balancer Controller does not call Shield, WAF or ACM",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def lb_controller_flags(ctx: ScanContext) -> Iterator[Result]:
    """The AWS Load Balancer Controller must not call AWS APIs that have no VPC endpoint.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Installing
    the AWS Load Balancer Controller add-on is supported. However, while installing,
    you should use command line flags to set enable-shield, enable-waf, and
    enable-wafv2 to false. In addition, certificate discovery with hostnames from the
    Ingress objects isn't supported. This is because the controller needs to reach ACM,
    which doesn't have a VPC endpoint."

    Checked: the `aws-load-balancer-controller` Helm chart (values `enableShield`,
    `enableWaf`, `enableWafv2` must all be `false`; the chart passes no flag when they
    are unset, and the controller's defaults are `true`), any container running the
    controller (`--enable-shield=false`, `--enable-waf=false`, `--enable-wafv2=false`),
    and every Ingress the controller serves (class `alb`, or an IngressClass of
    controller `ingress.k8s.aws/alb`): one with TLS hosts, or an HTTPS listener and
    rule hosts, but no `alb.ingress.kubernetes.io/certificate-arn` annotation fails,
    because the controller would discover the certificate in ACM by host name.
    Ingresses rendered by a chart's values (`ingress.className: alb`) count too.

    ## Bad
    ```hcl
    resource "helm_release" "aws_load_balancer_controller" {
      name       = "aws-load-balancer-controller"
      repository = "https://aws.github.io/eks-charts"
      chart      = "aws-load-balancer-controller"
      namespace  = "kube-system"

      set {
        name  = "clusterName"
        value = aws_eks_cluster.main.name
      }
    }
    ```

    ## Good
    ```hcl
    resource "helm_release" "aws_load_balancer_controller" {
      name       = "aws-load-balancer-controller"
      repository = "https://aws.github.io/eks-charts"
      chart      = "aws-load-balancer-controller"
      namespace  = "kube-system"

      values = [yamlencode({
        enableShield = false
        enableWaf    = false
        enableWafv2  = false
      })]

      set {
        name  = "clusterName"
        value = aws_eks_cluster.main.name
      }
    }
    ```

    ## Remediation
    Helm: `enableShield = false`, `enableWaf = false`, `enableWafv2 = false`; a
    container: `--enable-shield=false --enable-waf=false --enable-wafv2=false`; an
    Ingress: set `alb.ingress.kubernetes.io/certificate-arn` to the ACM certificate.
    """
    found = workloads(ctx)
    for release in found.releases:
        if release_component(release) == "aws-load-balancer-controller":
            yield _lbc_release(release)
        else:
            yield from _release_ingresses(release)
    for obj in found.pods():
        assert obj.pod is not None
        for container in obj.pod.containers:
            if not container.init and component_of_container(
                container
            ) == "aws-load-balancer-controller":
                yield _lbc_container(obj, container)
    for obj in found.of_kind("Ingress"):
        if is_alb_ingress(obj, found):
            yield _ingress_certificates(obj.resource, obj.label, obj.annotations,
                                        obj.tls_hosts, obj.rule_hosts)


def _lbc_release(release: HelmRelease) -> Result:
    address = release.resource.address
    wrong: list[str] = []
    unknown: list[str] = []
    for value_name, _ in LBC_FLAGS:
        value = release.value(value_name)
        if isinstance(value, Unknown):
            unknown.append(f"{value_name} ({value.reason})")
        elif truthy(value) is False:
            continue
        elif value is None and release.problems:
            unknown.append(f"{value_name} (values not known: {'; '.join(release.problems)})")
        elif value is None:
            wrong.append(f"{value_name} is not set (controller default true)")
        else:
            wrong.append(f"{value_name} is {release.shown(value_name, value)}")
    data = {"values": [n for n, _ in LBC_FLAGS]}
    if wrong:
        return Result.fail(
            release.resource,
            f"{address}: AWS Load Balancer Controller {'; '.join(wrong)}: the controller calls "
            f"Shield / WAF, which have no VPC endpoint",
            remediation="values = [yamlencode({\n  enableShield = false\n  enableWaf    = false\n"
                        "  enableWafv2  = false\n})]",
            data=data)
    if unknown:
        return Result.unknown(release.resource, f"{address}: not known: {', '.join(unknown)}",
                              data=data)
    return Result.passed(release.resource, f"{address}: AWS Load Balancer Controller runs with "
                         f"enableShield, enableWaf and enableWafv2 false", data=data)


def _lbc_container(obj: KubeObject, container: Container) -> Result:
    where = f"{obj.resource.address}: {obj.label} {container.describe()}"
    wrong: list[str] = []
    unknown: list[str] = []
    for _, flag in LBC_FLAGS:
        value = flag_value(container.argv, flag)
        if isinstance(value, Unknown):
            unknown.append(f"--{flag} ({value.reason})")
        elif value is True or value is None:
            wrong.append(f"--{flag} is {'not set (default true)' if value is None else 'true'}")
        elif truthy(value) is not False:
            wrong.append(f"--{flag}={value}")
    data = {"flags": [f"--{f}" for _, f in LBC_FLAGS], "container": container.name}
    if wrong:
        return Result.fail(
            obj.resource, f"{where}: {'; '.join(wrong)}: the controller calls Shield / WAF, "
            f"which have no VPC endpoint",
            remediation='args = [..., "--enable-shield=false", "--enable-waf=false", '
                        '"--enable-wafv2=false"]', data=data)
    if unknown:
        return Result.unknown(obj.resource, f"{where}: not known: {', '.join(unknown)}",
                              data=data)
    return Result.passed(obj.resource, f"{where} runs with --enable-shield=false, "
                         f"--enable-waf=false, --enable-wafv2=false", data=data)


def _ingress_certificates(resource: Resource, label: str, annotations: Mapping[str, Any],
                          tls_hosts: tuple[str | Unknown, ...],
                          rule_hosts: tuple[str | Unknown, ...]) -> Result:
    where = f"{resource.address}: {label}"
    certificate = reveal(annotations.get(CERTIFICATE_ARN))
    data: dict[str, Any] = {"annotation": CERTIFICATE_ARN}
    if isinstance(certificate, Unknown) or (isinstance(certificate, str) and certificate.strip()):
        return Result.passed(resource, f"{where} names its certificate in {CERTIFICATE_ARN}",
                             data=data)
    listen = reveal(annotations.get(LISTEN_PORTS))
    https = isinstance(listen, str) and "HTTPS" in listen.upper()
    hosts = [h for h in tls_hosts if isinstance(h, str)]
    if any(isinstance(h, Unknown) for h in tls_hosts) and not hosts:
        hosts = ["(unknown host)"]
    if not hosts and https:
        hosts = [h for h in rule_hosts if isinstance(h, str)]
    if hosts:
        data["hosts"] = hosts
        return Result.fail(
            resource,
            f"{where} has TLS for {', '.join(hosts)} but no {CERTIFICATE_ARN} annotation: the "
            f"controller would discover the certificate in ACM by host name, and ACM has no "
            f"VPC endpoint",
            remediation=f'annotations = {{\n  "{CERTIFICATE_ARN}" = aws_acm_certificate.'
                        f'this.arn\n}}',
            data=data)
    return Result.passed(resource, f"{where} has no HTTPS listener that needs certificate "
                         f"discovery", data=data)


def _release_ingresses(release: HelmRelease) -> Iterator[Result]:
    """Ingresses a chart renders from `ingress`-like values of class alb."""
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if not isinstance(plain, dict) or not path.lower().endswith("ingress"):
            continue
        if truthy(plain.get("enabled")) is False:
            continue
        annotations = reveal(plain.get("annotations"))
        annotations = annotations if isinstance(annotations, dict) else {}
        cls = reveal(plain.get("className"))
        if cls is None:
            cls = reveal(plain.get("ingressClassName"))
        if cls is None:
            cls = reveal(annotations.get("kubernetes.io/ingress.class"))
        if cls != "alb":
            continue
        tls_hosts: list[str | Unknown] = []
        for entry in blocks(plain.get("tls")):
            entry = reveal(entry)
            if isinstance(entry, dict):
                tls_hosts.extend(h for h in blocks(entry.get("hosts"))
                                 if isinstance(h, (str, Unknown)))
        rule_hosts: list[str | Unknown] = []
        for entry in blocks(plain.get("hosts")):
            entry = reveal(entry)
            host = entry.get("host") if isinstance(entry, dict) else entry
            if isinstance(host, (str, Unknown)):
                rule_hosts.append(host)
        yield _ingress_certificates(release.resource, f"chart value {path} (Ingress of class "
                                    f"alb)", annotations, tuple(tls_hosts), tuple(rule_hosts))


# -- PC604 ----------------------------------------------------------------------------------


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
        if _is_marketplace(use.image):
            yield Result.fail(
                use.resource, f"{use.resource.address}: {use.where} pulls {use.shown} from the "
                f"AWS Marketplace registry {MARKETPLACE_REGISTRY}: the product calls the "
                f"Marketplace Metering Service, which a private cluster cannot reach",
                remediation="Remove the Marketplace product from the private cluster",
                data={"image": use.shown})
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


# -- PC605 ----------------------------------------------------------------------------------

STS_ENV = "AWS_STS_REGIONAL_ENDPOINTS"
IRSA_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@policy(
    id="PC605",
    slug="sts-regional",
    severity=Severity.MEDIUM,
    title="Pods with IAM roles for service accounts use the regional STS endpoint",
    docs_url=STS_GUIDE,
)
def sts_regional(ctx: ScanContext) -> Iterator[Result]:
    """Pods using IAM roles for service accounts must call STS through its regional endpoint.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Pods configured
    with IAM roles for service accounts acquire credentials from an AWS Security Token
    Service (AWS STS) API call. ... Most AWS v1 SDKs use the global AWS STS endpoint by
    default ..., which doesn't use the AWS STS VPC endpoint. To use the AWS STS VPC
    endpoint, you may need to configure the SDK to use the regional AWS STS endpoint
    ... by setting the AWS_STS_REGIONAL_ENDPOINTS environment variable with a value of
    regional, along with the AWS Region."

    A workload uses IAM roles for service accounts when its pods run as a service
    account annotated `eks.amazonaws.com/role-arn` (in the input, same namespace), set
    `AWS_ROLE_ARN` / `AWS_WEB_IDENTITY_TOKEN_FILE`, or — for a Helm release — its values
    annotate a service account with a role (or name a role-annotated service account
    of the input). It passes when every container (init containers aside) sets
    `AWS_STS_REGIONAL_ENDPOINTS=regional`, or the service account carries
    `eks.amazonaws.com/sts-regional-endpoints: "true"` (the pod identity webhook then
    injects the variable). For Helm values, either form anywhere in the values counts
    (`env`, `extraEnv`, `{name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}`).
    Containers whose image is listed in `sts_regional_images` (SDKs that default to the
    regional endpoint) are exempt. `AWS_REGION` is recommended in the message, not
    required.

    ## Bad
    ```hcl
    resource "kubernetes_service_account_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
        annotations = {
          "eks.amazonaws.com/role-arn" = "arn:aws:iam::111122223333:role/orders"
        }
      }
    }

    resource "kubernetes_deployment_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
      }
      spec {
        selector {
          match_labels = { app = "orders" }
        }
        template {
          metadata {
            labels = { app = "orders" }
          }
          spec {
            service_account_name = kubernetes_service_account_v1.orders.metadata[0].name
            container {
              name  = "orders"
              image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders:1.4.2"
            }
          }
        }
      }
    }
    ```

    ## Good
    ```hcl
    resource "kubernetes_service_account_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
        annotations = {
          "eks.amazonaws.com/role-arn"               = "arn:aws:iam::111122223333:role/orders"
          "eks.amazonaws.com/sts-regional-endpoints" = "true"
        }
      }
    }

    resource "kubernetes_deployment_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
      }
      spec {
        selector {
          match_labels = { app = "orders" }
        }
        template {
          metadata {
            labels = { app = "orders" }
          }
          spec {
            service_account_name = kubernetes_service_account_v1.orders.metadata[0].name
            container {
              name  = "orders"
              image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders:1.4.2"
            }
          }
        }
      }
    }
    ```

    ## Remediation
    Add `env { name = "AWS_STS_REGIONAL_ENDPOINTS" value = "regional" }` (and
    `AWS_REGION`) to the containers, or annotate the service account with
    `eks.amazonaws.com/sts-regional-endpoints = "true"`.
    """
    found = workloads(ctx)
    accounts = _role_accounts(found)
    exempt = ctx.config.sts_regional_images
    for obj in found.pods():
        yield from _sts_pod(obj, accounts, exempt, _unknown_accounts(found))
    for release in found.releases:
        yield from _sts_release(release, accounts, exempt)


def _role_accounts(found: Workloads) -> dict[tuple[str, str], KubeObject]:
    """Role-annotated service accounts by (namespace, name)."""
    accounts: dict[tuple[str, str], KubeObject] = {}
    for obj in found.of_kind("ServiceAccount"):
        role = reveal(obj.annotations.get(ROLE_ARN_ANNOTATION))
        if role is None or role == "":
            continue
        if isinstance(obj.name, str) and isinstance(obj.namespace, str):
            accounts[(obj.namespace, obj.name)] = obj
    return accounts


def _unknown_accounts(found: Workloads) -> dict[tuple[str, str], KubeObject]:
    """Service accounts whose whole annotations map is unknown: IRSA cannot be told."""
    return {(o.namespace, o.name): o for o in found.of_kind("ServiceAccount")
            if o.annotations_unknown is not None and isinstance(o.name, str)
            and isinstance(o.namespace, str)}


def _regional_annotation(annotations: Mapping[str, Any]) -> bool:
    return truthy(annotations.get(STS_REGIONAL_ANNOTATION)) is True


def _sts_pod(obj: KubeObject, accounts: Mapping[tuple[str, str], KubeObject],
             exempt: tuple[str, ...],
             unknown_accounts: Mapping[tuple[str, str], KubeObject]) -> Iterator[Result]:
    pod = obj.pod
    assert pod is not None
    account_name = pod.service_account if isinstance(pod.service_account, str) else (
        "default" if pod.service_account is None else None)
    namespace = obj.namespace if isinstance(obj.namespace, str) else None
    account = accounts.get((namespace or "", account_name or ""))
    containers = [c for c in pod.containers if not c.init]
    direct = any(name in c.env for c in containers for name in IRSA_ENV)
    if account is None and not direct:
        maybe = unknown_accounts.get((namespace or "", account_name or ""))
        if maybe is not None and maybe.annotations_unknown is not None and not all(
            STS_ENV in c.env for c in containers
        ):
            yield Result.unknown(
                obj.resource, f"{obj.resource.address}: {obj.label} runs as "
                f"{maybe.label.split(' ', 1)[1]}, whose annotations are not known "
                f"({maybe.annotations_unknown.reason}): cannot tell whether it uses IAM "
                f"roles for service accounts", evidence=[obj.resource.address,
                                                         maybe.resource.address])
        return
    how = (f"service account {account.label.split(' ', 1)[1]} ({account.resource.address}) "
           f"annotated {ROLE_ARN_ANNOTATION}" if account is not None
           else "AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE")
    evidence = [obj.resource.address] + ([account.resource.address]
                                         if account is not None else [])
    where = f"{obj.resource.address}: {obj.label}"
    data: dict[str, Any] = {"service_account": account.resource.address if account else None}
    if account is not None and _regional_annotation(account.annotations):
        yield Result.passed(obj.resource, f"{where} uses {how}, which also carries "
                            f"{STS_REGIONAL_ANNOTATION}: \"true\"", evidence=evidence, data=data)
        return
    missing: list[str] = []
    unknown: list[str] = []
    no_region: list[str] = []
    for container in containers:
        if isinstance(container.image, str) and any(
            container.image.startswith(prefix) for prefix in exempt
        ):
            continue
        value = reveal(container.env.get(STS_ENV))
        if isinstance(value, Unknown) or (container.env.get(STS_ENV) is None
                                          and STS_ENV in container.env):
            unknown.append(container.describe())
        elif not (isinstance(value, str) and value.strip().lower() == "regional"):
            missing.append(container.describe())
        if "AWS_REGION" not in container.env and "AWS_DEFAULT_REGION" not in container.env:
            no_region.append(container.describe())
    data["containers"] = missing
    if missing:
        yield Result.fail(
            obj.resource,
            f"{where} uses {how}, but {', '.join(missing)} do not set {STS_ENV}=regional: "
            f"older AWS SDKs call the global STS endpoint (sts.amazonaws.com), which no VPC "
            f"endpoint serves"
            + ("; also set AWS_REGION" if no_region else ""),
            remediation=f'env {{\n  name  = "{STS_ENV}"\n  value = "regional"\n}}\n'
                        'env {\n  name  = "AWS_REGION"\n  value = "<region>"\n}',
            evidence=evidence, data=data)
    elif unknown:
        yield Result.unknown(obj.resource, f"{where} uses {how}; {STS_ENV} of "
                             f"{', '.join(unknown)} is not known", evidence=evidence, data=data)
    else:
        yield Result.passed(obj.resource, f"{where} uses {how} and sets {STS_ENV}=regional"
                            + (" (AWS_REGION is recommended too)" if no_region else ""),
                            evidence=evidence, data=data)


def _sts_release(release: HelmRelease, accounts: Mapping[tuple[str, str], KubeObject],
                 exempt: tuple[str, ...]) -> Iterator[Result]:
    annotated: list[str] = []
    regional_annotation = False
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if path.lower().endswith("annotations") and isinstance(plain, dict):
            role = reveal(plain.get(ROLE_ARN_ANNOTATION))
            if role is not None and role != "":
                annotated.append(path)
                regional_annotation = regional_annotation or _regional_annotation(plain)
    used = _release_uses_accounts(release, accounts)
    if not annotated and not used:
        return
    regional_annotation = regional_annotation or any(
        _regional_annotation(a.annotations) for a in used)
    how = ", ".join([f"values {p}.{ROLE_ARN_ANNOTATION}" for p in annotated]
                    + [f"service account {a.resource.address}" for a in used])
    address = release.resource.address
    evidence = [address, *(a.resource.address for a in used)]
    data = {"chart": release.chart if isinstance(release.chart, str) else None}
    if regional_annotation:
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}) with {STS_REGIONAL_ANNOTATION}: \"true\"",
                            evidence=evidence, data=data)
    elif _values_set_regional(release.values):
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}) with {STS_ENV}=regional in the values",
                            evidence=evidence, data=data)
    elif exempt and (images := [u.image for u in release_images(release)]) and all(
        isinstance(i, str) and i.startswith(exempt) for i in images
    ):
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}); its images are listed in sts_regional_images",
                            evidence=evidence, data=data)
    elif release.problems:
        yield Result.unknown(release.resource, f"{address}: IAM roles for service accounts "
                             f"({how}); {STS_ENV} not in the known values, and some values "
                             f"are not known ({'; '.join(release.problems)})",
                             evidence=evidence, data=data)
    else:
        yield Result.fail(
            release.resource,
            f"{address}: IAM roles for service accounts ({how}), but neither {STS_ENV}=regional "
            f"nor the {STS_REGIONAL_ANNOTATION} annotation: older AWS SDKs call the global "
            f"STS endpoint, which no VPC endpoint serves",
            remediation=_sts_release_remediation(annotated),
            evidence=evidence, data=data)


def _sts_release_remediation(annotated: list[str]) -> str:
    """A `set` block adding the regional-STS annotation next to the role annotation."""
    base = annotated[0] if annotated else "serviceAccount.annotations"
    escaped = STS_REGIONAL_ANNOTATION.replace(".", "\\\\.")
    return (f'set {{\n  name  = "{base}.{escaped}"\n  value = "true"\n  type  = "string"\n}}\n'
            f"# or set {STS_ENV}=regional in the chart's env values")


def _release_uses_accounts(release: HelmRelease,
                           accounts: Mapping[tuple[str, str], KubeObject]) -> list[KubeObject]:
    """Role-annotated service accounts of the input that a chart's values name."""
    if not isinstance(release.namespace, str):
        return []
    used: dict[str, KubeObject] = {}
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if isinstance(plain, str) and re.search(r"(?i)serviceaccount(name)?(\.name)?$", path):
            account = accounts.get((release.namespace, plain))
            if account is not None:
                used[account.resource.address] = account
    return list(used.values())


def _values_set_regional(values: Mapping[str, Any]) -> bool:
    for _, value in walk_values(values):
        plain = reveal(value)
        if not isinstance(plain, dict):
            continue
        direct = reveal(plain.get(STS_ENV))
        if isinstance(direct, str) and direct.lower() == "regional":
            return True
        name, setting = reveal(plain.get("name")), reveal(plain.get("value"))
        if name == STS_ENV and isinstance(setting, str) and setting.lower() == "regional":
            return True
        # the EFS CSI chart's switch for the same variable
        if truthy(plain.get("regionalStsEndpoints")) is True:
            return True
    return False


# -- PC606 ----------------------------------------------------------------------------------


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
    efs_pods = _efs_objects(found)
    allowed = ctx.config.allowed_registries
    for use in image_uses(ctx):
        if not _is_efs_image(use, efs_pods, found):
            continue
        regions = regions_of(ctx, use.resource)
        verdict = judge_registry(use.image, regions, allowed)
        region = _known_region(regions)
        data = {"image": use.shown, "where": use.where, "registry": verdict.registry}
        evidence = [use.resource.address, *_cluster_evidence(ctx, use.resource)]
        release = _release_of(found, use.resource) if use.chart_default else None
        if verdict.status is Status.FAIL and release is not None and release.problems:
            yield Result.unknown(
                use.resource, f"{use.resource.address}: EFS CSI driver {use.where} would pull "
                f"{use.shown} from {verdict.reason}, but values that may override it are not "
                f"known ({'; '.join(release.problems)})", data=data, evidence=evidence)
        elif verdict.status is Status.FAIL:
            target = f"{eks_registry(region)}/eks/aws-efs-csi-driver" if region != (
                "<region>") else "<account>.dkr.ecr.<region>.amazonaws.com/eks/aws-efs-csi-driver"
            yield Result.fail(
                use.resource,
                f"{use.resource.address}: EFS CSI driver {use.where} pulls {use.shown} from "
                f"{verdict.reason}; its images must come from ECR in the cluster's region",
                remediation=(f'Use aws_eks_addon "aws-efs-csi-driver", or point the driver\'s '
                             f'images at ECR in {region}:\nset {{\n  name  = "image.repository"'
                             f'\n  value = "{target}"\n}}'),
                data=data, evidence=evidence)
        elif verdict.status is Status.UNKNOWN:
            yield Result.unknown(use.resource, f"{use.resource.address}: EFS CSI driver "
                                 f"{use.where}: {verdict.reason}", data=data, evidence=evidence)
        else:
            yield Result.passed(use.resource, f"{use.resource.address}: EFS CSI driver "
                                f"{use.where} pulls {use.shown} from {verdict.reason}",
                                data=data, evidence=evidence)
    for addon in found.addons:
        if reveal(addon.values.get("addon_name")) == EFS_CSI:
            yield Result.passed(addon, f"{addon.address}: the aws-efs-csi-driver add-on is "
                                f"served by AWS from ECR in the cluster's region",
                                data={"addon": EFS_CSI})


# -- PC701 ----------------------------------------------------------------------------------

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
        clusters = _clusters_for(ctx, graph, obj.resource)
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


def _clusters_for(ctx: ScanContext, graph: ResourceGraph, resource: Resource) -> list[Resource]:
    return cluster_resources(ctx, resource)


def _aws_auth_verdict(obj: KubeObject, clusters: list[Resource]) -> Result:
    address = obj.resource.address
    remediation = ('access_config {\n  authentication_mode = "API"\n}\n# then, per role:\n'
                   'resource "aws_eks_access_entry" "nodes" {\n'
                   '  cluster_name  = aws_eks_cluster.main.name\n'
                   '  principal_arn = aws_iam_role.node.arn\n  type          = "EC2_LINUX"\n}')
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


POLICIES = (
    image_registry,
    cluster_autoscaler,
    lb_controller_flags,
    unsupported_in_private,
    sts_regional,
    efs_csi_region,
    aws_auth_in_vpc,
)
