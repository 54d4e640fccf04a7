"""Well-known components (Cluster Autoscaler, the AWS Load Balancer Controller, ...).

A component is recognised by its chart, its image's repository name, or the command a
container runs; its command-line flags are read with Go's flag syntax.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfcheck.model import Unknown

from .helm import HelmRelease
from .kube import Container
from .registries import parse_image


def flag_value(argv: Iterable[str | Unknown], flag: str) -> str | bool | Unknown | None:
    """The value a container passes for `--flag` (Go flag syntax).

    `--flag=value` and `-flag=value` give the value; a bare `--flag` gives True (the Go
    convention for boolean flags); `--flag value` gives the next word. None where the
    flag is absent; `Unknown` where an unknown argument could be it.
    """
    words = list(argv)
    found: str | bool | Unknown | None = None
    unknown: Unknown | None = None
    names = (f"--{flag}", f"-{flag}")
    for position, word in enumerate(words):
        if isinstance(word, Unknown):
            unknown = unknown or word
            continue
        for token in _split_shell_words(word):
            for name in names:
                if token == name:
                    following = words[position + 1] if position + 1 < len(words) else None
                    if isinstance(following, str) and following.lower() in ("true", "false"):
                        found = following
                    else:
                        found = True
                elif token.startswith(name + "="):
                    found = token[len(name) + 1:]
    if found is None and unknown is not None:
        return unknown
    return found


def _split_shell_words(word: str) -> list[str]:
    """Words of one argv entry; `sh -c "... --flag=x ..."` puts many flags in one."""
    return word.split() if " " in word or "\n" in word else [word]


def mentions(argv: Iterable[str | Unknown], needle: str) -> bool:
    return any(isinstance(word, str) and needle in word for word in argv)


COMPONENT_CHARTS: dict[str, str] = {
    "cluster-autoscaler": "cluster-autoscaler",
    "cluster-autoscaler-chart": "cluster-autoscaler",
    "aws-load-balancer-controller": "aws-load-balancer-controller",
    "aws-efs-csi-driver": "aws-efs-csi-driver",
    "appmesh-controller": "appmesh-controller",
    "eks-pod-identity-agent": "eks-pod-identity-agent",
    "amazon-cloudwatch-observability": "amazon-cloudwatch-observability",
    "aws-cloudwatch-metrics": "aws-cloudwatch-metrics",
    "aws-for-fluent-bit": "aws-for-fluent-bit",
    "fluent-bit": "fluent-bit",
    "aws-xray-daemon": "aws-xray-daemon",
    "xray-daemon": "aws-xray-daemon",
    "aws-otel-collector": "adot",
    "adot-exporter-for-eks-on-ec2": "adot",
    "karpenter": "karpenter",
}

# image repository name -> component
_IMAGE_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("cluster-autoscaler", "cluster-autoscaler"),
    ("aws-load-balancer-controller", "aws-load-balancer-controller"),
    ("aws-efs-csi-driver", "aws-efs-csi-driver"),
    ("appmesh-controller", "appmesh-controller"),
    ("eks-pod-identity-agent", "eks-pod-identity-agent"),
    ("cloudwatch-agent", "cloudwatch-agent"),
    ("aws-for-fluent-bit", "aws-for-fluent-bit"),
    ("fluent-bit", "fluent-bit"),
    ("aws-xray-daemon", "aws-xray-daemon"),
    ("xray-daemon", "aws-xray-daemon"),
    ("aws-otel-collector", "adot"),
)


def component_of_image(image: str) -> str:
    """The well-known component an image is, by its repository name; "" otherwise."""
    name = parse_image(image).repository.lower()
    last = name.rsplit("/", 1)[-1]
    for needle, component in _IMAGE_COMPONENTS:
        if last == needle or (last.startswith(needle + "-") and component != "fluent-bit"):
            return component
    if last.startswith("fluentd") and "cloudwatch" in (parse_image(image).tag or "").lower():
        return "fluentd-cloudwatch"  # fluent/fluentd-kubernetes-daemonset:*-cloudwatch-*
    if "aws-efs-csi-driver" in name:
        return "aws-efs-csi-driver"
    if "karpenter/controller" in name or last in ("karpenter", "karpenter-controller"):
        return "karpenter"  # public.ecr.aws/karpenter/controller, and mirrors of it
    return ""


def component_of_container(container: Container) -> str:
    if isinstance(container.image, str):
        component = component_of_image(container.image)
        if component:
            return component
    if mentions(container.argv, "cluster-autoscaler"):
        return "cluster-autoscaler"
    return ""


def release_component(release: HelmRelease) -> str:
    chart = release.chart if isinstance(release.chart, str) else ""
    return COMPONENT_CHARTS.get(chart, "")
