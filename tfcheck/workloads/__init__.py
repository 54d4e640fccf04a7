"""What runs inside the cluster: Kubernetes objects, Helm releases and EKS add-ons.

Policies PC6xx/PC7xx and PC301 ask questions about in-cluster workloads ("which images
does this deploy?", "is a Cluster Autoscaler installed?", "which service accounts carry
an IAM role?"). Terraform writes those workloads in four very different shapes:
`kubernetes_*` resources (snake_case blocks), `kubernetes_manifest` / `kubectl_manifest`
/ `kustomization_resource` (the API's camelCase, as objects or YAML), `helm_release`
(a chart plus values and `set` blocks) and `aws_eks_addon`. This package reads them
once per scan (`workloads(ctx)`) into one vocabulary, by concern:

- `safe_yaml`: parsing untrusted YAML with size and alias limits;
- `values`: readers over plan-shaped values (`Unknown` and `Sensitive` anywhere);
- `kube`: `KubeObject`, `PodSpec`, `Container` from either spelling;
- `helm`: `HelmRelease`, values merged the way Helm merges them;
- `inventory`: `Workloads`, the scan's objects, releases and add-ons;
- `components`: well-known components and their command-line flags;
- `registries`: image references and whether private nodes can pull them;
- `images`: every image a scan deploys, chart defaults included;
- `needs`: the VPC endpoints workloads need (PC301).

Which cluster a workload belongs to, and its region, is `tfcheck.facts.membership`'s.

Values marked sensitive are used for decisions but never put into messages.
"""

from __future__ import annotations

from .components import (
    COMPONENT_CHARTS,
    component_of_container,
    component_of_image,
    flag_value,
    mentions,
    release_component,
)
from .helm import HelmRelease, chart_name, helm_get, helm_path, helm_set
from .images import (
    CHART_DEFAULTS,
    ChartDefault,
    ImageUse,
    image_uses,
    object_images,
    release_images,
)
from .inventory import Workloads, read_workloads, workloads
from .kube import Container, KubeObject, PodSpec
from .needs import (
    ALB_CONTROLLER,
    ROLE_ARN_ANNOTATION,
    STS_REGIONAL_ANNOTATION,
    is_alb_ingress,
    release_role_annotations,
    workload_endpoint_needs,
)
from .registries import (
    EKS_IMAGE_ACCOUNTS,
    MARKETPLACE_REGISTRY,
    ClusterRegion,
    ImageRef,
    RegistryVerdict,
    allowed_registry,
    eks_registry,
    judge_registry,
    parse_image,
)
from .safe_yaml import (
    MAX_YAML_ALIASES,
    MAX_YAML_BYTES,
    MAX_YAML_DOCUMENTS,
    MAX_YAML_NODES,
    YamlRefused,
    load_yaml_documents,
)
from .values import blocks, dig, first_unknown, truthy, walk_values

__all__ = [
    "ALB_CONTROLLER",
    "CHART_DEFAULTS",
    "COMPONENT_CHARTS",
    "EKS_IMAGE_ACCOUNTS",
    "MARKETPLACE_REGISTRY",
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DOCUMENTS",
    "MAX_YAML_NODES",
    "ROLE_ARN_ANNOTATION",
    "STS_REGIONAL_ANNOTATION",
    "ChartDefault",
    "ClusterRegion",
    "Container",
    "HelmRelease",
    "ImageRef",
    "ImageUse",
    "KubeObject",
    "PodSpec",
    "RegistryVerdict",
    "Workloads",
    "YamlRefused",
    "allowed_registry",
    "blocks",
    "chart_name",
    "component_of_container",
    "component_of_image",
    "dig",
    "eks_registry",
    "first_unknown",
    "flag_value",
    "helm_get",
    "helm_path",
    "helm_set",
    "image_uses",
    "is_alb_ingress",
    "judge_registry",
    "load_yaml_documents",
    "mentions",
    "object_images",
    "parse_image",
    "read_workloads",
    "release_component",
    "release_images",
    "release_role_annotations",
    "truthy",
    "walk_values",
    "workload_endpoint_needs",
    "workloads",
]
