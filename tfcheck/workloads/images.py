"""The container images a scan deploys, and where each is written.

Images come from pod specs (one per container), from Helm values that name images,
and, for well-known charts whose values do not override them, from the chart's own
defaults (`CHART_DEFAULTS`).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec.structs import replace

from tfcheck.model import Resource, Unknown
from tfcheck.policy import ScanContext

from .components import COMPONENT_CHARTS, component_of_container
from .helm import HelmRelease, helm_path
from .inventory import workloads
from .kube import Container, KubeObject
from .values import as_text, plain, walk_values


class ImageUse(msgspec.Struct, frozen=True):
    """One image a resource deploys, and where it is written.

    `chart_default` marks an image that no value overrides: the chart's own default
    (from `CHART_DEFAULTS`). `component` names a well-known component the image belongs
    to (`aws-efs-csi-driver`, `cluster-autoscaler`, ...) or is "".
    """

    resource: Resource
    image: str | Unknown
    where: str
    component: str = ""
    chart_default: bool = False
    obj: KubeObject | None = None
    container: Container | None = None
    sensitive: bool = False  # from set_sensitive / a sensitive value: never print it
    tag: str | None = None  # a Helm image map's separate `tag` (the registry is in `image`)
    value_path: str | None = None  # Helm: the value that names it ("image.repository")
    registry_path: str | None = None  # Helm: a separate registry value ("image.registry")

    @property
    def pinned(self) -> str | Unknown:
        """The image with the tag a Helm map gives separately, for pulling and copying it."""
        if isinstance(self.image, str) and self.tag and ":" not in self.image.rsplit("/", 1)[-1]:
            return f"{self.image}:{self.tag}"
        return self.image

    @property
    def shown(self) -> str:
        """The image as messages may print it."""
        if self.sensitive:
            return "(sensitive value)"
        return self.image if isinstance(self.image, str) else "(unknown)"


class ChartDefault(msgspec.Struct, frozen=True):
    """One image a well-known chart deploys unless its values override it.

    `legacy` is the default of chart versions before `legacy_before` (where the chart
    moved its image); a release without a known `version` gets the current default.
    """

    repository_path: str  # Helm path of the repository value ("image.repository")
    default: str  # the chart's current default repository
    versions: str  # the chart versions `default` is read from
    legacy: str | None = None
    legacy_before: str | None = None

    def for_version(self, version: str | Unknown | None) -> tuple[str, str]:
        """(repository, versions it is documented for) for a release's chart version."""
        if self.legacy is not None and self.legacy_before is not None and isinstance(
            version, str
        ) and _version_key(version) < _version_key(self.legacy_before):
            return self.legacy, f"chart versions before {self.legacy_before}"
        return self.default, self.versions


def _version_key(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version.split("-", 1)[0].split("+", 1)[0])
    return tuple(int(n) for n in numbers[:3]) or (0,)


# The default images of well-known charts, read from each chart's values.yaml. Only
# the registry matters to the policies: all of these are on the internet (or in
# us-west-2's ECR), which is why an override is needed in a private cluster.
CHART_DEFAULTS: dict[str, tuple[ChartDefault, ...]] = {
    "cluster-autoscaler": (
        ChartDefault("image.repository", "registry.k8s.io/autoscaling/cluster-autoscaler",
                     "kubernetes/autoscaler chart 9.21+",
                     legacy="k8s.gcr.io/autoscaling/cluster-autoscaler", legacy_before="9.21.0"),
    ),
    "aws-load-balancer-controller": (
        ChartDefault("image.repository", "public.ecr.aws/eks/aws-load-balancer-controller",
                     "aws/eks-charts 1.5+",
                     legacy="602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
                            "aws-load-balancer-controller", legacy_before="1.5.0"),
    ),
    "aws-efs-csi-driver": (
        ChartDefault("image.repository", "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver",
                     "kubernetes-sigs/aws-efs-csi-driver chart 3.x (driver 2.x)",
                     legacy="amazon/aws-efs-csi-driver", legacy_before="3.0.0"),
        ChartDefault("sidecars.livenessProbe.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/livenessprobe", "chart 2.2+"),
        ChartDefault("sidecars.nodeDriverRegistrar.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/node-driver-registrar",
                     "chart 2.2+"),
        ChartDefault("sidecars.csiProvisioner.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/external-provisioner",
                     "chart 2.2+"),
    ),
    "appmesh-controller": (
        ChartDefault("image.repository",
                     "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/appmesh-controller",
                     "aws/eks-charts 1.x"),
    ),
    "metrics-server": (
        ChartDefault("image.repository", "registry.k8s.io/metrics-server/metrics-server",
                     "kubernetes-sigs/metrics-server chart 3.8+",
                     legacy="k8s.gcr.io/metrics-server/metrics-server", legacy_before="3.8.0"),
    ),
    "external-dns": (
        ChartDefault("image.repository", "registry.k8s.io/external-dns/external-dns",
                     "kubernetes-sigs/external-dns chart 1.x"),
    ),
    "karpenter": (
        ChartDefault("controller.image.repository", "public.ecr.aws/karpenter/controller",
                     "oci://public.ecr.aws/karpenter/karpenter 0.32+"),
    ),
    "aws-node-termination-handler": (
        ChartDefault("image.repository", "public.ecr.aws/aws-ec2/aws-node-termination-handler",
                     "aws/eks-charts 0.21+"),
    ),
    "aws-for-fluent-bit": (
        ChartDefault("image.repository", "public.ecr.aws/aws-observability/aws-for-fluent-bit",
                     "aws/eks-charts 0.1.2x"),
    ),
}


def release_images(release: HelmRelease) -> list[ImageUse]:
    """The images a Helm release deploys: values that name images, and chart defaults.

    Values name images as `image: "repo:tag"`, or as a map with `repository` (plus
    `tag`, and in Bitnami-style charts `registry`). For a chart in `CHART_DEFAULTS`,
    every documented image path the values do not override contributes its default.
    Images set through `set_sensitive` are marked `sensitive`.
    """
    uses: list[ImageUse] = []
    seen_paths: set[str] = set()
    chart = release.chart if isinstance(release.chart, str) else ""
    secret_paths = _sensitive_walk_paths(release)

    def secret(path: str) -> bool:
        if release.values_sensitive:
            return True
        return any(path == p or path.startswith(p + ".") or p.startswith(path + ".")
                   for p in secret_paths)

    for default in CHART_DEFAULTS.get(chart, ()):
        override = release.value(default.repository_path)
        base = default.repository_path.rsplit(".", 1)[0]
        seen_paths.add(base)
        if override is None:
            image, versions = default.for_version(release.version)
            uses.append(ImageUse(release.resource, image,
                                 f"chart default {default.repository_path} ({versions})",
                                 component=chart, chart_default=True,
                                 value_path=default.repository_path))
        else:
            use = _image_from_map(release, base, release.value(base), chart)
            uses.append(_mark_sensitive(use, secret(base)))
    component = _component_of_chart(chart)
    for path, value in walk_values(release.values):
        if path in seen_paths:
            continue
        key = path.rsplit(".", 1)[-1]
        bare = plain(value)
        if _is_image_key(key) and isinstance(bare, dict) and "repository" in bare:
            seen_paths.add(path)
            use = _image_from_map(release, path, bare, component)
            uses.append(_mark_sensitive(use, secret(path)))
        elif _is_image_key(key) and isinstance(bare, (str, Unknown)) and _looks_like_image(
            bare
        ):
            uses.append(ImageUse(release.resource, bare, f"value {path}", component=component,
                                 sensitive=secret(path), value_path=path))
    return uses


def _mark_sensitive(use: ImageUse, sensitive: bool) -> ImageUse:
    return replace(use, sensitive=True) if sensitive else use


def _sensitive_walk_paths(release: HelmRelease) -> set[str]:
    """`set_sensitive` names in the dotted form `walk_values` yields."""
    paths = set()
    for name in release.sensitive:
        text = ""
        for part in helm_path(name):
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        paths.add(text)
    return paths


def _is_image_key(key: str) -> bool:
    return key == "image" or key.endswith("Image") or key.endswith("_image")


def _looks_like_image(value: str | Unknown) -> bool:
    if isinstance(value, Unknown):
        return True
    return bool(value) and " " not in value and not value.startswith(("-", "{", "["))


def _image_from_map(release: HelmRelease, path: str, value: Any, component: str) -> ImageUse:
    value = plain(value)
    if isinstance(value, (str, Unknown)):
        return ImageUse(release.resource, value, f"value {path}", component=component,
                        value_path=path)
    value = value if isinstance(value, dict) else {}
    repository = as_text(value.get("repository"))
    registry = as_text(value.get("registry"))
    where = f"value {path}.repository"
    paths: dict[str, Any] = {"value_path": f"{path}.repository",
                             "registry_path": f"{path}.registry" if registry else None}
    if isinstance(repository, Unknown) or isinstance(registry, Unknown):
        unknown = repository if isinstance(repository, Unknown) else registry
        assert isinstance(unknown, Unknown)
        return ImageUse(release.resource, unknown, where, component=component, **paths)
    image = repository or ""
    if registry:
        image = f"{registry.rstrip('/')}/{image}"
    tag = as_text(value.get("tag"))
    return ImageUse(release.resource, image, where, component=component,
                    tag=tag if isinstance(tag, str) and tag else None, **paths)


def _component_of_chart(chart: str) -> str:
    return chart if chart in COMPONENT_CHARTS else ""


def object_images(obj: KubeObject) -> list[ImageUse]:
    """The images of a Kubernetes object's pod spec, one per container."""
    if obj.pod is None:
        return []
    uses = []
    for container in obj.pod.containers:
        if container.image is None:
            continue
        where = f"{container.describe()} ({container.path})"
        component = component_of_container(container)
        uses.append(ImageUse(obj.resource, container.image, where, component=component,
                             obj=obj, container=container,
                             sensitive=container.sensitive_image or obj.sensitive))
    return uses


def image_uses(ctx: ScanContext) -> list[ImageUse]:
    """Every image the scan deploys, from objects and Helm releases (memoised)."""
    return ctx.fact(_image_uses)


def _image_uses(ctx: ScanContext) -> list[ImageUse]:
    found = workloads(ctx)
    uses: list[ImageUse] = []
    for obj in found.objects:
        uses.extend(object_images(obj))
    for release in found.releases:
        uses.extend(release_images(release))
    return uses
