"""The VPC endpoints in-cluster workloads need (PC301 reads them through `tfcheck.network`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfcheck.model import Resource
from tfcheck.needs import EndpointNeed
from tfcheck.policy import ScanContext

from .components import component_of_container, release_component
from .helm import HelmRelease
from .inventory import Workloads, workloads
from .karpenter import KarpenterInstall, karpenter_installs
from .kube import KubeObject
from .values import as_text, leaves, or_default, plain, truthy, walk_values

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
STS_REGIONAL_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"

# component -> (service, reason) pairs
_COMPONENT_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "cluster-autoscaler": (("autoscaling", "Cluster Autoscaler"),
                           ("sts", "Cluster Autoscaler (IAM role for its service account)")),
    "aws-load-balancer-controller": (("elasticloadbalancing", "AWS Load Balancer Controller"),),
    "aws-efs-csi-driver": (("elasticfilesystem", "EFS CSI driver"),),
    "eks-pod-identity-agent": (("eks-auth", "EKS Pod Identity agent"),),
    "amazon-cloudwatch-observability": (
        ("logs", "CloudWatch Observability (Container Insights, logs from the nodes)"),),
    "aws-cloudwatch-metrics": (("logs", "CloudWatch agent (Container Insights)"),),
    "cloudwatch-agent": (("logs", "CloudWatch agent"),),
    "aws-for-fluent-bit": (("logs", "Fluent Bit shipping logs to CloudWatch"),),
    "fluent-bit": (("logs", "Fluent Bit shipping logs to CloudWatch"),),
    "fluentd-cloudwatch": (("logs", "Fluentd shipping logs to CloudWatch"),),
    "aws-xray-daemon": (("xray", "X-Ray daemon"),),
    "adot": (("xray", "AWS Distro for OpenTelemetry (tracing to X-Ray)"),),
}

# EKS add-on name -> component
_ADDON_COMPONENTS: dict[str, str] = {
    "eks-pod-identity-agent": "eks-pod-identity-agent",
    "amazon-cloudwatch-observability": "amazon-cloudwatch-observability",
    "aws-efs-csi-driver": "aws-efs-csi-driver",
    "adot": "adot",
}


def workload_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    """The VPC endpoints that in-cluster workloads need, with the resource and the reason.

    - `sts`: a service account annotated `eks.amazonaws.com/role-arn` (IRSA: the pod
      exchanges its token with STS), and Cluster Autoscaler;
    - `eks-auth`: the EKS Pod Identity agent (add-on, chart or DaemonSet);
    - `logs`: CloudWatch agent / `amazon-cloudwatch-observability` / Fluent Bit shipping
      to CloudWatch / Container Insights (not control-plane logging: AWS ships that);
    - `elasticloadbalancing`: the AWS Load Balancer Controller, a Service of type
      LoadBalancer, an Ingress of class `alb` (even where the controller is elsewhere);
    - `autoscaling`: Cluster Autoscaler;
    - `xray`: X-Ray daemon, AWS Distro for OpenTelemetry;
    - `elasticfilesystem`: the EFS CSI driver;
    - Karpenter: `ec2` (it launches the nodes), `ssm` (AMI lookup through SSM
      parameters), `sqs` when its interruption queue is set, `eks` when its cluster
      endpoint is not (it calls `eks:DescribeCluster`), `sts` when its service account
      carries an IAM role (with EKS Pod Identity, the association asks for `eks-auth`).

    Which cluster each workload is deployed to is `tfcheck.facts.membership`'s question
    (`tfcheck.facts.requirements` fills `clusters`).
    One need per (service, resource), sorted by service and address.
    """
    return ctx.fact(_workload_endpoint_needs)


def _workload_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    found = workloads(ctx)
    needs: dict[tuple[str, str], EndpointNeed] = {}

    def need(service: str, resource: Resource, reason: str) -> None:
        key = (service, resource.address)  # the first (most specific) reason wins
        if key not in needs:
            needs[key] = EndpointNeed(service, resource, reason)

    def component_needs(component: str, resource: Resource) -> None:
        for service, reason in _COMPONENT_NEEDS.get(component, ()):
            need(service, resource, reason)

    for addon in found.addons:
        name = as_text(addon.values.get("addon_name"))
        if isinstance(name, str) and name in _ADDON_COMPONENTS:
            component_needs(_ADDON_COMPONENTS[name], addon)
    for install in karpenter_installs(ctx):
        for service, reason in _karpenter_needs(install):
            need(service, install.resource, reason)
    for release in found.releases:
        component = release_component(release)
        if component == "fluent-bit" and not _ships_to_cloudwatch(release.values):
            component = ""
        component_needs(component, release.resource)
        if release_role_annotations(release):
            need("sts", release.resource, "IAM roles for service accounts "
                 "(eks.amazonaws.com/role-arn in the chart's values)")
        if component == "" and _release_mentions_alb_ingress(release):
            need("elasticloadbalancing", release.resource, "Ingress of class alb (chart values)")
        if component == "" and _release_load_balancer_service(release):
            need("elasticloadbalancing", release.resource,
                 "Service of type LoadBalancer (chart values)")
    for obj in found.objects:
        if obj.pod is not None:
            for container in obj.pod.containers:
                component = component_of_container(container)
                if component == "fluent-bit" and not _ships_to_cloudwatch(
                    [container.args, container.command, dict(container.env)]
                ):
                    continue
                component_needs(component, obj.resource)
        elif obj.kind == "ServiceAccount" and _has_role_annotation(obj.annotations):
            need("sts", obj.resource, f"IAM roles for service accounts ({obj.label} is "
                 f"annotated {ROLE_ARN_ANNOTATION})")
        elif obj.kind == "Service" and obj.service_type == "LoadBalancer":
            need("elasticloadbalancing", obj.resource,
                 f"{obj.label} of type LoadBalancer")
        elif obj.kind == "Ingress" and is_alb_ingress(obj, found):
            need("elasticloadbalancing", obj.resource, f"{obj.label} of class alb")
        elif obj.kind == "OpenTelemetryCollector":
            config = leaves(obj.raw.get("spec"))
            text = " ".join(v for _, v in config if isinstance(v, str)).lower()
            if "awsxray" in text:
                need("xray", obj.resource, f"{obj.label} exporting traces to X-Ray (ADOT)")
            if "awscloudwatchlogs" in text or "awsemf" in text:
                need("logs", obj.resource, f"{obj.label} exporting to CloudWatch (ADOT)")
    return sorted(needs.values(), key=lambda n: (n.service, n.resource.address, n.reason))


def _karpenter_needs(install: KarpenterInstall) -> list[tuple[str, str]]:
    """(service, reason) for what one Karpenter controller calls, from its settings."""
    needs = [("ec2", "Karpenter (launches and describes the nodes' instances)"),
             ("ssm", "Karpenter (resolves AMIs through SSM parameters)")]
    if install.interruption_queue.is_set:
        needs.append(("sqs", f"Karpenter interruption handling "
                             f"({install.interruption_queue.where})"))
    if not install.cluster_endpoint.is_set and not install.unreadable:
        # where values are unreadable the endpoint may be set there: not required
        needs.append(("eks", "Karpenter (eks:DescribeCluster, because settings."
                             "clusterEndpoint is not set)"))
    if install.release is not None and release_role_annotations(install.release):
        needs.append(("sts", "Karpenter (IAM role for its service account)"))
    return needs


def _has_role_annotation(annotations: Mapping[str, Any]) -> bool:
    value = annotations.get(ROLE_ARN_ANNOTATION)
    return value is not None and plain(value) != ""


def release_role_annotations(release: HelmRelease) -> list[str]:
    """Value paths of a release that annotate a service account with an IAM role."""
    found = []
    for path, value in walk_values(release.values):
        bare = plain(value)
        if (path.endswith("annotations") or path.endswith("Annotations")) and isinstance(
            bare, dict
        ) and _has_role_annotation(bare):
            found.append(f"{path}.{ROLE_ARN_ANNOTATION}")
    return found


def _ships_to_cloudwatch(value: Any) -> bool:
    """Whether a Fluent Bit configuration mentions a CloudWatch output."""
    return any(isinstance(leaf, str) and "cloudwatch" in leaf.lower()
               for _, leaf in leaves(value))


def _release_mentions_alb_ingress(release: HelmRelease) -> bool:
    """A chart whose values create an Ingress of class alb (`ingress.className: alb`)."""
    for path, value in walk_values(release.values):
        bare = plain(value)
        if not isinstance(bare, dict) or not path.lower().endswith("ingress"):
            continue
        if truthy(bare.get("enabled")) is False:
            continue
        cls = or_default(plain(bare.get("className")), plain(bare.get("ingressClassName")))
        annotations = plain(bare.get("annotations"))
        if cls == "alb" or (isinstance(annotations, dict) and plain(
            annotations.get("kubernetes.io/ingress.class")
        ) == "alb"):
            return True
    return False


def _release_load_balancer_service(release: HelmRelease) -> bool:
    """A chart whose values ask for a Service of type LoadBalancer (`service.type`)."""
    for path, value in walk_values(release.values):
        bare = plain(value)
        if isinstance(bare, dict) and path.lower().endswith("service") and (
            plain(bare.get("type")) == "LoadBalancer"
        ) and truthy(bare.get("enabled")) is not False:
            return True
    return False


ALB_CONTROLLER = "ingress.k8s.aws/alb"


def is_alb_ingress(obj: KubeObject, found: Workloads) -> bool:
    """Whether the AWS Load Balancer Controller serves an Ingress.

    It does for class `alb`, for an IngressClass whose controller is
    `ingress.k8s.aws/alb`, and for an Ingress without class that carries
    `alb.ingress.kubernetes.io/` annotations.
    """
    cls = obj.ingress_class
    if cls == "alb":
        return True
    if isinstance(cls, str):
        return any(
            c.name == cls and c.controller == ALB_CONTROLLER
            for c in found.of_kind("IngressClass")
        )
    if cls is None:
        return any(str(k).startswith("alb.ingress.kubernetes.io/") for k in obj.annotations)
    return False
