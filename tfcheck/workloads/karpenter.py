"""Karpenter: where it runs, the settings that decide which AWS APIs it calls, its node classes.

Karpenter is installed as the `karpenter` Helm chart or as a controller container
(`public.ecr.aws/karpenter/controller`, or a mirror of it). Its settings are chart
values (`settings.*`; charts before v0.32 put the AWS ones under `settings.aws.*`),
environment variables of the controller (`ISOLATED_VPC`, older `AWS_ISOLATED_VPC`) or
flags (`--isolated-vpc`). Which AWS APIs it calls depends on three of them:

- `isolatedVPC`: unless true, Karpenter calls the AWS Price List API, which has no VPC
  endpoint (PC607);
- `interruptionQueue`: when set, it polls that SQS queue (PC301: `sqs`);
- `clusterEndpoint`: when not set, it calls `eks:DescribeCluster` (PC301: `eks`).

`EC2NodeClass` objects name either an `instanceProfile` or a `role`; for a role,
Karpenter creates the instance profile itself through IAM (PC607).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from tfcheck.model import Resource, Unknown
from tfcheck.policy import ScanContext

from .components import component_of_container, flag_value, release_component
from .helm import HelmRelease
from .inventory import workloads
from .kube import Container, KubeObject
from .values import as_text, blocks, plain

KARPENTER = "karpenter"
NODE_CLASS_KINDS = ("EC2NodeClass",)


class SettingName(msgspec.Struct, frozen=True):
    """Every spelling of one Karpenter setting, newest first."""

    values: tuple[str, ...]  # Helm value paths
    env: tuple[str, ...]  # environment variables of the controller
    flag: str  # command-line flag, without dashes


ISOLATED_VPC = SettingName(("settings.isolatedVPC", "settings.aws.isolatedVPC"),
                           ("ISOLATED_VPC", "AWS_ISOLATED_VPC"), "isolated-vpc")
INTERRUPTION_QUEUE = SettingName(
    ("settings.interruptionQueue", "settings.interruptionQueueName",
     "settings.aws.interruptionQueueName"),
    ("INTERRUPTION_QUEUE", "INTERRUPTION_QUEUE_NAME", "AWS_INTERRUPTION_QUEUE_NAME"),
    "interruption-queue")
CLUSTER_ENDPOINT = SettingName(("settings.clusterEndpoint", "settings.aws.clusterEndpoint"),
                               ("CLUSTER_ENDPOINT", "AWS_CLUSTER_ENDPOINT"), "cluster-endpoint")


class Setting(msgspec.Struct, frozen=True):
    """One setting as the input gives it: its value (None: not set) and where it is written."""

    value: Any  # str, bool, `Unknown`, or None where no spelling of it is set
    source: str = ""  # "value" (Helm), "env", "flag"; "" where not set
    name: str = ""  # the spelling found: "settings.isolatedVPC", "ISOLATED_VPC", ...

    @property
    def where(self) -> str:
        """`value settings.isolatedVPC`, `env ISOLATED_VPC`, `flag --isolated-vpc`; ""."""
        return f"{self.source} {self.name}" if self.source else ""

    @property
    def is_set(self) -> bool:
        """Set to something (an unknown value counts: it is written, its value is not known)."""
        return self.value is not None and self.value != ""


class KarpenterInstall(msgspec.Struct, frozen=True):
    """One Karpenter controller the input deploys: a Helm release or a container."""

    resource: Resource
    label: str  # "Helm chart karpenter", "Deployment kube-system/karpenter container 'x'"
    isolated_vpc: Setting
    interruption_queue: Setting
    cluster_endpoint: Setting
    release: HelmRelease | None = None
    unreadable: tuple[str, ...] = ()  # values that could not be read: a setting may hide there


def karpenter_installs(ctx: ScanContext) -> list[KarpenterInstall]:
    """Every Karpenter controller of the scan (memoised)."""
    return ctx.fact(_karpenter_installs)


def _karpenter_installs(ctx: ScanContext) -> list[KarpenterInstall]:
    found = workloads(ctx)
    installs: list[KarpenterInstall] = []
    for release in found.releases:
        if release_component(release) == KARPENTER:
            installs.append(_from_release(release))
    for obj in found.pods():
        assert obj.pod is not None
        for container in obj.pod.containers:
            if not container.init and component_of_container(container) == KARPENTER:
                installs.append(_from_container(obj, container))
    return installs


def _from_release(release: HelmRelease) -> KarpenterInstall:
    env = _release_env(release)

    def setting(name: SettingName) -> Setting:
        for path in name.values:
            value = release.value(path)
            if value is not None:
                return Setting(value, "value", path)
        return _env_setting(env, name.env)

    return KarpenterInstall(release.resource, release.label, setting(ISOLATED_VPC),
                            setting(INTERRUPTION_QUEUE), setting(CLUSTER_ENDPOINT),
                            release=release, unreadable=release.problems)


def _release_env(release: HelmRelease) -> Mapping[str, Any] | Unknown:
    """The chart's `controller.env` (a list of `{name, value}`) as name -> value."""
    raw = release.value("controller.env")
    if isinstance(raw, Unknown):
        return raw
    env: dict[str, Any] = {}
    for entry in blocks(raw):
        entry = plain(entry)
        if isinstance(entry, dict) and isinstance(plain(entry.get("name")), str):
            env[plain(entry["name"])] = plain(entry.get("value"))
    return env


def _from_container(obj: KubeObject, container: Container) -> KarpenterInstall:
    def setting(name: SettingName) -> Setting:
        value = flag_value(container.argv, name.flag)
        if value is not None:
            return Setting(value, "flag", f"--{name.flag}")
        return _env_setting(container.env, name.env)

    return KarpenterInstall(obj.resource, f"{obj.label} {container.describe()}",
                            setting(ISOLATED_VPC), setting(INTERRUPTION_QUEUE),
                            setting(CLUSTER_ENDPOINT))


def _env_setting(env: Mapping[str, Any] | Unknown, names: Iterable[str]) -> Setting:
    if isinstance(env, Unknown):
        return Setting(env, "value", "controller.env")
    for name in names:
        if name in env:
            value = env[name]
            # an env var from a secret or config map (valueFrom) is set, to a value not known
            return Setting(Unknown(f"env {name} comes from valueFrom") if value is None
                           else as_text(value), "env", name)
    return Setting(None)


class NodeClass(msgspec.Struct, frozen=True):
    """An `EC2NodeClass`: the instance profile or IAM role its nodes get."""

    obj: KubeObject
    role: Any  # the `role` field: a name, `Unknown`, or None where absent
    instance_profile: Any  # the `instanceProfile` field, likewise
    spec_unknown: Unknown | None = None


def node_classes(ctx: ScanContext) -> list[NodeClass]:
    """Every Karpenter `EC2NodeClass` the input applies."""
    classes: list[NodeClass] = []
    for obj in workloads(ctx).of_kind(*NODE_CLASS_KINDS):
        spec = plain(obj.raw.get("spec"))
        if isinstance(spec, Unknown):
            classes.append(NodeClass(obj, None, None, spec))
            continue
        spec = spec if isinstance(spec, dict) else {}
        classes.append(NodeClass(obj, plain(spec.get("role")),
                                 plain(spec.get("instanceProfile"))))
    return classes
